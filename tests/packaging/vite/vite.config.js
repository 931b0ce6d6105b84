import { defineConfig } from "vite";

// Relative asset URLs, so the build can be served from any folder.
export default defineConfig({ base: "./", build: { outDir: "dist", emptyOutDir: true } });

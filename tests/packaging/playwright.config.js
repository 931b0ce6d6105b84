import { defineConfig } from "@playwright/test";

// Debian's Chromium; Playwright never downloads a browser here.
export default defineConfig({
  testDir: ".",
  testMatch: "*.spec.js",
  outputDir: "../../target/playwright/packaging",
  reporter: [["list"]],
  timeout: 60_000,
  workers: 1,
  use: {
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"],
    },
  },
});

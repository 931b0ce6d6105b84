import { defineConfig } from "@playwright/test";

// The demo site (www/, with the packed tarball installed) in Debian's Chromium.
export default defineConfig({
  testDir: ".",
  testMatch: "*.spec.js",
  outputDir: "../../target/playwright/www",
  reporter: [["list"]],
  timeout: 90_000,
  expect: { timeout: 15_000 },
  workers: 1,
  use: {
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"],
    },
  },
});

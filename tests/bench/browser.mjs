// Runs the in-browser benchmarks in Debian's headless Chromium and prints one JSON object:
// scoreMany throughput, and the median time from `import` to first score over cold page loads.
import { chromium } from "@playwright/test";
import { fileURLToPath } from "node:url";
import { serve } from "../support/serve.mjs";

const server = await serve(fileURLToPath(new URL("..", import.meta.url)));
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const run = async (query) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${server.url}/bench/score-many.html?${query}`);
  await page.locator("#out[data-status=done]").waitFor({ timeout: 120_000 }).catch(() => {
    throw new Error(`benchmark page failed: ${errors.join("; ")}`);
  });
  const report = JSON.parse(await page.locator("#out").textContent());
  await context.close();
  return report;
};
try {
  const throughput = await run("mode=throughput&n=200000");
  const loads = [];
  for (let k = 0; k < 15; k++) loads.push((await run("mode=first")).importToFirstScore);
  loads.sort((a, b) => a - b);
  console.log(JSON.stringify({ throughput, importToFirstScoreMs: loads[7], loads }));
} finally {
  await browser.close();
  await server.close();
}

// The packed package in Chromium: a Vite production build and a plain static page, each served with
// a strict Content-Security-Policy, each scoring a PHQ-9 and throwing a typed error, with no request
// leaving the local server.
import { test, expect } from "@playwright/test";
import { fileURLToPath } from "node:url";
import { serve } from "../support/serve.mjs";

const root = fileURLToPath(new URL(".", import.meta.url));
let server;
test.beforeAll(async () => { server = await serve(root); });
test.afterAll(async () => { await server.close(); });

const EXPECTED = {
  result: {
    instrument: "phq9",
    complete: true,
    scores: { total: { value: 12, band: "moderate", cutoffs: ["positive"] } },
    flags: ["item9_positive"],
  },
  error: { code: "invalid_value", item: "1" },
  instruments: 22,
};

for (const [name, page] of [["Vite build", "vite/dist/index.html"], ["static page", "static/index.html"]]) {
  test(`${name}: scores a PHQ-9 in the browser`, async ({ page: tab }) => {
    const requests = [];
    const problems = [];
    tab.on("request", (r) => requests.push(r.url()));
    tab.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(m.text()); });
    tab.on("pageerror", (e) => problems.push(String(e)));
    await tab.goto(`${server.url}/${page}`);
    const out = tab.locator("#result");
    await expect(out).toHaveAttribute("data-status", "ok");
    const got = JSON.parse(await out.textContent());
    expect(got.result).toEqual(EXPECTED.result);
    expect(got.error).toEqual(EXPECTED.error);
    expect(got.instruments).toBe(EXPECTED.instruments);
    expect(got.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(problems).toEqual([]);
    // Nothing but the page's own files: no answers sent anywhere, no CDN.
    expect(requests.filter((u) => !u.startsWith(server.url))).toEqual([]);
    expect(requests.some((u) => u.endsWith(".wasm"))).toBe(true);
  });
}

// Time to first questionnaire paint, Attune against SurveyJS on the same harness: navigation start
// until item 1's first radio is visible, with the cache disabled and the CPU throttled 4x through
// the DevTools protocol, runs interleaved, median of RUNS each. Prints one JSON object.
import { chromium } from "@playwright/test";
import { fileURLToPath } from "node:url";
import { serve } from "../support/serve.mjs";

const RUNS = Number(process.env.PAINT_RUNS ?? 15);
// No CSP here: SurveyJS sets inline styles, and the comparison must not penalise it.
const server = await serve(fileURLToPath(new URL("..", import.meta.url)), { csp: null });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});

// Runs in the page before any of its scripts: each animation frame (just before a paint), looks for
// the first radio in the document or any open shadow root whose label has a size, and records the
// time since navigation start the first time one does.
const probe = () => {
  const find = (root) => {
    const r = root.querySelector("input[type=radio]");
    if (r) return r;
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) {
        const s = find(el.shadowRoot);
        if (s) return s;
      }
    }
    return null;
  };
  const tick = () => {
    const radio = document.documentElement && find(document);
    const box = radio && (radio.closest("label") ?? radio).getBoundingClientRect();
    if (box && box.width > 0 && box.height > 0) {
      window.__firstRadio = performance.now();
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
};

async function once(page) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const tab = await context.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(String(e)));
  const cdp = await context.newCDPSession(tab);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  await tab.addInitScript(probe);
  await tab.goto(`${server.url}/bench/paint/${page}`);
  await tab.waitForFunction(() => window.__firstRadio !== undefined, null, { timeout: 60_000 }).catch(() => {
    throw new Error(`${page}: no radio painted (${errors.join("; ")})`);
  });
  const ms = await tab.evaluate(() => window.__firstRadio);
  await context.close();
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  const attune = [];
  const survey = [];
  await once("attune.html"); // warm the server's file cache; not counted
  await once("survey.html");
  for (let k = 0; k < RUNS; k++) {
    attune.push(await once("attune.html"));
    survey.push(await once("survey.html"));
  }
  const a = median(attune);
  const s = median(survey);
  console.log(JSON.stringify({ runs: RUNS, attuneMs: a, surveyMs: s, ratio: a / s, attune, survey }));
} finally {
  await browser.close();
  await server.close();
}

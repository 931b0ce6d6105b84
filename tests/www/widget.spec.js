// <attune-questionnaire> on the demo site (www/ with the packed tarball installed), served with the
// strict policy the issue names. Keyboard-only completion checked against the core, the critical
// event and panel, language switch, host text packs, errors, axe in every state, no request beyond
// the element's own files, and screenshots at 320 and 1280 px.
import { test, expect } from "@playwright/test";
import { axe } from "../support/axe.mjs";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { serve, WIDGET_CSP } from "../support/serve.mjs";

const www = fileURLToPath(new URL("../../www/", import.meta.url));
// The catalog's copy of the clinical reference (attune-core's reference tests hold it to shared/instruments).
const catalogDir = process.env.ATTUNE_CATALOG_DIR ?? fileURLToPath(new URL("../../crates/attune-core/instruments/", import.meta.url));
let server;
test.beforeAll(async () => { server = await serve(www, { csp: WIDGET_CSP }); });
test.afterAll(async () => { await server.close(); });

const ELEMENT = "attune-questionnaire";

/** Opens the demo with the given query; collects console problems, events and requests. */
async function open(page, query) {
  const seen = { problems: [], requests: [] };
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") seen.problems.push(m.text()); });
  page.on("pageerror", (e) => seen.problems.push(String(e)));
  page.on("request", (r) => seen.requests.push(r.url()));
  // Listen on the document before any script runs: the element may report at its first render,
  // before a test could reach it; the events bubble out of the shadow root (composed).
  await page.addInitScript(() => {
    window.__events = [];
    for (const t of ["attune-change", "attune-critical", "attune-complete", "attune-error"]) {
      document.addEventListener(t, (e) => window.__events.push({ type: t, detail: e.detail }));
    }
  });
  await page.goto(`${server.url}/?${query}`);
  return seen;
}

const events = (page, type) => page.evaluate((t) => window.__events.filter((e) => e.type === t).map((e) => e.detail), type);
const coreScore = (page, request) =>
  page.evaluate(async (r) => (await import("/node_modules/attune/index.js")).score(r), request);

/** Presses Tab until the focused element inside the widget matches `selector` (at most 40 presses). */
async function tabTo(page, selector) {
  for (let i = 0; i < 40; i++) {
    const ok = await page.evaluate(([tag, sel]) => {
      const a = document.querySelector(tag).shadowRoot.activeElement;
      return !!a && a.matches(sel);
    }, [ELEMENT, selector]);
    if (ok) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${selector}`);
}

/** Focused element in the widget, described. */
const focused = (page) => page.evaluate((tag) => {
  const a = document.querySelector(tag).shadowRoot.activeElement;
  return a ? { tag: a.tagName.toLowerCase(), type: a.type ?? null, value: a.value ?? null, text: a.textContent } : null;
}, ELEMENT);

/** Chooses `value` in the focused radio group by keyboard: Space on the first option or arrows. */
async function choose(page, options, value) {
  const f = await focused(page);
  expect(f?.type).toBe("radio");
  const from = options.indexOf(Number(f.value));
  const to = options.indexOf(value);
  if (from === to) await page.keyboard.press("Space");
  for (let i = from; i < to; i++) await page.keyboard.press("ArrowDown");
  for (let i = from; i > to; i--) await page.keyboard.press("ArrowUp");
}

const shadow = (page) => page.locator(ELEMENT);

test("PHQ-9 by keyboard alone, paged: result equals the core, critical event and panel, axe in every state", async ({ page }, info) => {
  const seen = await open(page, "instrument=phq9&layout=paged");
  const w = shadow(page);
  await expect(w.locator("input[type=radio]").first()).toBeVisible();
  await axe(page, "start");
  const answers = { 1: 1, 2: 2, 3: 0, 4: 3, 5: 1, 6: 2, 7: 0, 8: 1, 9: 1, 10: 2 };
  await page.keyboard.press("Tab");
  await tabTo(page, "input[type=radio]");
  for (let item = 1; item <= 10; item++) {
    await expect(w.locator(".progress-text")).toHaveText(`Question ${item} of 10`);
    await choose(page, [0, 1, 2, 3], answers[item]);
    if (item === 5) await axe(page, "mid-way");
    if (item === 9) {
      // The crisis panel appears the moment item 9 is answered 1 or more, without blocking.
      await expect(w.locator(".crisis")).toBeVisible();
      await axe(page, "crisis panel");
      await info.attach("crisis-1280", { body: await page.screenshot({ fullPage: true }), contentType: "image/png" });
    }
    await page.keyboard.press("Enter");
  }
  // Review: focus on its heading; Tab to Finish.
  await expect(w.locator("#review-title")).toBeFocused();
  await expect(w.locator(".review")).toContainText("Every question has an answer.");
  await axe(page, "review");
  await tabTo(page, "button.primary");
  await page.keyboard.press("Enter");
  await expect(w.locator("#done-title")).toBeFocused();
  await axe(page, "results");

  const expected = await coreScore(page, { instrument: "phq9", answers });
  const [complete] = await events(page, "attune-complete");
  expect(complete.result).toEqual(expected);
  expect(complete.answers).toEqual(Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, v])));
  expect(complete.instrument).toBe("phq9");
  expect(complete.version).toMatch(/^\d+\.\d+\.\d+/);
  expect(Date.parse(complete.finished)).toBeGreaterThanOrEqual(Date.parse(complete.started));
  expect(expected.flags).toContain("item9_positive");
  const critical = await events(page, "attune-critical");
  expect(critical.length).toBe(1);
  expect(critical[0].flags).toEqual(["item9_positive"]);
  const changes = await events(page, "attune-change");
  expect(changes.at(-1).progress).toEqual({ answered: 10, total: 10 });
  // The results card shows the score, its band in words, the citation and the attribution.
  await expect(w.locator(".results")).toContainText(String(expected.scores.total.value));
  await expect(w.locator(".results .band")).toHaveText(/moderately severe|moderate|severe|mild|minimal/i);
  await expect(w.locator(".credits")).toContainText("Kroenke");
  await expect(w.locator(".crisis")).toBeVisible();
  expect(await page.evaluate((t) => document.querySelector(t).response.result, ELEMENT)).toEqual(expected);

  expect(seen.problems).toEqual([]);
  // Privacy: nothing but the page's own files; the widget loads only files of the package (the
  // demo's picker reads `catalog()`, and this test `score()`, from the scoring entry `attune`; the
  // poll and validate modules are never loaded; of the catalog's wording, only PHQ-9's).
  const foreign = seen.requests.filter((u) => !u.startsWith(server.url));
  expect(foreign).toEqual([]);
  const own = seen.requests.map((u) => new URL(u).pathname);
  const allowed = /^\/($|\?|index\.html|demo\.(js|css)|favicon\.svg|node_modules\/attune\/(elements\.js|index\.js|errors\.js|pkg-elements\/.+|pkg\/.+|text\/non-commercial\.js|wording\/(index|phq9)\.js))$/;
  expect(own.filter((p) => !allowed.test(p))).toEqual([]);
});

test("SOCRATES (alcohol), list layout, keyboard alone: Tab between groups, arrows within, result equals the core", async ({ page }) => {
  const seen = await open(page, "instrument=socrates8a&layout=list");
  const w = shadow(page);
  await expect(w.locator("input[type=radio]").first()).toBeVisible();
  const n = await w.locator("fieldset.item").count();
  expect(n).toBe(19);
  const answers = {};
  await page.keyboard.press("Tab");
  await tabTo(page, "input[type=radio]");
  for (let item = 1; item <= n; item++) {
    const v = ((item * 7) % 5) + 1;
    answers[item] = v;
    await choose(page, [1, 2, 3, 4, 5], v);
    await page.keyboard.press("Tab");
  }
  // After the last group, Tab lands on "Review answers"; Enter submits.
  expect((await focused(page)).tag).toBe("button");
  await page.keyboard.press("Enter");
  await expect(w.locator("#review-title")).toBeFocused();
  await tabTo(page, "button.primary");
  await page.keyboard.press("Enter");
  const [complete] = await events(page, "attune-complete");
  expect(complete.result).toEqual(await coreScore(page, { instrument: "socrates8a", answers }));
  expect(complete.result.complete).toBe(true);
  expect(seen.problems).toEqual([]);
});

test("switching lang mid-way keeps the answers; English fallback is marked lang=en", async ({ page }) => {
  await open(page, "instrument=phq9&layout=paged");
  const w = shadow(page);
  await w.locator("input[type=radio]").first().waitFor();
  await page.evaluate((t) => { document.querySelector(t).answers = { 1: 2, 2: 1, 3: 3 }; }, ELEMENT);
  await w.locator("legend").first().waitFor();
  const english = await w.locator("legend").first().textContent();
  await page.selectOption("#lang", "es");
  await expect(w.locator(".progress-text")).toHaveText(/Pregunta 1 de 10/);
  const spanish = await w.locator("legend").first().textContent();
  expect(spanish).not.toBe(english);
  expect(await page.evaluate((t) => document.querySelector(t).answers, ELEMENT)).toEqual({ 1: 2, 2: 1, 3: 3 });
  await expect(w.locator("input[type=radio]:checked")).toHaveValue("2");
  await axe(page, "spanish");
  // GAD-7 has no verified Spanish wording here: English items, marked as English.
  await page.selectOption("#instrument", "gad7");
  await expect(w.locator("legend [lang=en]").first()).toBeVisible();
  await expect(w.locator(".note")).toContainText("inglés");
  await page.selectOption("#lang", "en");
  await expect(w.locator("legend [lang=en]")).toHaveCount(0);
});

test("a host text pack for URICA; a pack that does not cover every item is an error naming what is missing", async ({ page }) => {
  const seen = await open(page, "instrument=urica&layout=list");
  const w = shadow(page);
  // Without a pack: a visible error, never a blank box, and attune-error.
  await expect(w.locator("[role=alert]")).toContainText("item texts 1–32");
  await axe(page, "error");
  expect((await events(page, "attune-error"))[0].code).toBe("text_required");
  // Placeholder wording for the test: the URICA's own statements are not bundled (licence).
  const pack = (items) => ({
    instrument: "urica",
    terms: "Test wording, supplied by the host.",
    languages: { en: { instructions: "Test stem", items: Object.fromEntries(items.map((i) => [i, `Test statement ${i}`])) } },
  });
  const all = Array.from({ length: 32 }, (_, i) => String(i + 1));
  await page.evaluate(([t, p]) => { document.querySelector(t).textPack = p; }, [ELEMENT, pack(all.slice(0, 30))]);
  await expect(w.locator("[role=alert]")).toContainText("item texts 31–32");
  expect((await events(page, "attune-error")).at(-1).code).toBe("invalid_text_pack");
  await page.evaluate(([t, p]) => { document.querySelector(t).textPack = p; }, [ELEMENT, pack(all)]);
  await expect(w.locator("fieldset.item")).toHaveCount(32);
  await expect(w.locator("legend").nth(4)).toContainText("Test statement 5");
  await expect(w.locator(".credits")).toContainText("Test wording, supplied by the host.");
  const answers = Object.fromEntries(all.map((i) => [i, (Number(i) % 5) + 1]));
  await page.evaluate(([t, a]) => { document.querySelector(t).answers = a; }, [ELEMENT, answers]);
  await w.getByRole("button", { name: "Review answers" }).click();
  await w.getByRole("button", { name: "Finish" }).click();
  const [complete] = await events(page, "attune-complete");
  expect(complete.result).toEqual(await coreScore(page, { instrument: "urica", answers }));
  // A malformed pack is named by path.
  await page.evaluate((t) => { document.querySelector(t).textPack = { languages: { en: { itemz: {} } } }; }, ELEMENT);
  await expect(w.locator("[role=alert]")).toContainText("languages.en");
  expect(seen.problems).toEqual([]);
});

test("with the fhir attribute attune-complete carries the FHIR Bundle; attune/fhir loads only then, and a failed load still completes", async ({ page, context }) => {
  const seen = await open(page, "instrument=gad7&layout=list&fhir=Patient/p-7");
  const w = shadow(page);
  await w.locator("input[type=radio]").first().waitFor();
  const answers = { 1: 2, 2: 1, 3: 3, 4: 0, 5: 1, 6: 2, 7: 1 };
  await page.evaluate(([t, a]) => { document.querySelector(t).answers = a; }, [ELEMENT, answers]);
  await w.getByRole("button", { name: "Review answers" }).click();
  await w.getByRole("button", { name: "Finish" }).click();
  await expect.poll(() => events(page, "attune-complete").then((e) => e.length)).toBe(1);
  const [complete] = await events(page, "attune-complete");
  expect(complete.result).toEqual(await coreScore(page, { instrument: "gad7", answers }));
  const bundle = complete.fhir;
  expect(bundle.resourceType).toBe("Bundle");
  const [qr, total] = bundle.entry.map((e) => e.resource);
  expect(qr.subject.reference).toBe("Patient/p-7");
  expect(qr.authored).toBe(complete.finished);
  expect(Object.fromEntries(qr.item.map((i) => [i.linkId, Number(i.answer[0].valueCoding.code)]))).toEqual(
    Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, v])),
  );
  expect(total.code.coding[0]).toEqual({ system: "http://loinc.org", code: "70274-6" });
  expect(total.valueQuantity.value).toBe(complete.result.scores.total.value);
  expect(seen.problems).toEqual([]);
  const paths = seen.requests.map((u) => new URL(u).pathname);
  expect(paths).toContain("/node_modules/attune/fhir.js");

  // attune/fhir cannot be fetched: the answers still arrive, with fhir null and an attune-error.
  const other = await context.newPage();
  await other.route("**/node_modules/attune/fhir.js", (route) => route.abort());
  await open(other, "instrument=gad2&layout=list&fhir");
  await shadow(other).locator("input[type=radio]").first().waitFor();
  await other.evaluate((t) => { document.querySelector(t).answers = { 1: 1, 2: 1 }; }, ELEMENT);
  await shadow(other).getByRole("button", { name: "Review answers" }).click();
  await shadow(other).getByRole("button", { name: "Finish" }).click();
  await expect.poll(() => events(other, "attune-complete").then((e) => e.length)).toBe(1);
  const [failed] = await events(other, "attune-complete");
  expect(failed.fhir).toBeNull();
  expect(failed.result.scores.total.value).toBe(2);
  const errors = await events(other, "attune-error");
  expect(errors.map((e) => [e.code, e.instrument])).toEqual([["fhir_unavailable", "gad2"]]);
});

test("the opt-in non-commercial pack carries the verified host wording and its terms are shown", async ({ page }) => {
  await open(page, "instrument=audit&layout=paged&pack=non-commercial");
  const w = shadow(page);
  const host = (id) => JSON.parse(readFileSync(join(catalogDir, "host-text", `${id}.json`), "utf8"));
  const audit = host("audit");
  await expect(w.locator("legend").first()).toContainText(audit.items["1"]);
  await expect(w.locator(".instructions")).toHaveText(audit.instructions);
  await expect(w.locator(".credits")).toContainText("World Health Organization");
  // AUDIT's skip rule: "Never" to item 1 goes straight to item 9.
  await w.locator("input[type=radio]").first().focus();
  await page.keyboard.press("Space");
  await page.keyboard.press("Enter");
  await expect(w.locator("legend").first()).toContainText(audit.items["9"]);
  const pack = await page.evaluate(async () => (await import("/node_modules/attune/text/non-commercial.js")).default);
  for (const id of ["audit", "auditc", "dast10"]) {
    const r = JSON.parse(readFileSync(join(catalogDir, `${id}.json`), "utf8"));
    expect(pack[id].languages.en.items).toEqual(host(id).items);
    expect(pack[id].terms).toBe(r.license.statement);
  }
});

test("unknown instrument: visible error and attune-error; bad properties throw typed errors and change nothing", async ({ page }) => {
  await open(page, "instrument=phq9");
  const w = shadow(page);
  await w.locator("input[type=radio]").first().waitFor();
  await page.evaluate((t) => { document.querySelector(t).answers = { 1: 3 }; }, ELEMENT);
  const thrown = await page.evaluate((t) => {
    const el = document.querySelector(t);
    const out = [];
    for (const [prop, v] of [["answers", { 1: 7 }], ["answers", { 99: 1 }], ["answers", [1]], ["crisis", { href: "javascript:alert(1)" }], ["context", { sex: "x" }]]) {
      // PHQ-9 reads no context, so other keys are ignored (as the core does): the last one is accepted.
      try { el[prop] = v; out.push("no error"); } catch (e) { out.push(`${e.name}:${e.code}`); }
    }
    return out;
  }, ELEMENT);
  expect(thrown).toEqual(["AttuneError:invalid_value", "AttuneError:unknown_item", "AttuneError:invalid_json", "AttuneError:invalid_json", "no error"]);
  expect(await page.evaluate((t) => document.querySelector(t).answers, ELEMENT)).toEqual({ 1: 3 });
  await page.evaluate((t) => document.querySelector(t).setAttribute("instrument", "nope"), ELEMENT);
  await expect(w.locator("[role=alert]")).toContainText("no instrument `nope`");
  expect((await events(page, "attune-error")).at(-1)).toMatchObject({ code: "unknown_instrument", instrument: "nope" });
  await axe(page, "error");
});

test("results=hide thanks the client but still shows the crisis panel; reset starts over; removal destroys", async ({ page }) => {
  await open(page, "instrument=phq9&layout=list&results=hide");
  const w = shadow(page);
  await w.locator("input[type=radio]").first().waitFor();
  await page.evaluate((t) => {
    const el = document.querySelector(t);
    el.crisis = { title: "Help is here", contact: "Call or text 988", href: "tel:988" };
    el.answers = { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 2 };
  }, ELEMENT);
  await expect(w.locator(".crisis")).toContainText("Help is here");
  await expect(w.locator(".crisis a[href='tel:988']")).toHaveText("Call or text 988");
  await w.getByRole("button", { name: "Review answers" }).click();
  await expect(w.locator(".review")).toContainText("Go to question 10");
  await w.getByRole("button", { name: "Finish" }).click();
  await expect(w.locator("#done-title")).toHaveText("Thank you");
  await expect(w.locator(".scores")).toHaveCount(0);
  await expect(w.locator(".crisis")).toBeVisible();
  await axe(page, "results hidden");
  await page.evaluate((t) => document.querySelector(t).reset(), ELEMENT);
  await expect(w.locator("input[type=radio]:checked")).toHaveCount(0);
  expect(await page.evaluate((t) => document.querySelector(t).answers, ELEMENT)).toEqual({});
  // Moving the element keeps it; removing it destroys the app; adding it again starts afresh.
  const states = await page.evaluate(async (t) => {
    const el = document.querySelector(t);
    el.answers = { 1: 1 };
    const parent = el.parentNode;
    parent.append(el);
    await new Promise((r) => setTimeout(r, 50));
    const moved = JSON.stringify(el.answers);
    el.remove();
    await new Promise((r) => setTimeout(r, 50));
    const removed = el.response;
    parent.append(el);
    await new Promise((r) => setTimeout(r, 100));
    return { moved, removed, back: el.shadowRoot.querySelectorAll("input[type=radio]").length > 0 };
  }, ELEMENT);
  expect(states).toEqual({ moved: '{"1":1}', removed: null, back: true });
  // Importing again, even as a second copy of the module, does not throw or redefine.
  const again = await page.evaluate(async () => (await import("/node_modules/attune/elements.js?copy=2")).defined);
  expect(again).toEqual([]);
});

for (const width of [320, 1280]) {
  test(`layout at ${width} px: no horizontal scroll, targets at least 24 px, screenshot`, async ({ page }, info) => {
    await page.setViewportSize({ width, height: 900 });
    await open(page, "instrument=phq9");
    const w = shadow(page);
    await w.locator("input[type=radio]").first().waitFor();
    // Narrow screens default to one item per screen; wide ones list every item.
    await expect(w.locator("fieldset.item")).toHaveCount(width < 640 ? 1 : 10);
    await page.evaluate((t) => { document.querySelector(t).answers = { 1: 1, 2: 2 }; }, ELEMENT);
    const scroll = await page.evaluate(() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth);
    expect(scroll).toBe(0);
    const small = await page.evaluate((t) => [...document.querySelector(t).shadowRoot.querySelectorAll("input, button")]
      .map((e) => e.getBoundingClientRect()).filter((r) => r.width < 24 || r.height < 24).length, ELEMENT);
    expect(small).toBe(0);
    await page.screenshot({ path: info.outputPath(`phq9-${width}.png`), fullPage: true });
    await axe(page, `${width} px`);
  });
}

test("200% zoom (a 1280 px window at 2x is 640 CSS px): no horizontal scroll", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 640, height: 450 }, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await open(page, "instrument=urica&layout=list");
  await shadow(page).locator("[role=alert]").waitFor();
  await page.goto(`${server.url}/?instrument=phq9&layout=list`);
  await shadow(page).locator("input[type=radio]").first().waitFor();
  expect(await page.evaluate(() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth)).toBe(0);
  await context.close();
});

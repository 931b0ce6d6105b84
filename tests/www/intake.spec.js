// <attune-questionnaire> in a clinic's own form (www/intake/), with the example receiver
// (examples/receiver.mjs) running as a real process on 127.0.0.1: form value, required and focus,
// reset, disabled, back-navigation restore, saved progress, delivery offline, after a 500, across
// two tabs and across a reload mid-request, the origins it talks to, print, and axe on each state.
import { test, expect } from "@playwright/test";
import { axe } from "../support/axe.mjs";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { serve, WIDGET_CSP } from "../support/serve.mjs";

const www = fileURLToPath(new URL("../../www/", import.meta.url));
const receiverScript = fileURLToPath(new URL("../../examples/receiver.mjs", import.meta.url));
const TOKEN = "test-token";
const EVENTS = ["attune-change", "attune-complete", "attune-error", "attune-queued", "attune-delivered", "attune-delivery-error"];

let server;
let receiver;
let dataDir;

/** Starts the example receiver on a free port; resolves with its endpoint URL. */
function startReceiver() {
  dataDir = mkdtempSync(join(tmpdir(), "attune-receiver-"));
  const child = spawn(process.execPath, [receiverScript], {
    env: { ...process.env, PORT: "0", TOKEN, DATA: join(dataDir, "submissions.jsonl") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the receiver did not start within 10 s")), 10_000);
    child.stdout.on("data", (d) => {
      const m = /receiver: (http:\/\/\S+)/.exec(String(d));
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], origin: new URL(m[1]).origin, child });
      }
    });
    child.on("exit", (code) => reject(new Error(`the receiver exited (${code})`)));
  });
}

test.beforeAll(async () => {
  receiver = await startReceiver();
  server = await serve(www, { csp: `${WIDGET_CSP}; connect-src 'self' ${receiver.origin}` });
});
test.afterAll(async () => {
  await server?.close();
  receiver?.child.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** What the receiver stored (its GET listing). */
async function received() {
  const res = await fetch(receiver.url, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.json();
}
const storedWith = async (keys) => (await received()).filter((s) => keys.includes(s.key));

/** Opens the clinic form with query parameters; records events, requests and console problems. */
async function open(page, query = {}) {
  const seen = { problems: [], requests: [] };
  page.on("console", (m) => { if (m.type() === "error") seen.problems.push(m.text()); });
  page.on("pageerror", (e) => seen.problems.push(String(e)));
  page.on("request", (r) => seen.requests.push({ url: r.url(), method: r.method() }));
  await page.addInitScript((types) => {
    window.__events = [];
    for (const t of types) document.addEventListener(t, (e) => window.__events.push({ type: t, detail: e.detail }));
  }, EVENTS);
  const q = new URLSearchParams({ action: "", ...query });
  await page.goto(`${server.url}/intake/?${q}`);
  await expect(page.locator("attune-questionnaire fieldset.item").first()).toBeVisible();
  // With `save` (the page's default) or `action`, the element loads extras.js: wait for it.
  if (query.action || query.save !== "none") await expect(page.locator("attune-questionnaire .status")).toBeAttached();
  return seen;
}
const events = (page, type) => page.evaluate((t) => window.__events.filter((e) => e.type === t).map((e) => e.detail), type);
const coreScore = (page, request) => page.evaluate(async (r) => (await import("/node_modules/attune/index.js")).score(r), request);

/** Clicks the option with `value` of item `id` (list layout shows every item). */
async function answer(page, answers) {
  for (const [id, value] of Object.entries(answers)) {
    await page.locator("attune-questionnaire fieldset.item").filter({ hasText: new RegExp(`^${id}\\.`) })
      .locator(`input[value="${value}"]`).check();
  }
}
/** Walks from the items to the end: review, then finish. */
async function finish(page) {
  await page.locator("attune-questionnaire form.screen button[type=submit]").click();
  await page.locator("attune-questionnaire .review button.primary").click();
  await expect(page.locator("attune-questionnaire .results")).toBeVisible();
}
const focusedItem = (page) => page.evaluate(() => {
  const a = document.querySelector("attune-questionnaire").shadowRoot.activeElement;
  return a?.closest("fieldset.item")?.querySelector(".num")?.textContent ?? a?.tagName ?? null;
});
const NINE = { 1: 1, 2: 2, 3: 0, 4: 1, 5: 3, 6: 0, 7: 1, 8: 2, 9: 0 };

test("the form submits the response under its name; required blocks an incomplete form and focuses the first unanswered item", async ({ page }) => {
  const seen = await open(page, { layout: "list", post: "" });
  const posted = [];
  await page.route("**/intake/submitted", (route) => {
    posted.push(route.request().postData());
    return route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>sent</title><p>sent</p>" });
  });
  await page.fill("#initials", "AB");
  await answer(page, { 1: 1, 2: 2 });
  await page.locator("#intake > .row button[type=submit]").click();
  // Invalid: nothing posted, focus on item 3 (the first scored item without an answer).
  await expect.poll(() => focusedItem(page)).toBe("3.");
  expect(posted).toEqual([]);
  const validity = await page.evaluate(() => {
    const el = document.querySelector("attune-questionnaire");
    return { valid: el.checkValidity(), missing: el.validity.valueMissing, message: el.validationMessage, form: el.form?.id };
  });
  expect(validity).toEqual({ valid: false, missing: true, message: expect.stringContaining("question 3"), form: "intake" });
  await axe(page, "required, incomplete");

  await answer(page, { 3: 0, 4: 1, 5: 3, 6: 0, 7: 1, 8: 2, 9: 0 });
  expect(await page.evaluate(() => document.querySelector("attune-questionnaire").checkValidity())).toBe(true);
  await page.locator("#intake > .row button[type=submit]").click();
  await expect.poll(() => posted.length).toBe(1);
  const body = new URLSearchParams(posted[0]);
  expect(body.get("initials")).toBe("AB");
  const value = JSON.parse(body.get("phq9"));
  const result = await coreScore(page, { instrument: "phq9", answers: NINE });
  expect(value).toEqual({ instrument: "phq9", version: expect.any(String), answers: NINE, complete: true, result });
  expect(seen.problems).toEqual([]);
});

test("with fhir, the form value is the FHIR R4 Bundle of the response", async ({ page }) => {
  await open(page, { layout: "list", save: "none", fhir: "" });
  await answer(page, NINE);
  const bundle = await expect.poll(async () => {
    const v = await page.evaluate(() => new FormData(document.getElementById("intake")).get("phq9"));
    return v && JSON.parse(v).resourceType;
  }).toBe("Bundle").then(() => page.evaluate(() => JSON.parse(new FormData(document.getElementById("intake")).get("phq9"))));
  expect(bundle.type).toBe("transaction");
  const qr = bundle.entry.map((e) => e.resource).find((r) => r.resourceType === "QuestionnaireResponse");
  expect(qr.status).toBe("completed");
  expect(qr.item.filter((i) => i.answer).length).toBe(9);
});

test("required in the paged layout shows the page of the first unanswered item", async ({ page }) => {
  await open(page, { layout: "paged" });
  await page.fill("#initials", "CD");
  await page.locator("attune-questionnaire input[value='2']").check();
  await page.locator("attune-questionnaire button[type=submit]").click(); // Next: item 2
  await page.locator("attune-questionnaire input[value='1']").check();
  await page.locator("attune-questionnaire button[type=submit]").click(); // item 3
  await page.locator("attune-questionnaire button[type=submit]").click(); // item 4, 3 left empty
  await page.locator("#intake > .row button[type=submit]").click();
  await expect.poll(() => focusedItem(page)).toBe("3.");
  await expect(page.locator("attune-questionnaire .progress-text")).toHaveText(/3/);
});

test("form.reset() clears it, <fieldset disabled> and disabled take it out of the form", async ({ page }) => {
  await open(page, { layout: "list" });
  await answer(page, { 1: 2, 2: 3 });
  expect(await page.evaluate(() => document.querySelector("attune-questionnaire").answers)).toEqual({ 1: 2, 2: 3 });
  await page.locator("#intake > .row button[type=reset]").click();
  const after = await page.evaluate(() => {
    const el = document.querySelector("attune-questionnaire");
    return { answers: el.answers, value: JSON.parse(new FormData(el.form).get("phq9")).answers, checked: el.shadowRoot.querySelectorAll("input:checked").length };
  });
  expect(after).toEqual({ answers: {}, value: {}, checked: 0 });

  await answer(page, { 1: 1 });
  // Inside a disabled fieldset: every control disabled, not submitted, not validated.
  const disabled = await page.evaluate(() => {
    const el = document.querySelector("attune-questionnaire");
    const fs = document.createElement("fieldset");
    el.before(fs);
    fs.append(el);
    fs.disabled = true;
    const radios = [...el.shadowRoot.querySelectorAll("input[type=radio]")];
    return {
      allDisabled: radios.length > 0 && radios.every((r) => r.matches(":disabled")),
      inForm: new FormData(el.form).has("phq9"),
      willValidate: el.willValidate,
    };
  });
  expect(disabled).toEqual({ allDisabled: true, inForm: false, willValidate: false });
  await axe(page, "disabled");
  const attribute = await page.evaluate(() => {
    const el = document.querySelector("attune-questionnaire");
    el.closest("fieldset").disabled = false;
    const enabled = el.shadowRoot.querySelector("input[type=radio]").matches(":enabled");
    el.setAttribute("disabled", "");
    const off = el.shadowRoot.querySelector("input[type=radio]").matches(":disabled") && !new FormData(el.form).has("phq9");
    el.removeAttribute("disabled");
    return { enabled, off, back: new FormData(el.form).has("phq9") };
  });
  expect(attribute).toEqual({ enabled: true, off: true, back: true });
});

test("back navigation brings the answers back", async ({ page }) => {
  await open(page, { layout: "list", save: "none" });
  await answer(page, { 1: 3, 2: 1, 5: 2 });
  await page.locator("a", { hasText: "Intake questionnaire" }).click();
  await expect(page.locator("h1")).toHaveText("Intake questionnaire");
  await page.goBack();
  await expect.poll(() => page.evaluate(() => document.querySelector("attune-questionnaire")?.answers ?? null)).toEqual({ 1: 3, 2: 1, 5: 2 });
  // Nothing was saved anywhere: the browser restored the form's own state.
  expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
});

test("saved progress survives a reload, offers to continue or start over, and is cleared on completion", async ({ page }) => {
  await open(page, { layout: "list", save: "session" });
  await answer(page, { 1: 1, 2: 2, 3: 0 });
  await page.reload();
  const resume = page.locator("attune-questionnaire .resume");
  await expect(resume).toBeVisible();
  await expect(resume).toContainText("3");
  await expect(page.locator("attune-questionnaire fieldset.wrap")).toBeHidden();
  await axe(page, "resume prompt");
  await resume.getByRole("button", { name: "Continue where you left off" }).click();
  await expect(resume).toHaveCount(0);
  expect(await page.evaluate(() => document.querySelector("attune-questionnaire").answers)).toEqual({ 1: 1, 2: 2, 3: 0 });
  await expect.poll(() => focusedItem(page)).toBe("4.");

  await answer(page, { 4: 1, 5: 3, 6: 0, 7: 1, 8: 2, 9: 0 });
  expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
  await finish(page);
  await expect.poll(() => page.evaluate(() => sessionStorage.length)).toBe(0);
  await page.reload();
  await expect(page.locator("attune-questionnaire fieldset.item").first()).toBeVisible();
  await expect(page.locator("attune-questionnaire .resume")).toHaveCount(0);

  // Start over forgets them; reset() does too.
  await answer(page, { 1: 2 });
  await page.reload();
  await page.locator("attune-questionnaire .resume").getByRole("button", { name: "Start over" }).click();
  expect(await page.evaluate(() => [document.querySelector("attune-questionnaire").answers, sessionStorage.length])).toEqual([{}, 0]);
  await answer(page, { 1: 2 });
  await page.evaluate(() => document.querySelector("attune-questionnaire").reset());
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
});

test("save=local keeps progress in localStorage, for a device the patient owns", async ({ page }) => {
  await open(page, { layout: "list", save: "local" });
  await answer(page, { 1: 2 });
  const kept = await page.evaluate(() => [sessionStorage.length, Object.keys(localStorage), JSON.parse(Object.values(localStorage)[0]).answers]);
  expect(kept).toEqual([0, ["attune-progress:/intake/:phq9:phq9"], { 1: 2 }]);
  await page.reload();
  await expect(page.locator("attune-questionnaire .resume")).toBeVisible();
});

test("without save nothing is stored; a resume token carries progress for hosts that keep it", async ({ page, context }) => {
  await open(page, { layout: "list", save: "none" });
  await answer(page, { 1: 1, 2: 3 });
  const token = await page.evaluate(() => document.querySelector("attune-questionnaire").resumeToken);
  expect(await page.evaluate(() => sessionStorage.length + localStorage.length)).toBe(0);
  expect(await page.evaluate(() => indexedDB.databases())).toEqual([]);
  const other = await context.newPage();
  await open(other, { layout: "list", save: "none" });
  const resumed = await other.evaluate((t) => {
    const el = document.querySelector("attune-questionnaire");
    el.resumeToken = t;
    let wrong;
    try { el.resumeToken = "bm90IGEgdG9rZW4"; } catch (e) { wrong = e.code; }
    return { answers: el.answers, wrong };
  }, token);
  expect(resumed).toEqual({ answers: { 1: 1, 2: 3 }, wrong: "invalid_json" });
});

/** Completes PHQ-9 in the list layout; returns the key of the response (from the queue or delivery events). */
async function complete(page, answers = NINE) {
  await answer(page, answers);
  await finish(page);
}
const statusText = (page) => page.locator("attune-questionnaire .status");
/** Waits for the delivery status to be `state` (offline, sending, retry, failed, delivered, earlier, unsaved). */
const statusIs = (page, state, options) => expect(statusText(page)).toHaveAttribute("data-state", state, options);

test("offline: queued on the device, delivered exactly once when the page is next loaded", async ({ page, context }) => {
  const seen = await open(page, { layout: "list", action: receiver.url, token: TOKEN });
  await context.setOffline(true);
  await complete(page);
  await statusIs(page, "offline");
  const [queued] = await events(page, "attune-queued");
  expect(queued).toMatchObject({ instrument: "phq9", attempts: 0, retryAt: null });
  const stored = await page.evaluate(() => new Promise((resolve, reject) => {
    const r = indexedDB.open("attune-delivery");
    r.onsuccess = () => { const g = r.result.transaction("outbox").objectStore("outbox").getAll(); g.onsuccess = () => { resolve(g.result.map((x) => x.key)); r.result.close(); }; };
    r.onerror = () => reject(r.error);
  }));
  expect(stored).toEqual([queued.key]);
  await axe(page, "queued offline");
  expect(await storedWith([queued.key])).toEqual([]);

  // The tab is closed while offline; the patient opens the page again later, online.
  await page.close();
  await context.setOffline(false);
  const again = await context.newPage();
  const seenAgain = await open(again, { layout: "list", action: receiver.url, token: TOKEN });
  await statusIs(again, "earlier");
  const [delivered] = await events(again, "attune-delivered");
  expect(delivered).toMatchObject({ key: queued.key, status: 201 });
  const got = await storedWith([queued.key]);
  expect(got).toHaveLength(1);
  expect(got[0].response.answers).toEqual(NINE);
  expect(got[0].response.result).toEqual(await coreScore(again, { instrument: "phq9", answers: NINE }));
  await again.reload(); // and nothing is sent twice
  await expect(again.locator("attune-questionnaire .status")).toBeAttached();
  await again.waitForTimeout(300);
  expect(await storedWith([queued.key])).toHaveLength(1);
  // Every request went to the page's own origin or to the configured endpoint.
  const origins = new Set([...seen.requests, ...seenAgain.requests].map((r) => new URL(r.url).origin));
  expect([...origins].sort()).toEqual([receiver.origin, server.url].sort());
  expect(seenAgain.problems).toEqual([]);
});

test("back online without a reload: delivered when the page hears it", async ({ page, context }) => {
  await open(page, { layout: "list", action: receiver.url, token: TOKEN });
  await context.setOffline(true);
  await complete(page);
  await statusIs(page, "offline");
  await context.setOffline(false);
  await statusIs(page, "delivered");
  const [d] = await events(page, "attune-delivered");
  expect(await storedWith([d.key])).toHaveLength(1);
});

test("the endpoint failing with 500 then recovering: retried with backoff, stored once", async ({ page }) => {
  await open(page, { layout: "list", action: receiver.url, token: TOKEN });
  let failures = 2;
  const keys = [];
  await page.route(`${receiver.url}`, async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    keys.push(route.request().headers()["idempotency-key"]);
    if (failures-- > 0) return route.fulfill({ status: 500, contentType: "application/json", headers: { "access-control-allow-origin": "*" }, body: "{}" });
    return route.continue();
  });
  await complete(page);
  await statusIs(page, "retry");
  await expect(statusText(page)).toContainText("could not be reached");
  await axe(page, "retrying");
  await statusIs(page, "delivered", { timeout: 20_000 });
  await expect(statusText(page)).toContainText("Your answers have reached the clinic.");
  const errors = await events(page, "attune-delivery-error");
  expect(errors.map((e) => [e.status, e.willRetry])).toEqual([[500, true], [500, true]]);
  expect(new Set(keys).size).toBe(1);
  expect(keys).toHaveLength(3);
  expect(await storedWith(keys)).toHaveLength(1);
  await axe(page, "delivered");
});

test("a refused token is not retried in a loop, and is sent again once the page has the right one", async ({ page }) => {
  await open(page, { layout: "list", action: receiver.url, token: "wrong" });
  await complete(page);
  await statusIs(page, "failed");
  await expect(statusText(page)).toContainText("error 401");
  await axe(page, "refused");
  const [e] = await events(page, "attune-delivery-error");
  expect(e).toMatchObject({ status: 401, willRetry: false, code: "http_status" });
  await page.goto(`${server.url}/intake/?${new URLSearchParams({ layout: "list", action: receiver.url, token: TOKEN })}`);
  await statusIs(page, "earlier");
  expect(await storedWith([e.key])).toHaveLength(1);
});

test("two tabs on the same queue send each response once", async ({ context }) => {
  const a = await context.newPage();
  const b = await context.newPage();
  const posts = [];
  for (const p of [a, b]) p.on("request", (r) => { if (r.method() === "POST" && r.url() === receiver.url) posts.push(r.headers()["idempotency-key"]); });
  await open(a, { layout: "list", action: receiver.url, token: TOKEN });
  await open(b, { layout: "list", action: receiver.url, token: TOKEN });
  await context.setOffline(true);
  await a.bringToFront(); // a background tab gets no animation frames: Playwright would wait for them
  await complete(a);
  await statusIs(a, "offline");
  const [queued] = await events(a, "attune-queued");
  await context.setOffline(false); // both tabs hear `online` and flush the same queue
  await statusIs(a, "delivered");
  await b.reload(); // and a third try, from a fresh page
  await expect(b.locator("attune-questionnaire fieldset.item").first()).toBeVisible();
  await a.waitForTimeout(500);
  expect(posts).toEqual([queued.key]);
  expect(await storedWith([queued.key])).toHaveLength(1);
});

test("a reload in the middle of a delivery: the receiver keeps it once", async ({ page }) => {
  await open(page, { layout: "list", action: receiver.url, token: TOKEN });
  let held;
  const reached = new Promise((resolve) => {
    page.route(receiver.url, async (route) => {
      if (route.request().method() !== "POST" || held) return route.continue();
      held = route.request().headers()["idempotency-key"];
      await route.fetch(); // the receiver stores it; its answer never reaches the page
      resolve();
      await new Promise(() => {});
    });
  });
  await complete(page);
  await reached;
  // The request stays paused (never answered) while the page reloads; the reload's retry passes.
  await page.reload();
  await statusIs(page, "earlier");
  const [d] = await events(page, "attune-delivered");
  expect(d).toMatchObject({ key: held, status: 200 });
  expect(await storedWith([held])).toHaveLength(1);
});

test("no action, no request; an unsafe action is refused", async ({ page, context }) => {
  const seen = await open(page, { layout: "list" });
  await complete(page);
  expect(seen.requests.filter((r) => new URL(r.url).origin !== server.url)).toEqual([]);
  expect(await events(page, "attune-queued")).toEqual([]);
  const other = await context.newPage();
  const seenOther = await open(other, { layout: "list", action: "http://clinic.example/intake" });
  await expect.poll(async () => (await events(other, "attune-error")).map((e) => e.code)).toContain("invalid_action");
  await complete(other);
  expect(seenOther.requests.filter((r) => new URL(r.url).origin !== server.url)).toEqual([]);
});

test("print: the results card alone, one page, with the date and citation, no controls", async ({ page }) => {
  await page.addInitScript(() => { window.print = () => { window.__printed = (window.__printed ?? 0) + 1; }; });
  await open(page, { layout: "list", results: "show" });
  await complete(page);
  await page.locator("attune-questionnaire button.print").click();
  expect(await page.evaluate(() => window.__printed)).toBe(1);
  await page.emulateMedia({ media: "print" });
  const shown = await page.evaluate(() => {
    const el = document.querySelector("attune-questionnaire");
    const visible = (n) => n && getComputedStyle(n).display !== "none" && n.getClientRects().length > 0;
    return {
      heading: visible(document.querySelector("h1")),
      buttons: [...el.shadowRoot.querySelectorAll("button")].some(visible),
      results: visible(el.shadowRoot.querySelector(".results")),
      date: el.shadowRoot.querySelector(".date")?.textContent,
      citation: visible(el.shadowRoot.querySelector(".credits")),
    };
  });
  expect(shown).toMatchObject({ heading: false, buttons: false, results: true, citation: true, date: expect.stringMatching(/^Date: .*\d{4}/) });
  const pdf = await page.pdf({ format: "A4" });
  expect(String(pdf).match(/\/Type\s*\/Page[^s]/g)).toHaveLength(1);
});

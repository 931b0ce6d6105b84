// The sealed intake inbox end to end: the real attune-server binary on a temporary SQLite file
// serving www/. The clinic's staff create an inbox in <attune-inbox> (key pair made in the browser,
// backup file first), patients complete the clinic form sealed to it (one offline, delivered when
// the page is next opened), and the staff open the three responses and see the core's scores;
// export, delete, restore from the backup in another browser; a swapped key is refused and nothing
// is sent; the server's file holds no answer. axe on every state, the staff's steps keyboard-only.
import { test, expect } from "@playwright/test";
import { axe } from "../support/axe.mjs";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { attuneServer } from "../support/serve.mjs";

const www = fileURLToPath(new URL("../../www/", import.meta.url));
const EVENTS = ["attune-complete", "attune-error", "attune-queued", "attune-delivered", "attune-delivery-error",
  "attune-inbox-created", "attune-inbox-opened"];
let server;
let url;
let dir;

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "attune-inbox-"));
  server = await attuneServer(www, join(dir, "inbox.db"));
  url = server.url;
});
test.afterAll(async () => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function watch(page) {
  const seen = { problems: [], requests: [] };
  page.on("console", (m) => { if (m.type() === "error") seen.problems.push(m.text()); });
  page.on("pageerror", (e) => seen.problems.push(String(e)));
  page.on("request", (r) => seen.requests.push({ url: r.url(), method: r.method(), body: r.postData() }));
  return seen;
}
async function recordEvents(page) {
  await page.addInitScript((types) => {
    window.__events = [];
    for (const t of types) document.addEventListener(t, (e) => window.__events.push({ type: t, detail: e.detail }));
  }, EVENTS);
}
const events = (page, type) => page.evaluate((t) => window.__events.filter((e) => e.type === t).map((e) => e.detail), type);

/** Opens the clinic form sealed to `inbox` (list layout, no saved progress, no other delivery). */
async function openForm(page, inbox, fingerprint) {
  const seen = watch(page);
  await recordEvents(page);
  const q = new URLSearchParams({ inbox, key: fingerprint, layout: "list", save: "none", action: "" });
  const keyFetched = page.waitForResponse((r) => r.url() === inbox);
  await page.goto(`${url}/intake/?${q}`);
  await expect(page.locator("attune-questionnaire fieldset.item").first()).toBeVisible();
  await expect(page.locator("attune-questionnaire .status")).toBeAttached();
  // The element fetches the inbox's key and the sealer when it connects (so that a patient who
  // goes offline afterwards can still finish): both are in before the test goes on.
  await keyFetched;
  await page.evaluate(() => import("/node_modules/attune/seal.js"));
  return seen;
}
async function answer(page, answers) {
  for (const [id, value] of Object.entries(answers)) {
    await page.locator("attune-questionnaire fieldset.item").filter({ hasText: new RegExp(`^${id}\\.`) })
      .locator(`input[value="${value}"]`).check();
  }
}
async function finish(page) {
  await page.locator("attune-questionnaire form.screen button[type=submit]").click();
  await page.locator("attune-questionnaire .review button.primary").click();
  await expect(page.locator("attune-questionnaire .results")).toBeVisible();
}
const statusIs = (page, state) => expect(page.locator("attune-questionnaire .status")).toHaveAttribute("data-state", state);
const coreScore = (page, request) => page.evaluate(async (r) => (await import("/node_modules/attune/index.js")).score(r), request);

/** An inbox made from Node with the package's own WebCrypto helpers (for the tests that need no staff page). */
async function nodeInbox(name) {
  const hpke = await import("../../www/node_modules/attune/hpke.js");
  const pair = await hpke.generateKeyPair();
  const res = await fetch(`${url}/api/inboxes`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, public_key: hpke.b64url(pair.publicKey) }),
  });
  expect(res.status).toBe(201);
  return { ...(await res.json()), pair, hpke };
}
async function listed(inbox) {
  const res = await fetch(`${url}/api/inboxes/${inbox.inbox}/submissions`, { headers: { authorization: `Bearer ${inbox.host_token}` } });
  expect(res.status).toBe(200);
  return (await res.json()).submissions;
}

const R1 = { 1: 1, 2: 2, 3: 0, 4: 1, 5: 3, 6: 0, 7: 1, 8: 2, 9: 0, 10: 1 };
const R2 = { 1: 3, 2: 3, 3: 2, 4: 3, 5: 2, 6: 1, 7: 2, 8: 0, 9: 0, 10: 2 };
const R3 = { 1: 2, 2: 3, 3: 3, 4: 2, 5: 1, 6: 3, 7: 2, 8: 1, 9: 2, 10: 3 }; // item 9 answered: critical

test("sealed in the browser: the server stores an envelope only the clinic's key opens; a swapped key is refused and nothing is sent", async ({ page }) => {
  const inbox = await nodeInbox("Patient side");
  const seen = await openForm(page, inbox.url, inbox.fingerprint);
  await answer(page, R1);
  await finish(page);
  await statusIs(page, "delivered");
  const [delivered] = await events(page, "attune-delivered");
  expect(delivered).toMatchObject({ instrument: "phq9", status: 201 });
  const posts = seen.requests.filter((r) => r.method === "POST");
  expect(posts.map((r) => r.url)).toEqual([`${inbox.url}/submissions`]);
  // What left the page is the envelope, nothing else: no answer, no score, no instrument.
  const body = JSON.parse(posts[0].body);
  expect(Object.keys(body).sort()).toEqual(["ct", "enc", "key", "v"]);
  expect(body.key).toBe(inbox.fingerprint);
  expect(posts[0].body).not.toContain("phq9");
  expect(posts[0].body).not.toContain("answers");
  // The clinic's key opens it, as this submission of this inbox, to the response the core scored.
  const [stored] = await listed(inbox);
  expect(stored.id).toBe(delivered.key);
  const opened = JSON.parse(new TextDecoder().decode(await inbox.hpke.open(inbox.pair.privateKey, inbox.pair.publicKey, inbox.inbox, stored.id, stored.envelope)));
  expect(opened).toMatchObject({ v: 1, instrument: "phq9", answers: Object.fromEntries(Object.entries(R1).map(([k, v]) => [k, v])), lang: "en" });
  expect(opened.result).toEqual(await coreScore(page, { instrument: "phq9", answers: R1 }));
  await expect(inbox.hpke.open(inbox.pair.privateKey, inbox.pair.publicKey, inbox.inbox, "another-key", stored.envelope))
    .rejects.toMatchObject({ code: "open_failed" });
  await axe(page, "delivered sealed");
  expect(seen.problems).toEqual([]);

  // The page pins another key than the inbox's: refused before sealing, nothing leaves the page.
  const other = await nodeInbox("Another clinic");
  const page2 = await page.context().newPage();
  const seen2 = await openForm(page2, inbox.url, other.fingerprint);
  await answer(page2, R2);
  await finish(page2);
  await statusIs(page2, "mismatch");
  const [err] = await events(page2, "attune-delivery-error");
  expect(err).toMatchObject({ code: "key_mismatch", willRetry: false });
  expect((await events(page2, "attune-error")).map((e) => e.code)).toContain("key_mismatch");
  expect(seen2.requests.filter((r) => r.method === "POST")).toEqual([]);
  expect(await listed(inbox)).toHaveLength(1);
  await axe(page2, "key mismatch");

  // A malformed inbox-key is a configuration error, reported at once.
  const page3 = await page.context().newPage();
  await recordEvents(page3);
  await page3.goto(`${url}/intake/?${new URLSearchParams({ inbox: inbox.url, key: "not-a-fingerprint", layout: "list", save: "none", action: "" })}`);
  await expect.poll(async () => (await events(page3, "attune-error")).map((e) => e.code)).toContain("invalid_inbox");
});

/** Presses Tab until `target` has focus (at most 60 times): the keyboard-only path to it. */
async function tabTo(page, target) {
  for (let i = 0; i < 60; i++) {
    if (await target.evaluate((el) => el.getRootNode().activeElement === el).catch(() => false)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`not reachable with Tab: ${target}`);
}
async function typeInto(page, target, text) {
  await tabTo(page, target);
  await page.keyboard.type(text);
}

test("the clinic creates an inbox keyboard-only, three patients send (one offline), the staff open them with the core's scores, export, delete; restore in another browser", async ({ browser }) => {
  test.setTimeout(300_000);
  const PASS = "copper lantern orchard seventeen";
  const staffContext = await browser.newContext({ acceptDownloads: true });
  const staff = await staffContext.newPage();
  const staffSeen = watch(staff);
  await recordEvents(staff);
  await staff.goto(`${url}/inbox/`);
  const box = staff.locator("attune-inbox");
  await expect(box.getByRole("heading", { name: "Create an inbox" })).toBeVisible();
  await axe(staff, "setup");

  // Create: name, Enter; the backup step takes focus; a passphrase twice, Enter; download; continue.
  await typeInto(staff, box.getByLabel("Inbox name"), "Intake, main clinic");
  await staff.keyboard.press("Enter");
  await expect(box.getByRole("heading", { name: "Back up the inbox's key" })).toBeFocused();
  await expect(box.getByText("can never be opened, by anyone, including Attune")).toBeVisible();
  await axe(staff, "backup");
  // Continuing without the file is refused.
  await typeInto(staff, box.getByLabel("Passphrase for the backup", { exact: true }), PASS);
  await typeInto(staff, box.getByLabel("The same passphrase again"), PASS);
  await staff.keyboard.press("Enter");
  const link = box.getByRole("link", { name: /Download the backup file/ });
  await expect(link).toBeFocused();
  const continueButton = box.getByRole("button", { name: /I have saved the backup file/ });
  await tabTo(staff, continueButton);
  await staff.keyboard.press("Enter");
  await expect(box.getByText("Download the backup file first")).toBeVisible();
  await expect(link).toBeFocused();
  const downloading = staff.waitForEvent("download");
  await staff.keyboard.press("Enter");
  const backupPath = join(dir, "backup.json");
  await (await downloading).saveAs(backupPath);
  const backup = JSON.parse(readFileSync(backupPath, "utf8"));
  expect(backup).toMatchObject({ attune: "inbox-key-backup", v: 1, kdf: { name: "PBKDF2", iterations: 600000 }, cipher: { name: "AES-GCM" } });
  expect(JSON.stringify(backup)).not.toMatch(/host_token|private_key/); // encrypted, not in the clear
  await tabTo(staff, continueButton);
  await staff.keyboard.press("Enter");
  await expect(box.getByRole("heading", { name: "The inbox is ready" })).toBeFocused();
  const [created] = await events(staff, "attune-inbox-created");
  expect(created.url).toBe(`${url}/api/inboxes/${created.inbox}`);
  await expect(box.getByLabel("Code for your website's intake page")).toHaveValue(
    `<attune-questionnaire instrument="phq9" inbox="${created.url}" inbox-key="${created.fingerprint}"></attune-questionnaire>`);
  await axe(staff, "ready");
  // The private key is in IndexedDB, and cannot be taken out of the browser.
  const stored = await staff.evaluate(() => new Promise((resolve, reject) => {
    const r = indexedDB.open("attune-inbox");
    r.onsuccess = () => {
      const g = r.result.transaction("keys").objectStore("keys").getAll();
      g.onsuccess = () => { resolve(g.result.map((k) => ({ extractable: k.privateKey.extractable, algorithm: k.privateKey.algorithm.name }))); r.result.close(); };
    };
    r.onerror = () => reject(r.error);
  }));
  expect(stored).toEqual([{ extractable: false, algorithm: "X25519" }]);
  await tabTo(staff, box.getByRole("button", { name: "Open the inbox" }));
  await staff.keyboard.press("Enter");
  await expect(box.getByRole("status")).toHaveText("No submissions.");

  // Three patients: one online, one offline (queued sealed, delivered when the page is next opened), one with item 9.
  const patients = await browser.newContext();
  const p1 = await patients.newPage();
  await openForm(p1, created.url, created.fingerprint);
  await answer(p1, R1);
  await finish(p1);
  await statusIs(p1, "delivered");
  // (Closed: an open page with the element would deliver the next one itself when back online.)
  await p1.close();

  const p2 = await patients.newPage();
  await openForm(p2, created.url, created.fingerprint);
  await patients.setOffline(true);
  await answer(p2, R2);
  await finish(p2);
  await statusIs(p2, "offline");
  const [queued] = await events(p2, "attune-queued");
  const outbox = await p2.evaluate(() => new Promise((resolve, reject) => {
    const r = indexedDB.open("attune-delivery");
    r.onsuccess = () => { const g = r.result.transaction("outbox").objectStore("outbox").getAll(); g.onsuccess = () => { resolve(g.result); r.result.close(); }; };
    r.onerror = () => reject(r.error);
  }));
  // What waits on the patient's device is sealed too.
  expect(outbox.map((r) => r.key)).toEqual([queued.key]);
  expect(Object.keys(JSON.parse(outbox[0].body)).sort()).toEqual(["ct", "enc", "key", "v"]);
  expect(outbox[0].body).not.toContain("answers");
  await axe(p2, "sealed and queued offline");
  await p2.close();
  await patients.setOffline(false);
  const p2b = await patients.newPage();
  await openForm(p2b, created.url, created.fingerprint);
  await statusIs(p2b, "earlier");
  expect((await events(p2b, "attune-delivered"))[0]).toMatchObject({ key: queued.key, status: 201 });

  const p3 = await patients.newPage();
  await openForm(p3, created.url, created.fingerprint);
  await answer(p3, R3);
  await finish(p3);
  await statusIs(p3, "delivered");

  // The staff refresh: three, the critical one first, each scored again by the core.
  await tabTo(staff, box.getByRole("button", { name: "Refresh" }));
  await staff.keyboard.press("Enter");
  await expect(box.getByRole("status")).toHaveText("3 submissions, 1 with a critical flag");
  const rows = box.locator("tbody tr");
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0)).toContainText("Critical");
  await axe(staff, "list");
  const expected = [R3, R2, R1]; // critical first, then newest first
  for (let i = 0; i < 3; i++) {
    const result = await coreScore(staff, { instrument: "phq9", answers: expected[i] });
    await expect(rows.nth(i)).toContainText(`: ${result.scores.total.value}`);
    await tabTo(staff, rows.nth(i).getByRole("button", { name: /^Open/ }));
    await staff.keyboard.press("Enter");
    const detail = box.locator("[part=detail]");
    await expect(detail.getByRole("heading", { level: 2 })).toBeFocused();
    const scores = detail.locator("dl.scores");
    await expect(scores.locator("dd").first()).toHaveText(String(result.scores.total.value));
    await expect(scores).toContainText(result.scores.total.band ? "Band" : "");
    // Every answer shown, with the instrument's wording.
    await expect(detail.locator("ul.answers li")).toHaveCount(10);
    await expect(detail.locator("ul.answers li").first()).toContainText("Little interest or pleasure in doing things");
    if (i === 0) {
      await expect(detail).toContainText("Critical");
      await axe(staff, "detail, critical");
    }
    await tabTo(staff, detail.getByRole("button", { name: "Back to the list" }));
    await staff.keyboard.press("Enter");
    await expect(rows.nth(i).getByRole("button", { name: /^Open/ })).toBeFocused();
  }

  // Export CSV and FHIR.
  const csvDownload = staff.waitForEvent("download");
  await tabTo(staff, box.getByRole("button", { name: "Export CSV" }));
  await staff.keyboard.press("Enter");
  const csvPath = join(dir, "export.csv");
  await (await csvDownload).saveAs(csvPath);
  const csv = readFileSync(csvPath, "utf8").trim().split(/\r?\n/);
  expect(csv).toHaveLength(4);
  const header = csv[0].split(",");
  const totalColumn = header.indexOf("score:total");
  expect(totalColumn).toBeGreaterThan(0);
  const totals = csv.slice(1).map((line) => Number(line.split(",")[totalColumn])).sort((a, b) => a - b);
  const coreTotals = [];
  for (const r of [R1, R2, R3]) coreTotals.push((await coreScore(staff, { instrument: "phq9", answers: r })).scores.total.value);
  expect(totals).toEqual(coreTotals.sort((a, b) => a - b));
  const fhirDownload = staff.waitForEvent("download");
  await tabTo(staff, box.getByRole("button", { name: /Export FHIR/ }));
  await staff.keyboard.press("Enter");
  const fhirPath = join(dir, "export.ndjson");
  await (await fhirDownload).saveAs(fhirPath);
  const bundles = readFileSync(fhirPath, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  expect(bundles.map((b) => `${b.resourceType}/${b.type}`)).toEqual(Array(3).fill("Bundle/transaction"));

  // Restore from the backup in another browser (a fresh profile): same inbox, the same three.
  const other = await browser.newContext();
  const clinic2 = await other.newPage();
  const clinic2Seen = watch(clinic2);
  await clinic2.goto(`${url}/inbox/?inbox=${created.inbox}`);
  const box2 = clinic2.locator("attune-inbox");
  await expect(box2.getByRole("heading", { name: "Restore from a backup file" })).toBeVisible();
  await box2.getByLabel("Backup file", { exact: true }).setInputFiles(backupPath);
  await typeInto(clinic2, box2.getByLabel("Passphrase of the backup"), "a wrong passphrase entirely");
  await clinic2.keyboard.press("Enter");
  await expect(box2.getByRole("alert")).toContainText(/passphrase/i);
  await expect(box2.getByLabel("Passphrase of the backup")).toBeFocused();
  await axe(clinic2, "wrong passphrase");
  await box2.getByLabel("Passphrase of the backup").fill("");
  await clinic2.keyboard.type(PASS);
  await clinic2.keyboard.press("Enter");
  await expect(box2.getByRole("status")).toContainText("3 submissions, 1 with a critical flag");
  await expect(box2.locator("tbody tr")).toHaveCount(3);

  // Delete what was exported: a confirmation, then the server holds nothing.
  await tabTo(staff, box.getByRole("button", { name: "Delete exported" }));
  await staff.keyboard.press("Enter");
  const dialog = box.getByRole("dialog");
  await expect(dialog).toBeVisible();
  await axe(staff, "confirm delete");
  await tabTo(staff, dialog.getByRole("button", { name: /^Delete/ }));
  await staff.keyboard.press("Enter");
  await expect(box.getByRole("status")).toContainText(/No submissions|deleted/i);
  await tabTo(staff, box.getByRole("button", { name: "Refresh" }));
  await staff.keyboard.press("Enter");
  await expect(box.getByRole("status")).toHaveText("No submissions.");

  // The server's file holds the inbox, and none of the answers it stored.
  const db = readFileSync(join(dir, "inbox.db"));
  const wal = existsSync(join(dir, "inbox.db-wal")) ? readFileSync(join(dir, "inbox.db-wal")) : Buffer.alloc(0);
  for (const r of [R1, R2, R3]) {
    for (const needle of [JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v]))), "\"instrument\":\"phq9\""]) {
      expect(db.includes(needle)).toBe(false);
      expect(wal.includes(needle)).toBe(false);
    }
  }
  expect(staffSeen.problems).toEqual([]);
  expect(clinic2Seen.problems.filter((p) => !/401|400/.test(p))).toEqual([]);
  await Promise.all([staffContext.close(), patients.close(), other.close()]);
});

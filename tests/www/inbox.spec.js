// The sealed intake inbox end to end: the real attune-server binary on a temporary SQLite file
// serving www/. The clinic's staff create an inbox in <attune-inbox> (key pair made in the browser,
// backup file first), patients complete the clinic form sealed to it (one offline, delivered when
// the page is next opened), and the staff open the three responses and see the core's scores;
// export, delete, restore from the backup in another browser; a swapped key is refused and nothing
// is sent; the server's file holds no answer. axe on every state, the staff's steps keyboard-only.
import { test, expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const www = fileURLToPath(new URL("../../www/", import.meta.url));
const bin = process.env.ATTUNE_SERVER_BIN ?? fileURLToPath(new URL("../../target/debug/attune-server", import.meta.url));
const TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"];
const EVENTS = ["attune-complete", "attune-error", "attune-queued", "attune-delivered", "attune-delivery-error",
  "attune-inbox-created", "attune-inbox-opened"];
let server;
let url;
let dir;

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "attune-inbox-"));
  server = spawn(bin, ["--addr", "127.0.0.1:0", "--database", join(dir, "inbox.db"), "--www", www], { stdio: ["ignore", "pipe", "inherit"] });
  url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("attune-server did not start")), 20_000);
    server.stdout.on("data", (d) => {
      const m = /listening on (http:\/\/[^ ]+)/.exec(String(d));
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
  });
});
test.afterAll(async () => {
  server?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

async function axe(page, state) {
  const { violations } = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  expect(violations.map((v) => `${state}: ${v.id} ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

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
  await page.goto(`${url}/intake/?${q}`);
  await expect(page.locator("attune-questionnaire fieldset.item").first()).toBeVisible();
  await expect(page.locator("attune-questionnaire .status")).toBeAttached();
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

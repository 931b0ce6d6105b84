// The live poll end to end: the real attune-server binary on a temporary SQLite file serving www/,
// a therapist's dashboard page and five member pages (each its own browser context, so its own
// member token), aggregates only from three answers, revision, closing, the trend, a wrong token,
// and axe on every state of both elements.
import { test, expect } from "@playwright/test";
import { axe } from "../support/axe.mjs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { attuneServer } from "../support/serve.mjs";

const www = fileURLToPath(new URL("../../www/", import.meta.url));
let server;
let url;
let dir;

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "attune-poll-"));
  server = await attuneServer(www, join(dir, "poll.db"));
  url = server.url;
});
test.afterAll(async () => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function watch(page, problems) {
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(String(e)));
}

/** A new group on the server, and the therapist's headers for it. */
async function newGroup(name) {
  const group = await (await fetch(`${url}/api/groups`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }),
  })).json();
  return { group, auth: { authorization: `Bearer ${group.host_token}`, "content-type": "application/json" } };
}

/** A member's GCQ-S answers: 12 items valued 0-6, different per member. */
const answersOf = (k) => Object.fromEntries(Array.from({ length: 12 }, (_, i) => [String(i + 1), (i * (k + 2) + k) % 7]));

async function answer(member, answers) {
  const j = member.locator("attune-poll-join");
  for (const [item, v] of Object.entries(answers)) {
    await j.locator(`fieldset.item:nth-of-type(${item}) input[type=radio][value="${v}"]`).check();
  }
  await j.getByRole("button", { name: "Review answers" }).click();
  await j.getByRole("button", { name: "Finish" }).click();
}

test("a dashboard and five members: aggregates from n = 3, revision, close, trend; a wrong token sees nothing", async ({ browser }) => {
  test.setTimeout(180_000);
  const problems = [];
  const group = await (await fetch(`${url}/api/groups`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Tuesday group" }),
  })).json();

  const dashCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const dash = await dashCtx.newPage();
  watch(dash, problems);
  await dash.goto(`${url}/dashboard/#group=${group.group.id}&token=${group.host_token}`);
  const d = dash.locator("attune-poll-dashboard");
  await d.getByRole("button", { name: "Start poll" }).waitFor();
  await axe(dash, "dashboard: new poll");
  await d.getByRole("button", { name: "Start poll" }).click();
  const code = (await d.locator(".join-code").textContent()).trim();
  expect(code).toMatch(/^[A-Z2-9]{6}$/);
  await expect(d.locator("img.qr")).toHaveAttribute("src", new RegExp(`/api/join/${code}/qr.svg$`));
  await axe(dash, "dashboard: open poll, nobody yet");

  // The first member types the code; the others arrive by the QR code's link.
  const members = [];
  for (let k = 0; k < 5; k++) {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    watch(page, problems);
    const m = { ctx, page, answers: answersOf(k), puts: 0 };
    page.on("request", (r) => { if (r.method() === "PUT" && r.url().endsWith("/response")) m.puts++; });
    members.push(m);
  }
  // Member 4's first socket drops just as the answers go out on it (a phone changing networks):
  // the page sends them again over HTTP, and its next socket works.
  let dropped = false;
  await members[4].page.routeWebSocket(/\/live$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((msg) => {
      if (!dropped && String(msg).includes('"answer"')) {
        dropped = true;
        ws.close({ code: 1011, reason: "dropped" });
      } else {
        server.send(msg);
      }
    });
  });
  const first = members[0].page;
  await first.goto(`${url}/join/`);
  const j0 = first.locator("attune-poll-join");
  await j0.locator("#code").waitFor();
  await axe(first, "join: code entry");
  await j0.locator("#code").fill("WRONG1");
  await j0.getByRole("button", { name: "Join" }).click();
  await expect(j0.locator("#code-error")).toContainText("No open poll");
  await axe(first, "join: wrong code");
  await j0.locator("#code").fill(code.toLowerCase());
  await j0.getByRole("button", { name: "Join" }).click();
  await expect(j0.locator("fieldset.item")).toHaveCount(1); // paged on a phone
  await expect(j0.locator(".instructions")).toContainText("Thinking about today's session:");
  await axe(first, "join: answering");
  for (const m of members.slice(1)) await m.page.goto(`${url}/join/?code=${code}`);
  for (const m of members.slice(1)) await m.page.locator("attune-poll-join fieldset.item").first().waitFor();
  await expect(d.locator("[data-joined]")).toHaveText("5");

  // Answer one by one (paged: Next between items).
  const answerPaged = async (page, answers) => {
    const j = page.locator("attune-poll-join");
    for (const [item, v] of Object.entries(answers)) {
      await expect(j.locator("legend .num")).toHaveText(`${item}.`);
      await j.locator(`input[type=radio][value="${v}"]`).check();
      await j.getByRole("button", { name: item === "12" ? "Review answers" : "Next" }).click();
    }
    await j.getByRole("button", { name: "Finish" }).click();
    await expect(j.locator(".status")).toContainText("saved");
  };
  const expected = async (list) => dash.evaluate(async (m) => (await import("/node_modules/attune/index.js")).groupStats("gcqs", m), list);

  await answerPaged(members[0].page, members[0].answers);
  await axe(members[0].page, "join: saved");
  await answerPaged(members[1].page, members[1].answers);
  await expect(d.locator("[data-answered]")).toHaveText("2");
  await expect(d.locator(".withheld")).toContainText("when 3 members have answered");
  await expect(d.locator(".agg")).toHaveCount(0);
  await answerPaged(members[2].page, members[2].answers);
  await expect(d.locator("[data-answered]")).toHaveText("3");
  await expect(d.locator(".agg")).toBeVisible();
  let stats = await expected(members.slice(0, 3).map((m) => m.answers));
  const firstScore = Object.keys(stats.scores)[0];
  await expect(d.locator(".agg .mean").first()).toHaveText(stats.scores[firstScore].mean.toFixed(2));
  await axe(dash, "dashboard: aggregates");

  // Revision: member 0 changes item 1. One member's change is counted but not shown (the screen
  // would otherwise change by that member's answers); it shows with two more members' answers.
  const j = members[0].page.locator("attune-poll-join");
  await j.getByRole("button", { name: "Change answers" }).click();
  await j.getByRole("button", { name: "Go to question 1" }).count(); // review lists no missing items
  await j.getByRole("button", { name: "Back to the questions" }).click();
  // Back from the review goes to the last item; walk back to item 1.
  for (let i = 0; i < 11; i++) await j.getByRole("button", { name: "Back" }).click();
  const changed = { ...members[0].answers, 1: (members[0].answers["1"] + 3) % 7 };
  await j.locator(`input[type=radio][value="${changed["1"]}"]`).check();
  await j.getByRole("button", { name: "Next" }).click();
  for (let i = 0; i < 10; i++) await j.getByRole("button", { name: "Next" }).click();
  await j.getByRole("button", { name: "Review answers" }).click();
  await j.getByRole("button", { name: "Finish" }).click();
  await expect(j.locator(".status")).toContainText("changed answer is saved");
  members[0].answers = changed;
  await expect(d.locator(".results .note")).toContainText("1 new or changed answer will show once 3 have come in");
  await expect(d.locator(".agg .mean").first()).toHaveText(stats.scores[firstScore].mean.toFixed(2));
  await axe(dash, "dashboard: a change held back");

  await answerPaged(members[3].page, members[3].answers);
  await answerPaged(members[4].page, members[4].answers);
  await expect(d.locator("[data-answered]")).toHaveText("5");
  // Answers went on the members' sockets; only the dropped one went over HTTP, once.
  expect(members.map((m) => m.puts)).toEqual([0, 0, 0, 0, 1]);
  expect(dropped).toBe(true);
  stats = await expected(members.map((m) => m.answers));
  await expect(d.locator(".agg .mean").first()).toHaveText(stats.scores[firstScore].mean.toFixed(2));

  // Close: the members are told, the dashboard shows the closed poll and the trend.
  await d.getByRole("button", { name: "Close poll" }).click();
  for (const m of members) await expect(m.page.locator("attune-poll-join h2")).toHaveText("This poll is closed");
  await axe(members[1].page, "join: closed");
  await expect(d.locator("#last-title")).toContainText("closed");
  await expect(d.locator(".trend")).toBeVisible();
  await expect(d.locator(".trend-table td").first()).toHaveText(stats.scores[firstScore].mean.toFixed(2));
  await axe(dash, "dashboard: closed, trend");
  const late = await fetch(`${url}/api/join/${code}`, { method: "POST" });
  expect(late.status).toBe(404);

  // A wrong token sees nothing: no code, no counts, no aggregates.
  const wrong = await dashCtx.newPage();
  watch(wrong, []);
  await wrong.goto(`${url}/dashboard/#group=${group.group.id}&token=not-the-token`);
  const w = wrong.locator("attune-poll-dashboard");
  await expect(w.locator("[role=alert]")).toContainText("not accepted");
  await expect(w.locator(".agg, .join-code, .counts, .trend")).toHaveCount(0);
  await axe(wrong, "dashboard: wrong token");

  // Nobody's page showed anything but the elements' own files and the API.
  expect(problems.filter((p) => !p.includes("401") && !p.includes("404"))).toEqual([]);
  for (const m of members) await m.ctx.close();
  await dashCtx.close();
});

test("answers the server never acknowledges go over HTTP; when that fails too, Try again sends them", async ({ browser }) => {
  test.setTimeout(60_000);
  const { group, auth } = await newGroup("Retry group");
  const created = await (await fetch(`${url}/api/groups/${group.group.id}/polls`, {
    method: "POST", headers: auth, body: JSON.stringify({ instrument: "ucla3" }),
  })).json();
  const ctx = await browser.newContext({ viewport: { width: 1024, height: 900 } });
  const page = await ctx.newPage();
  const problems = [];
  watch(page, problems);
  // The socket stays open but the server never answers on it (answers are swallowed on the way).
  await page.routeWebSocket(/\/live$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((msg) => { if (!String(msg).includes('"answer"')) server.send(msg); });
  });
  // HTTP fails too at first (the network is gone), then comes back.
  let puts = 0;
  let offline = true;
  await page.route(/\/response$/, async (route) => {
    puts++;
    if (offline) await route.abort("internetdisconnected");
    else await route.continue();
  });
  await page.goto(`${url}/join/?code=${created.poll.code}`);
  await answer(page, { 1: 1, 2: 2, 3: 1 });
  const j = page.locator("attune-poll-join");
  await expect(j.locator(".status")).toContainText("not saved yet", { timeout: 15_000 });
  expect(puts).toBe(1);
  await axe(page, "join: not saved, try again");
  offline = false;
  await j.getByRole("button", { name: "Try again" }).click();
  await expect(j.locator(".status")).toContainText("Your answer is saved");
  await expect(j.getByRole("button", { name: "Try again" })).toHaveCount(0);
  expect(puts).toBe(2);
  const agg = await (await fetch(`${url}/api/polls/${created.poll.id}/aggregate`, { headers: auth })).json();
  expect(agg.answered).toBe(1);
  expect(problems.filter((p) => !p.includes("ERR_INTERNET_DISCONNECTED") && !p.includes("Failed to fetch"))).toEqual([]);
  await ctx.close();
});

test("a dashboard whose instrument wording cannot be loaded says so, and shows the poll by ids", async ({ browser }) => {
  test.setTimeout(60_000);
  const { group, auth } = await newGroup("Offline wording");
  await fetch(`${url}/api/groups/${group.group.id}/polls`, { method: "POST", headers: auth, body: JSON.stringify({ instrument: "ucla3" }) });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const problems = [];
  watch(page, problems);
  let asked = 0;
  await page.route(/\/wording\/ucla3\.js$/, async (route) => {
    asked++;
    await route.abort("failed");
  });
  await page.goto(`${url}/dashboard/#group=${group.group.id}&token=${group.host_token}`);
  const d = page.locator("attune-poll-dashboard");
  await expect(d.locator(".join-code")).toHaveText(/^[A-Z2-9]{6}$/);
  await expect(d.getByRole("alert")).toContainText("The wording of UCLA-3 could not be loaded");
  await expect(d.getByRole("alert")).toContainText("ids are shown instead of labels");
  // The plan names the poll without the wording.
  await expect(d.locator("h3").first()).toContainText("UCLA-3");
  await axe(page, "dashboard: wording unavailable");
  // Asked once: the dashboard does not ask again by itself on every update.
  await page.waitForTimeout(500);
  expect(asked).toBe(1);
  expect(problems.filter((p) => !p.includes("ERR_FAILED") && !p.includes("Failed to load resource"))).toEqual([]);
  await ctx.close();
});

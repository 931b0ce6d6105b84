// The clinic's webhook receiver (examples/webhook-receiver.mjs) against the real attune-server
// binary (ATTUNE_SERVER_BIN, default target/debug/attune-server) on a temporary SQLite file: an
// inbox forwards each submission, signed; the receiver verifies and keeps each once, across a
// receiver outage (the server tries again), and refuses a tampered or old message.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { attuneServer } from "../support/serve.mjs";

const receiverScript = fileURLToPath(new URL("../../examples/webhook-receiver.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "attune-forward-"));
const data = join(dir, "forwarded.jsonl");
let server;
let url;

function started(child, pattern) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start: ${pattern}`)), 20_000);
    child.stdout.on("data", (d) => {
      const m = pattern.exec(String(d));
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code}`)));
  });
}
const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const forwarded = () => (existsSync(data) ? readFileSync(data, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);
async function until(check, what, ms = 30_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  server = await attuneServer(null, join(dir, "inbox.db"), ["--allow-local-forwarding"]);
  url = server.url;
});
after(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("forwarded submissions are verified and kept once across an outage; tampered and old messages are refused", async () => {
  const port = await freePort();
  const publicKey = randomBytes(32);
  const created = await (await fetch(`${url}/api/inboxes`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "Forwarding", public_key: b64url(publicKey), forward_url: `http://127.0.0.1:${port}/hooks` }),
  })).json();
  assert.match(created.forward_secret, /^whsec_/);
  const receiver = () => {
    const child = spawn(process.execPath, [receiverScript], { env: { ...process.env, PORT: String(port), SECRET: created.forward_secret, DATA: data }, stdio: ["ignore", "pipe", "inherit"] });
    return started(child, /webhook-receiver: (http:\/\/\S+)/).then(() => child);
  };
  // The server cannot open an envelope: any bytes of the right lengths, sealed to the inbox's key, are taken.
  const envelope = () => JSON.stringify({ v: 1, key: created.fingerprint, enc: b64url(randomBytes(32)), ct: b64url(randomBytes(80)) });
  const submit = async (key, body) => (await fetch(`${url}/api/inboxes/${created.inbox}/submissions`, {
    method: "POST", headers: { "content-type": "application/json", "idempotency-key": key }, body,
  })).status;

  let rx = await receiver();
  const sent = new Map([["fwd-key-0001", envelope()], ["fwd-key-0002", envelope()]]);
  for (const [key, body] of sent) assert.equal(await submit(key, body), 201);
  assert.equal(await submit("fwd-key-0001", sent.get("fwd-key-0001")), 200); // a repeat is not forwarded again
  await until(() => forwarded().length === 2, "two forwarded submissions");

  // The receiver is down while a third arrives; it comes back and gets it (the server tries again).
  rx.kill("SIGKILL");
  await new Promise((r) => rx.on("exit", r));
  sent.set("fwd-key-0003", envelope());
  assert.equal(await submit("fwd-key-0003", sent.get("fwd-key-0003")), 201);
  await new Promise((r) => setTimeout(r, 1500));
  rx = await receiver();
  await until(() => forwarded().length === 3, "the third submission after the outage");
  await new Promise((r) => setTimeout(r, 500));
  const got = forwarded();
  assert.deepEqual(got.map((m) => m.id).sort(), [...sent.keys()].map((k) => `${created.inbox}_${k}`).sort(), "each once");
  for (const m of got) assert.deepEqual(m.data.envelope, JSON.parse(sent.get(m.data.id)), "still sealed, as sent");

  // Tampered: a valid signature over another body; old: a valid signature, an hour-old timestamp.
  const post = (headers, body) => fetch(`http://127.0.0.1:${port}/hooks`, { method: "POST", headers, body }).then((r) => r.status);
  const sign = (id, ts, body) => `v1,${createHmac("sha256", Buffer.from(created.forward_secret.slice(6), "base64")).update(`${id}.${ts}.${body}`).digest("base64")}`;
  const now = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ type: "inbox.submission", data: { id: "x" } });
  assert.equal(await post({ "webhook-id": "m1", "webhook-timestamp": String(now), "webhook-signature": sign("m1", now, body) }, body.replace("x", "y")), 400);
  assert.equal(await post({ "webhook-id": "m1", "webhook-timestamp": String(now - 3600), "webhook-signature": sign("m1", now - 3600, body) }, body), 400);
  assert.equal(await post({ "webhook-id": "m1", "webhook-timestamp": String(now), "webhook-signature": sign("m1", now, body) }, body), 204, "the untampered message is taken");
  assert.equal(forwarded().length, 4);
  rx.kill("SIGTERM");
});

// A clinic's receiving end for a sealed inbox's forwarding: Node 20, no dependencies.
//
//   SECRET=whsec_… node examples/webhook-receiver.mjs
//
// attune-server posts each new submission of an inbox with a `forward_url` here, still sealed,
// signed as Standard Webhooks specify. This checks the signature (HMAC-SHA256 over
// `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret's bytes after `whsec_`, compared
// in constant time), refuses a timestamp more than five minutes off (a replayed old message), and
// stores each `webhook-id` once in $DATA (a line each, synced before the answer): 204 the first time
// and for a repeat (the server sends again when it did not get an answer), 400 for anything it
// refuses. The stored envelopes open only with the clinic's private key, in `<attune-inbox>`.
//
// This is a starting point to read, not a product: put it behind HTTPS and keep the secret secret.
import { createServer } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";
import { appendFileSync, existsSync, openSync, fsyncSync, closeSync, readFileSync } from "node:fs";

const PORT = Number(process.env.PORT ?? 8789);
const HOST = process.env.HOST ?? "127.0.0.1";
const SECRET = process.env.SECRET ?? "";
const DATA = process.env.DATA ?? "forwarded.jsonl";
const TOLERANCE = 5 * 60; // seconds
const LIMIT = 1 << 20;

if (!SECRET.startsWith("whsec_")) {
  console.error("webhook-receiver: set SECRET to the inbox's forward_secret (whsec_…)");
  process.exit(2);
}
const key = Buffer.from(SECRET.slice("whsec_".length), "base64");

const seen = new Set();
if (existsSync(DATA)) {
  for (const line of readFileSync(DATA, "utf8").split("\n").filter(Boolean)) seen.add(JSON.parse(line).id);
}

/** Whether the message is signed with the secret (any of the space-separated `v1,` signatures) and recent. */
export function verify(headers, body, now = Math.floor(Date.now() / 1000)) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = String(headers["webhook-signature"] ?? "").split(" ");
  if (!id || !/^\d+$/.test(timestamp ?? "") || Math.abs(now - Number(timestamp)) > TOLERANCE) return false;
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
  return signatures.some((s) => {
    if (!s.startsWith("v1,")) return false;
    const given = Buffer.from(s.slice(3), "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function reply(res, status, body) {
  res.writeHead(status, body ? { "content-type": "application/json" } : {});
  res.end(body ? JSON.stringify(body) : undefined);
}

const server = createServer((req, res) => {
  if (req.method !== "POST") return reply(res, 405, { error: "POST only" });
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size > LIMIT) req.destroy();
    else chunks.push(c);
  });
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if (!verify(req.headers, body)) return reply(res, 400, { error: "bad or old signature" });
    const id = req.headers["webhook-id"];
    if (!seen.has(id)) {
      const message = JSON.parse(body.toString("utf8"));
      appendFileSync(DATA, JSON.stringify({ id, received: new Date().toISOString(), data: message.data }) + "\n");
      const fd = openSync(DATA, "r");
      fsyncSync(fd);
      closeSync(fd);
      seen.add(id);
    }
    reply(res, 204);
  });
});
server.listen(PORT, HOST, () => {
  const { address, port } = server.address();
  console.log(`webhook-receiver: http://${address}:${port}/`);
});

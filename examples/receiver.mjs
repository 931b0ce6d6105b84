// A minimal receiving end for <attune-questionnaire action="...">: Node 20, no dependencies.
//
//   TOKEN=change-me ALLOW_ORIGIN=https://clinic.example node examples/receiver.mjs
//
// POST /intake with `Authorization: Bearer $TOKEN` and an `Idempotency-Key` header stores the JSON
// body once per key in $DATA (one line each, written and synced before the answer): 201 the first
// time, 200 for a repeat (the element retries until it gets either). GET /intake with the token
// lists what was received. Everything else is refused with a JSON error.
//
// This is a starting point to read, not a product: put it behind HTTPS, keep the token secret, and
// treat the file as health data.
import { createServer } from "node:http";
import { appendFileSync, existsSync, openSync, fsyncSync, closeSync, readFileSync } from "node:fs";

const PORT = Number(process.env.PORT ?? 8788);
const HOST = process.env.HOST ?? "127.0.0.1";
const TOKEN = process.env.TOKEN ?? "demo-token";
const ALLOW_ORIGIN = process.env.ALLOW_ORIGIN ?? "*"; // the clinic site's origin, e.g. https://clinic.example
const DATA = process.env.DATA ?? "submissions.jsonl";
const LIMIT = 1 << 20; // largest body accepted, in bytes

// What is already stored, by idempotency key (read back at start, so a restart changes nothing).
const seen = new Map();
if (existsSync(DATA)) {
  for (const line of readFileSync(DATA, "utf8").split("\n").filter(Boolean)) {
    const s = JSON.parse(line);
    seen.set(s.key, s);
  }
}

function store(record) {
  appendFileSync(DATA, JSON.stringify(record) + "\n");
  const fd = openSync(DATA, "r");
  fsyncSync(fd);
  closeSync(fd);
  seen.set(record.key, record);
}

function answer(req, res, status, body) {
  const origin = req.headers.origin;
  const allowed = ALLOW_ORIGIN === "*" || origin === ALLOW_ORIGIN;
  res.writeHead(status, {
    "content-type": "application/json",
    "cache-control": "no-store",
    ...(allowed ? { "access-control-allow-origin": ALLOW_ORIGIN === "*" ? "*" : origin, vary: "Origin" } : {}),
  });
  res.end(JSON.stringify(body));
}
const error = (req, res, status, code, message) => answer(req, res, status, { error: { code, message } });

const server = createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  // The browser asks first, because of the JSON body and the headers (CORS preflight).
  if (req.method === "OPTIONS") {
    res.writeHead(204, {
      "access-control-allow-origin": ALLOW_ORIGIN === "*" ? "*" : ALLOW_ORIGIN,
      "access-control-allow-methods": "POST, GET",
      "access-control-allow-headers": "authorization, content-type, idempotency-key",
      "access-control-max-age": "600",
      vary: "Origin",
    });
    return res.end();
  }
  if (path !== "/intake") return error(req, res, 404, "not_found", "POST responses to /intake");
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return error(req, res, 401, "unauthorized", "a valid Bearer token is required");
  if (req.method === "GET") return answer(req, res, 200, [...seen.values()]);
  if (req.method !== "POST") return error(req, res, 405, "method_not_allowed", "use POST");

  const key = req.headers["idempotency-key"];
  if (!key || !/^[A-Za-z0-9-]{8,128}$/.test(key)) return error(req, res, 400, "missing_key", "an Idempotency-Key header is required");
  if (!String(req.headers["content-type"]).startsWith("application/json")) {
    return error(req, res, 415, "unsupported_media_type", "send application/json");
  }
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size > LIMIT) req.destroy();
    else chunks.push(c);
  });
  req.on("end", () => {
    if (seen.has(key)) return answer(req, res, 200, { key, status: "duplicate" });
    let response;
    try {
      response = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return error(req, res, 400, "invalid_json", "the body is not JSON");
    }
    if (typeof response?.instrument !== "string" || typeof response?.answers !== "object") {
      return error(req, res, 422, "not_a_response", "expected an Attune response: instrument, answers, result");
    }
    store({ key, received: new Date().toISOString(), response });
    answer(req, res, 201, { key, status: "stored" });
  });
});

server.listen(PORT, HOST, () => console.log(`receiver: http://${HOST}:${server.address().port}/intake (storing in ${DATA})`));

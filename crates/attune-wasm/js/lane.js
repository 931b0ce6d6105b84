// The JavaScript half of the scoring lane (see src/lane.rs and src/read.rs). Plain JavaScript walks
// the requests and the results, because the engine runs these loops far faster than any
// per-property call across the WebAssembly boundary. Nothing is decided here: a request of the plain
// shape `{ instrument: string, answers: { "<item number>": <int32> | null | undefined }, id?: primitive }`
// is written as numbers for Rust to check and score; anything else (a context, an odd key, a
// fraction, a string value, a getter that throws...) is made plain by `normalize` and read by Rust
// part by part (js/plain.js).

import { decodeAt } from "./plain.js";

let buf = new Int32Array(1 << 16);

function room(need) {
  if (need > buf.length) {
    const bigger = new Int32Array(Math.max(need, buf.length * 2));
    bigger.set(buf);
    buf = bigger;
  }
}

const PLAIN = Object.prototype;

// The item number a key spells in canonical form ("1", "12"; not "01", "1.0" or "1e1"), else 0.
function itemNumber(key) {
  const len = key.length;
  if (len === 0 || len > 9) return 0;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const c = key.charCodeAt(i) - 48;
    if (c < 0 || c > 9 || (c === 0 && i === 0)) return 0;
    n = n * 10 + c;
  }
  return n;
}

function plainId(id) {
  const t = typeof id;
  return id === undefined || id === null || t === "string" || t === "boolean" || (t === "number" && Number.isFinite(id));
}

// Writes one request at `p`: [name index, pair count, item, value, item, value, ...], or
// [-1, 0] for the general lane. Returns the next free position.
function encodeOne(r, p, names, index) {
  room(p + 2);
  buf[p] = -1;
  buf[p + 1] = 0;
  try {
    if (typeof r !== "object" || r === null || Object.getPrototypeOf(r) !== PLAIN) return p + 2;
    for (const key in r) {
      if (key !== "instrument" && key !== "answers" && !(key === "id" && plainId(r.id))) return p + 2;
    }
    const name = r.instrument;
    if (typeof name !== "string") return p + 2;
    const answers = r.answers;
    let q = p + 2;
    let n = 0;
    if (answers !== undefined && answers !== null) {
      if (typeof answers !== "object" || Object.getPrototypeOf(answers) !== PLAIN) return p + 2;
      for (const key in answers) {
        const v = answers[key];
        if (v === undefined || v === null) continue;
        const item = itemNumber(key);
        if (item === 0 || typeof v !== "number" || (v | 0) !== v) return p + 2;
        room(q + 2);
        buf[q++] = item;
        buf[q++] = v;
        n++;
      }
    }
    let i = index.get(name);
    if (i === undefined) {
      i = names.length;
      names.push(name);
      index.set(name, i);
    }
    buf[p] = i;
    buf[p + 1] = n;
    return q;
  } catch {
    buf[p] = -1;
    buf[p + 1] = 0;
    return p + 2;
  }
}

/** Encodes requests[start..end): returns [Int32Array, instrument names]. */
export function encodeRequests(requests, start, end) {
  const names = [];
  const index = new Map();
  let p = 0;
  for (let k = start; k < end; k++) p = encodeOne(requests[k], p, names, index);
  return [buf.subarray(0, p), names];
}

// Each instrument's ids by position, sent by Rust the first time a result of it is decoded.
const schemas = [];

export function hasSchema(index) {
  return schemas[index] !== undefined;
}

export function setSchema(index, schema) {
  schemas[index] = schema;
}

/**
 * Builds the outcomes of requests[start..start+count) into `out` from Rust's encoding: per request
 * the instrument's index (its schema sent earlier by `setSchema`) and then its result, or -1 for a
 * request that could not be scored (its failure taken in order from `failures`).
 */
export function decodeResults(out, start, count, codes, values, failures) {
  let c = 0;
  let v = 0;
  let f = 0;
  for (let k = 0; k < count; k++) {
    const index = codes[c++];
    if (index < 0) {
      out[start + k] = failures[f++];
      continue;
    }
    [out[start + k], c, v] = decodeAt(codes, c, values, v, schemas[index]);
  }
}


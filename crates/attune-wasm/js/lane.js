// The JavaScript half of the scoring lane (see src/lane.rs and src/read.rs). Plain JavaScript walks
// the requests and the results, because the engine runs these loops far faster than any
// per-property call across the WebAssembly boundary. Nothing is decided here: a request of the plain
// shape `{ instrument: string, answers: { "<item number>": <int32> | null | undefined }, id?: primitive }`
// is written as numbers for Rust to check and score; anything else (a context, an odd key, a
// fraction, a string value, a getter that throws...) is made plain by `normalize` and read by Rust
// part by part.

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

// One result from its encoding at codes[c] and values[v] (see encode in src/lane.rs). Returns the
// result and the positions after it.
function decodeAt(codes, c, values, v, schema) {
  const complete = codes[c++] === 1;
  const scores = {};
  for (const def of schema.scores) {
    const value = values[v++];
    const band = codes[c++];
    const n = codes[c++];
    const cutoffs = new Array(n);
    for (let j = 0; j < n; j++) cutoffs[j] = def.cutoffs[codes[c++]];
    scores[def.id] = { value: Number.isNaN(value) ? null : value, band: band < 0 ? null : def.bands[band], cutoffs };
  }
  const nf = codes[c++];
  const flags = new Array(nf);
  for (let j = 0; j < nf; j++) flags[j] = schema.flags[codes[c++]];
  return [{ instrument: schema.id, complete, scores, flags }, c, v];
}

/** One result, as `score()` returns it, from its encoding and its instrument's schema. */
export function decodeResult(codes, values, schema) {
  return decodeAt(codes, 0, values, 0, schema)[0];
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

// A non-finite number is kept as text: JSON would make it null, which means "unanswered".
const keepNonFinite = (k, x) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x);

/**
 * `value` made plain, as JSON text read back makes it: [plain, 0, null]; or [undefined, problem,
 * detail] (1: it cannot be read, detail the error; 2: it is no JSON value, detail its type; 3: its
 * text is longer than `maxLen`; 4: it nests deeper than `maxDepth`).
 */
export function normalize(value, maxLen, maxDepth) {
  let text;
  try {
    text = JSON.stringify(value, keepNonFinite);
  } catch (e) {
    return [undefined, 1, e];
  }
  if (typeof text !== "string") return [undefined, 2, typeof value];
  if (text.length > maxLen) return [undefined, 3, null];
  const plain = JSON.parse(text);
  // Depth without recursion: the value may be nested beyond the call stack.
  const stack = [[plain, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop();
    if (node === null || typeof node !== "object") continue;
    if (depth > maxDepth) return [undefined, 4, null];
    for (const key in node) stack.push([node[key], depth + 1]);
  }
  return [plain, 0, null];
}

// A number as the core's JSON reader writes it (serde_json, with zmij's layout): whole numbers
// within 64 bits as they are, any other number in its shortest form: fixed from 1e-5 to below 1e16
// (`0.00001`, `1500000000000000.0`), else exponential (`1e+21`, `1.5e-7`).
function showNumber(x) {
  const text = String(x);
  if (!/[.e]/.test(text)) {
    const n = BigInt(text);
    if (n >= -(2n ** 63n) && n < 2n ** 64n) return text;
  }
  const [mantissa, exp] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const kk = Number(exp) + 1;
  const sign = x < 0 ? "-" : "";
  const len = digits.length;
  if (len <= kk && kk <= 16) return `${sign}${digits}${"0".repeat(kk - len)}.0`;
  if (0 < kk && kk <= 16) return `${sign}${digits.slice(0, kk)}.${digits.slice(kk)}`;
  if (-5 < kk && kk <= 0) return `${sign}0.${"0".repeat(-kk)}${digits}`;
  const e = `e${kk > 0 ? "+" : ""}${kk - 1}`;
  return len === 1 ? `${sign}${digits}${e}` : `${sign}${digits[0]}.${digits.slice(1)}${e}`;
}

/** The JSON text of a plain value, as the core's JSON reader writes it (object keys sorted). */
export function show(value) {
  if (value === null) return "null";
  switch (typeof value) {
    case "number":
      return showNumber(value);
    case "string":
    case "boolean":
      return JSON.stringify(value);
    default:
      if (Array.isArray(value)) return `[${value.map(show).join(",")}]`;
      return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${show(value[k])}`).join(",")}}`;
  }
}

// Plain values between JavaScript and Rust, shared by every entry: values made plain as JSON text
// would make them (`normalize`), their text as the core writes it (`show`), and one result built
// from Rust's encoding (`decodeResult`). The scoring lane of `scoreMany` is in js/lane.js.

// One result from its encoding at codes[c] and values[v] (see encode in src/lane.rs). Returns the
// result and the positions after it.
export function decodeAt(codes, c, values, v, schema) {
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

// Opening sealed inbox submissions with WebCrypto alone (docs/inbox.md): HPKE (RFC 9180) base mode,
// single-shot, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, the suite `attune-seal` seals
// with. The clinic's private key can stay a non-extractable CryptoKey: X25519 `deriveBits`,
// HMAC-SHA256 and AES-GCM are all this needs. Browsers and Node >= 20; no dependencies.
//
// Every error is an `Error` with a `code`: `invalid_envelope` (not an envelope of version 1, or a
// field of the wrong length), `key_mismatch` (sealed to another key), `open_failed` (altered, or
// sealed to another key, inbox or submission), `invalid_encoding` (not base64url), `invalid_key`
// (not a 32-byte X25519 public key, or not a PKCS#8 X25519 private key).

/** HPKE `info` of every inbox seal. */
export const INFO = "attune-inbox v1";

const subtle = () => globalThis.crypto.subtle;
const utf8 = (text) => new TextEncoder().encode(text);

function fail(code, message, cause) {
  const e = new Error(message, cause === undefined ? undefined : { cause });
  e.code = code;
  return e;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// --- base64url without padding (RFC 4648 §5), strict like attune-seal's ---

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The base64url text of `bytes`, without padding. */
export function b64url(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(bytes.length - i, 3) + 1; // 1 byte: 2 characters, 2: 3, 3: 4
    for (let j = 0; j < chars; j++) out += ALPHABET[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/** The bytes of a base64url text without padding; code `invalid_encoding` for anything else
 * (padding, other characters, an impossible length, stray bits in the last character). */
export function fromB64url(text) {
  const bad = () => fail("invalid_encoding", "not base64url without padding");
  if (typeof text !== "string" || text.length % 4 === 1) throw bad();
  const out = new Uint8Array(Math.floor(text.length / 4) * 3 + Math.max(0, (text.length % 4) - 1));
  let at = 0;
  for (let i = 0; i < text.length; i += 4) {
    const chunk = text.slice(i, i + 4);
    let n = 0;
    for (let j = 0; j < chunk.length; j++) {
      const v = ALPHABET.indexOf(chunk[j]);
      if (v < 0) throw bad();
      n |= v << (18 - 6 * j);
    }
    const bytes = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    const len = chunk.length - 1;
    if (len < 3 && bytes[len] !== 0) throw bad(); // non-canonical: unused bits set
    for (let j = 0; j < len; j++) out[at++] = bytes[j];
  }
  return out;
}

// --- keys ---

function checkPublicKey(publicKey) {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw fail("invalid_key", "not an X25519 public key: 32 raw bytes");
  }
  return publicKey;
}

/** The fingerprint of a raw X25519 public key: `sha256:` and the base64url of its SHA-256. */
export async function fingerprint(rawPublicKey) {
  const digest = await subtle().digest("SHA-256", checkPublicKey(rawPublicKey));
  return "sha256:" + b64url(new Uint8Array(digest));
}

/** A new clinic key pair: `{ privateKey, publicKey }`, the private key an extractable X25519
 * CryptoKey (for `exportPrivate`, once), the public key its 32 raw bytes. */
export async function generateKeyPair() {
  const pair = await subtle().generateKey({ name: "X25519" }, true, ["deriveBits"]);
  const publicKey = new Uint8Array(await subtle().exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey };
}

/** The PKCS#8 bytes of an extractable private key. */
export async function exportPrivate(privateKey) {
  return new Uint8Array(await subtle().exportKey("pkcs8", privateKey));
}

/** An X25519 private key from its PKCS#8 bytes, for `deriveBits` only; code `invalid_key` if it is
 * not one. Non-extractable unless asked. */
export async function importPrivate(pkcs8, extractable = false) {
  try {
    return await subtle().importKey("pkcs8", pkcs8, { name: "X25519" }, extractable, ["deriveBits"]);
  } catch (e) {
    throw fail("invalid_key", "not an X25519 private key in PKCS#8", e);
  }
}

// --- HPKE (RFC 9180) ---

const KEM_SUITE = concat(utf8("KEM"), [0x00, 0x20]); // §4.1: "KEM" || I2OSP(kem_id, 2)
const HPKE_SUITE = concat(utf8("HPKE"), [0x00, 0x20, 0x00, 0x01, 0x00, 0x01]); // §5.1: kem, kdf, aead ids
const VERSION = utf8("HPKE-v1");

async function hmac(key, data) {
  const k = await subtle().importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle().sign("HMAC", k, data));
}

// §4 LabeledExtract: HKDF-Extract(salt, "HPKE-v1" || suite_id || label || ikm). An empty salt is
// HashLen zero bytes (RFC 5869 §2.2); WebCrypto refuses an empty HMAC key, and zeros are the same key.
function labeledExtract(suite, salt, label, ikm) {
  return hmac(salt.length ? salt : new Uint8Array(32), concat(VERSION, suite, utf8(label), ikm));
}

// §4 LabeledExpand: HKDF-Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L).
async function labeledExpand(suite, prk, label, info, length) {
  const labeled = concat([length >> 8, length & 255], VERSION, suite, utf8(label), info);
  let t = new Uint8Array(0);
  let out = new Uint8Array(0);
  for (let i = 1; out.length < length; i++) {
    t = await hmac(prk, concat(t, labeled, [i])); // RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) | info | i)
    out = concat(out, t);
  }
  return out.slice(0, length);
}

/** Opens one HPKE base-mode message (sequence number 0) with the recipient's private key and raw
 * public key: the plaintext. */
export async function openRaw(privateKey, publicKey, enc, info, aad, ct) {
  checkPublicKey(publicKey);
  if (!(enc instanceof Uint8Array) || enc.length !== 32 || !(ct instanceof Uint8Array) || ct.length < 16) {
    throw fail("invalid_envelope", "not a sealed message: enc must be 32 bytes and ct at least 16");
  }
  const openFailed = (cause) =>
    fail(
      "open_failed",
      "the sealed response could not be opened: it was altered, or sealed to another key or for another submission",
      cause,
    );

  // §4.1 Decap: dh = DH(skR, pkE), kem_context = enc || pkRm.
  let dh;
  try {
    const pkE = await subtle().importKey("raw", enc, { name: "X25519" }, false, []);
    dh = new Uint8Array(await subtle().deriveBits({ name: "X25519", public: pkE }, privateKey, 256));
  } catch (e) {
    throw openFailed(e);
  }
  if (dh.every((b) => b === 0)) throw openFailed(); // §7.1.4: a small-order enc
  const eaePrk = await labeledExtract(KEM_SUITE, [], "eae_prk", dh);
  const sharedSecret = await labeledExpand(KEM_SUITE, eaePrk, "shared_secret", concat(enc, publicKey), 32);

  // §5.1 KeySchedule, mode_base (0), no PSK.
  const pskIdHash = await labeledExtract(HPKE_SUITE, [], "psk_id_hash", []);
  const infoHash = await labeledExtract(HPKE_SUITE, [], "info_hash", info);
  const context = concat([0], pskIdHash, infoHash);
  const secret = await labeledExtract(HPKE_SUITE, sharedSecret, "secret", []);
  const key = await labeledExpand(HPKE_SUITE, secret, "key", context, 16);
  const baseNonce = await labeledExpand(HPKE_SUITE, secret, "base_nonce", context, 12);

  // §5.2 Open with sequence number 0: the nonce is base_nonce itself.
  const aes = await subtle().importKey("raw", key, "AES-GCM", false, ["decrypt"]);
  try {
    const pt = await subtle().decrypt({ name: "AES-GCM", iv: baseNonce, additionalData: aad, tagLength: 128 }, aes, ct);
    return new Uint8Array(pt);
  } catch (e) {
    throw openFailed(e); // an OperationError: authentication failed
  }
}

/** Opens the envelope `{v, key, enc, ct}` of submission `key` in `inbox` with the clinic's private
 * key and raw public key: the plaintext bytes (UTF-8 JSON). */
export async function open(privateKey, publicKey, inbox, key, envelope) {
  const e = envelope;
  const shaped = e !== null && typeof e === "object" && e.v === 1;
  if (!shaped || typeof e.key !== "string" || typeof e.enc !== "string" || typeof e.ct !== "string") {
    throw fail("invalid_envelope", "not a sealed envelope of version 1: {v, key, enc, ct}");
  }
  if (e.key !== (await fingerprint(publicKey))) {
    throw fail("key_mismatch", "the envelope was sealed to another key than this one");
  }
  const aad = utf8(`${inbox}/${key}`);
  return openRaw(privateKey, publicKey, fromB64url(e.enc), utf8(INFO), aad, fromB64url(e.ct));
}

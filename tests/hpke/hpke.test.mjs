// The WebCrypto opener (crates/attune-wasm/js/hpke.js) against RFC 9180's vectors and against an
// envelope sealed by the Rust sealer (crates/attune-seal/tests/fixture.json, the one the wasm
// `seal` reproduces byte for byte). Run: `node --test tests/hpke/`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  INFO,
  b64url,
  exportPrivate,
  fingerprint,
  fromB64url,
  generateKeyPair,
  importPrivate,
  open,
  openRaw,
} from "../../crates/attune-wasm/js/hpke.js";

const hex = (s) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const text = (bytes) => new TextDecoder().decode(bytes);
// PKCS#8 of an X25519 private key: this fixed prefix (RFC 8410), then the 32 raw bytes.
const pkcs8 = (raw) => new Uint8Array([...hex("302e020100300506032b656e04220420"), ...raw]);

/** Asserts that `promise` rejects with an Error of this `code`. */
const rejectsWith = (promise, code) => assert.rejects(promise, (e) => e instanceof Error && e.code === code);

// RFC 9180, Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode;
// the encryption of sequence number 0.
const A_1_1 = {
  info: "4f6465206f6e2061204772656369616e2055726e",
  skRm: "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
  pkRm: "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
  enc: "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
  pt: "4265617574792069732074727574682c20747275746820626561757479",
  aad: "436f756e742d30",
  ct: "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
};

const fixture = JSON.parse(readFileSync(new URL("../../crates/attune-seal/tests/fixture.json", import.meta.url), "utf8"));
const envelope = JSON.parse(fixture.envelope);
const publicKey = fromB64url(fixture.public_key);
const clinicKey = () => importPrivate(pkcs8(fromB64url(fixture.secret_key)));

/** The envelope with one byte of a field's decoded value flipped. */
function flipped(field, at) {
  const bytes = fromB64url(envelope[field]);
  bytes[at] ^= 0x01;
  return { ...envelope, [field]: b64url(bytes) };
}

describe("RFC 9180, Appendix A.1.1", () => {
  test("openRaw opens the vector's ciphertext with a non-extractable skRm", async () => {
    const sk = await importPrivate(pkcs8(hex(A_1_1.skRm)));
    assert.equal(sk.extractable, false);
    const pt = await openRaw(sk, hex(A_1_1.pkRm), hex(A_1_1.enc), hex(A_1_1.info), hex(A_1_1.aad), hex(A_1_1.ct));
    assert.deepEqual(pt, hex(A_1_1.pt));
  });

  test("a changed aad or info does not open", async () => {
    const sk = await importPrivate(pkcs8(hex(A_1_1.skRm)));
    const [pk, enc, ct] = [hex(A_1_1.pkRm), hex(A_1_1.enc), hex(A_1_1.ct)];
    await rejectsWith(openRaw(sk, pk, enc, hex(A_1_1.info), hex("436f756e742d31"), ct), "open_failed");
    await rejectsWith(openRaw(sk, pk, enc, new Uint8Array(0), hex(A_1_1.aad), ct), "open_failed");
  });
});

describe("the Rust-sealed fixture", () => {
  test("opens to the fixture's plaintext", async () => {
    const pt = await open(await clinicKey(), publicKey, fixture.inbox, fixture.key, envelope);
    assert.equal(text(pt), fixture.plaintext);
    assert.equal(INFO, "attune-inbox v1");
  });

  test("the fingerprint of its public key is the fixture's", async () => {
    assert.equal(await fingerprint(publicKey), fixture.fingerprint);
    assert.equal(envelope.key, fixture.fingerprint);
  });

  test("every flipped byte of ct or enc fails with open_failed", async () => {
    const sk = await clinicKey();
    for (const field of ["ct", "enc"]) {
      const length = fromB64url(envelope[field]).length;
      for (let at = 0; at < length; at++) {
        await rejectsWith(open(sk, publicKey, fixture.inbox, fixture.key, flipped(field, at)), "open_failed");
      }
    }
  });

  test("another inbox or another submission key fails with open_failed", async () => {
    const sk = await clinicKey();
    await rejectsWith(open(sk, publicKey, fixture.inbox + "x", fixture.key, envelope), "open_failed");
    await rejectsWith(open(sk, publicKey, fixture.inbox, fixture.key + "x", envelope), "open_failed");
    await rejectsWith(open(sk, publicKey, fixture.key, fixture.inbox, envelope), "open_failed");
  });

  test("an envelope naming another key fails with key_mismatch", async () => {
    const sk = await clinicKey();
    const other = await generateKeyPair();
    await rejectsWith(open(sk, publicKey, fixture.inbox, fixture.key, { ...envelope, key: "sha256:x" }), "key_mismatch");
    const misnamed = { ...envelope, key: await fingerprint(other.publicKey) };
    await rejectsWith(open(sk, publicKey, fixture.inbox, fixture.key, misnamed), "key_mismatch");
  });

  test("what is not a version 1 envelope fails with invalid_envelope or invalid_encoding", async () => {
    const sk = await clinicKey();
    const tryOpen = (e) => open(sk, publicKey, fixture.inbox, fixture.key, e);
    await rejectsWith(tryOpen({ ...envelope, v: 2 }), "invalid_envelope");
    await rejectsWith(tryOpen({ ...envelope, v: "1" }), "invalid_envelope");
    await rejectsWith(tryOpen({ v: 1, key: envelope.key, enc: envelope.enc }), "invalid_envelope");
    await rejectsWith(tryOpen(null), "invalid_envelope");
    await rejectsWith(tryOpen(fixture.envelope), "invalid_envelope"); // the text, not the object
    await rejectsWith(tryOpen({ ...envelope, enc: envelope.enc.slice(0, 40) }), "invalid_envelope");
    await rejectsWith(tryOpen({ ...envelope, ct: b64url(new Uint8Array(15)) }), "invalid_envelope");
    await rejectsWith(tryOpen({ ...envelope, enc: envelope.enc + "=" }), "invalid_encoding");
    await rejectsWith(tryOpen({ ...envelope, ct: "+" + envelope.ct.slice(1) }), "invalid_encoding");
  });

  test("a freshly generated key pair cannot open it", async () => {
    const other = await generateKeyPair();
    assert.equal(other.publicKey.length, 32);
    // Named as the fixture's key, so that only the cryptography stands in the way.
    await rejectsWith(open(other.privateKey, publicKey, fixture.inbox, fixture.key, envelope), "open_failed");
    const [enc, ct] = [fromB64url(envelope.enc), fromB64url(envelope.ct)];
    const aad = new TextEncoder().encode(`${fixture.inbox}/${fixture.key}`);
    const info = new TextEncoder().encode(INFO);
    await rejectsWith(openRaw(other.privateKey, other.publicKey, enc, info, aad, ct), "open_failed");
  });

  test("an enc of small order fails with open_failed", async () => {
    const sk = await clinicKey();
    const zero = { ...envelope, enc: b64url(new Uint8Array(32)) };
    await rejectsWith(open(sk, publicKey, fixture.inbox, fixture.key, zero), "open_failed");
  });
});

describe("keys", () => {
  test("exportPrivate and importPrivate round trip", async () => {
    const { privateKey, publicKey: raw } = await generateKeyPair();
    assert.equal(privateKey.extractable, true);
    assert.deepEqual(privateKey.usages, ["deriveBits"]);
    const bytes = await exportPrivate(privateKey);
    assert.equal(bytes.length, 48);
    assert.deepEqual(bytes.slice(0, 16), pkcs8(new Uint8Array(0)));

    const imported = await importPrivate(bytes);
    assert.equal(imported.extractable, false);
    assert.equal(imported.algorithm.name, "X25519");
    assert.deepEqual(imported.usages, ["deriveBits"]);
    await assert.rejects(exportPrivate(imported));
    assert.deepEqual(await exportPrivate(await importPrivate(bytes, true)), bytes);

    // The same key: the same shared secret with any public key.
    const subtle = globalThis.crypto.subtle;
    const peer = await subtle.importKey("raw", publicKey, { name: "X25519" }, false, []);
    const dh = async (k) => new Uint8Array(await subtle.deriveBits({ name: "X25519", public: peer }, k, 256));
    assert.deepEqual(await dh(imported), await dh(privateKey));
    assert.match(await fingerprint(raw), /^sha256:[A-Za-z0-9_-]{43}$/);
  });

  test("the fixture's secret key round trips through PKCS#8", async () => {
    const bytes = pkcs8(fromB64url(fixture.secret_key));
    assert.deepEqual(await exportPrivate(await importPrivate(bytes, true)), bytes);
  });

  test("what is not a key fails with invalid_key", async () => {
    await rejectsWith(importPrivate(new Uint8Array(48)), "invalid_key");
    await rejectsWith(fingerprint(new Uint8Array(31)), "invalid_key");
    await rejectsWith(fingerprint(fixture.public_key), "invalid_key"); // the text, not the bytes
  });
});

describe("base64url", () => {
  test("RFC 4648 vectors, url-safe alphabet, no padding", () => {
    const cases = [["", ""], ["f", "Zg"], ["fo", "Zm8"], ["foo", "Zm9v"], ["foob", "Zm9vYg"], ["fooba", "Zm9vYmE"], ["foobar", "Zm9vYmFy"]];
    for (const [plain, encoded] of cases) {
      assert.equal(b64url(new TextEncoder().encode(plain)), encoded);
      assert.equal(text(fromB64url(encoded)), plain);
    }
    assert.equal(b64url(new Uint8Array([0xfb, 0xff, 0xbf])), "-_-_");
  });

  test("round trips every length", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (let n = 0; n <= bytes.length; n++) {
      const encoded = b64url(bytes.subarray(0, n));
      assert.equal(encoded, Buffer.from(bytes.subarray(0, n)).toString("base64url"));
      assert.deepEqual(fromB64url(encoded), bytes.slice(0, n));
    }
  });

  test("rejects what the encoder never writes", () => {
    for (const bad of ["Zg==", "Zm9v+", "Zm9v/A", "Zm 9v", "Zm9v\n", "Z", "Zm9vY", "Zh", "Zm9", "Zm9vYh", "Zm9é", 42]) {
      assert.throws(() => fromB64url(bad), (e) => e.code === "invalid_encoding", JSON.stringify(bad));
    }
  });
});

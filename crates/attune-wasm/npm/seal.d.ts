// `attune/seal`: sealing for a sealed intake inbox (docs/inbox.md). HPKE (RFC 9180), base mode:
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM. `<attune-questionnaire inbox>` imports it;
// a page with its own form can seal the same way.

export { isAttuneError } from "./index.js";

/** The `code` of an `AttuneError` thrown by `seal` or `fingerprint`. */
export type SealErrorCode = "invalid_key" | "key_mismatch" | "invalid_ikm";

/**
 * Seals `plaintext` (a response's JSON) for submission `key` (its Idempotency-Key) of inbox `inbox`
 * (the inbox id) and returns the envelope's JSON text `{"v":1,"key","enc","ct"}`, to post as it is to
 * `<server>/api/inboxes/<inbox>/submissions` with that `Idempotency-Key`.
 *
 * `publicKey` is the inbox's key as the server gives it (base64url); it is used only if its
 * fingerprint is `fingerprint` (what the clinic gave the page): otherwise an `AttuneError` with code
 * `key_mismatch` is thrown and nothing is sealed. `ikm` is 32 bytes from `crypto.getRandomValues`,
 * new for every call.
 */
export function seal(publicKey: string, fingerprint: string, inbox: string, key: string, plaintext: string, ikm: Uint8Array): string;

/** The fingerprint of a public key (base64url): `sha256:` and the base64url of its SHA-256. */
export function fingerprint(publicKey: string): string;

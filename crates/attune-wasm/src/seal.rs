//! The sealed intake inbox's sealer (`docs/inbox.md`): `seal` and `fingerprint`, the patient side
//! of `attune-seal`. Its own module, without the scoring catalog or a JSON parser; the staff side
//! opens with WebCrypto alone (`js/hpke.js`). Every failure is a thrown `AttuneError` whose `code`
//! is `attune-seal`'s (`invalid_key`, `key_mismatch`), or `invalid_ikm` for key material that
//! cannot be fresh randomness.

use wasm_bindgen::prelude::*;

use crate::error::error_with_code;

#[wasm_bindgen(typescript_custom_section)]
const SEAL_ERRORS: &str = r#"
/** The `code` of an `AttuneError` thrown by `seal` or `fingerprint`. */
export type SealErrorCode = "invalid_key" | "key_mismatch" | "invalid_ikm";
"#;

/// The thrown form of an `attune-seal` error.
fn seal_error(e: attune_seal::Error) -> JsValue {
    error_with_code(e.code(), &e.to_string(), None, None)
}

/// Seals a completed response for an inbox and returns the envelope's JSON text
/// (`{"v":1,"key":"sha256:…","enc":"…","ct":"…"}`), to post as it is.
///
/// `publicKey` is the inbox's key as the server gives it (base64url); it is used only if its
/// fingerprint is `fingerprint` (what the clinic gave the page), else the `AttuneError` has code
/// `key_mismatch` and nothing is sealed. `inbox` and `key` (the submission's idempotency key) are
/// bound to the seal: it opens only as that submission of that inbox. `ikm` is 32 bytes from
/// `crypto.getRandomValues`, new for every call.
#[wasm_bindgen]
pub fn seal(
    #[wasm_bindgen(js_name = publicKey)] public_key: &str,
    fingerprint: &str,
    inbox: &str,
    key: &str,
    plaintext: &str,
    ikm: &[u8],
) -> Result<String, JsValue> {
    let ikm: &[u8; 32] = ikm
        .try_into()
        .map_err(|_| error_with_code("invalid_ikm", "ikm must be 32 bytes from crypto.getRandomValues", None, None))?;
    // All zeros is what a buffer that was never filled holds: refuse it rather than seal every
    // response under the same key and nonce.
    if ikm.iter().all(|&b| b == 0) {
        return Err(error_with_code(
            "invalid_ikm",
            "ikm is all zeros: fill it with crypto.getRandomValues",
            None,
            None,
        ));
    }
    attune_seal::seal_envelope(public_key, fingerprint, inbox, key, plaintext.as_bytes(), ikm).map_err(seal_error)
}

/// The fingerprint of a public key (base64url, 32 bytes): `sha256:` and the base64url of its
/// SHA-256. The `AttuneError` has code `invalid_key` when it is not such a key.
#[wasm_bindgen]
pub fn fingerprint(#[wasm_bindgen(js_name = publicKey)] public_key: &str) -> Result<String, JsValue> {
    attune_seal::public_key_from_b64(public_key).map(|pk| attune_seal::fingerprint(&pk)).map_err(seal_error)
}

/// The binding as JavaScript calls it: the interop fixture of `attune-seal` (the envelope the
/// WebCrypto opener's test opens) sealed again byte for byte, and each refusal's code.
#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    fn fixture() -> serde_json::Value {
        serde_json::from_str(include_str!("../../attune-seal/tests/fixture.json")).expect("fixture")
    }

    fn code(e: JsValue) -> String {
        js_sys::Reflect::get(&e, &"code".into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
    }

    #[wasm_bindgen_test]
    fn the_fixture_is_sealed_byte_for_byte() {
        let f = fixture();
        let s = |k: &str| f[k].as_str().expect(k).to_string();
        let ikm = attune_seal::from_b64url(&s("ikm_e")).expect("ikm");
        let envelope =
            seal(&s("public_key"), &s("fingerprint"), &s("inbox"), &s("key"), &s("plaintext"), &ikm).expect("seals");
        assert_eq!(envelope, s("envelope"));
        assert_eq!(fingerprint(&s("public_key")).expect("a key"), s("fingerprint"));
    }

    #[wasm_bindgen_test]
    fn refusals_have_codes() {
        let f = fixture();
        let s = |k: &str| f[k].as_str().expect(k).to_string();
        let ikm = attune_seal::from_b64url(&s("ikm_e")).expect("ikm");
        let other = "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let refused = |r: Result<String, JsValue>| code(r.expect_err("refused"));
        assert_eq!(refused(seal(&s("public_key"), other, "i", "k", "{}", &ikm)), "key_mismatch");
        assert_eq!(refused(seal("AAAA", &s("fingerprint"), "i", "k", "{}", &ikm)), "invalid_key");
        assert_eq!(refused(seal(&s("public_key"), &s("fingerprint"), "i", "k", "{}", &[0u8; 32])), "invalid_ikm");
        assert_eq!(refused(seal(&s("public_key"), &s("fingerprint"), "i", "k", "{}", &ikm[..16])), "invalid_ikm");
        assert_eq!(refused(fingerprint("not a key")), "invalid_key");
    }
}

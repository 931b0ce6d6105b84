//! The interop fixture `tests/fixture.json`: an envelope sealed by this crate, which the WebCrypto
//! opener's test (`tests/hpke/hpke.test.mjs`) opens. Sealing is deterministic given `ikm_e`, so this
//! test regenerates the envelope and fails if sealing changes in any way.
//!
//! Fields: `secret_key`, `public_key` and `ikm_e` are base64url (no padding) of 32 raw bytes (the
//! secret key as `DeriveKeyPair` gives it, not clamped); `fingerprint` is the public key's;
//! `plaintext` is the sealed UTF-8 text; `envelope` is the envelope's JSON text exactly as
//! `seal_envelope` writes it (a string, so that its bytes are compared).
//!
//! The fixture is also made again from its recipe (keys derived from fixed labels) and compared with
//! the file; to write it again (only when the format changes on purpose):
//! `ATTUNE_WRITE_FIXTURE=1 cargo test -p attune-seal --test fixture`.

use attune_seal::{
    b64url, derive_key_pair, fingerprint, from_b64url, open_envelope, public_key_from_b64, seal_envelope,
};
use serde_json::Value;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixture.json");

const INBOX: &str = "ibx_7Qm2fXk9";
const KEY: &str = "k-2026-12-05-0001";
const PLAINTEXT: &str = r#"{"v":1,"instrument":"phq9","version":"1.0.0","answers":{"1":2,"2":1,"3":0,"4":1,"5":0,"6":0,"7":1,"8":0,"9":0},"context":{},"result":{"instrument":"phq9","complete":true,"scores":{"total":{"value":5,"band":"mild"}},"flags":[]},"completed":"2026-12-05T10:00:00.000Z","lang":"en"}"#;

fn field<'a>(fixture: &'a Value, name: &str) -> &'a str {
    fixture[name].as_str().unwrap_or_else(|| panic!("fixture field `{name}`"))
}

fn bytes32(text: &str) -> [u8; 32] {
    from_b64url(text).expect("base64url").try_into().expect("32 bytes")
}

#[test]
fn fixture_envelope_is_reproducible_and_opens() {
    let text = std::fs::read_to_string(PATH).expect("tests/fixture.json");
    let fixture: Value = serde_json::from_str(&text).expect("fixture JSON");
    let sk = bytes32(field(&fixture, "secret_key"));
    let pk = public_key_from_b64(field(&fixture, "public_key")).expect("public key");
    assert_eq!(fingerprint(&pk), field(&fixture, "fingerprint"));
    let (inbox, key, plaintext) = (field(&fixture, "inbox"), field(&fixture, "key"), field(&fixture, "plaintext"));
    let ikm_e = bytes32(field(&fixture, "ikm_e"));

    let envelope = seal_envelope(
        field(&fixture, "public_key"),
        field(&fixture, "fingerprint"),
        inbox,
        key,
        plaintext.as_bytes(),
        &ikm_e,
    )
    .expect("seal");
    assert_eq!(
        envelope,
        field(&fixture, "envelope"),
        "sealing changed: the WebCrypto opener's fixture no longer matches"
    );

    let parsed: Value = serde_json::from_str(&envelope).expect("envelope JSON");
    assert_eq!(parsed["v"], 1);
    let opened = open_envelope(
        &sk,
        &pk,
        inbox,
        key,
        parsed["key"].as_str().expect("key"),
        parsed["enc"].as_str().expect("enc"),
        parsed["ct"].as_str().expect("ct"),
    )
    .expect("open");
    assert_eq!(opened, plaintext.as_bytes());
}

#[test]
fn the_fixture_file_is_its_recipe() {
    let (sk, pk) = derive_key_pair(b"attune-seal interop fixture: recipient");
    // Fixed instead of random, so that the envelope is reproducible.
    let (ikm_e, _) = derive_key_pair(b"attune-seal interop fixture: ephemeral");
    let fp = fingerprint(&pk);
    let envelope = seal_envelope(&b64url(&pk), &fp, INBOX, KEY, PLAINTEXT.as_bytes(), &ikm_e).expect("seal");
    let fields: [(&str, String); 10] = [
        ("about", "attune-seal interop fixture (see crates/attune-seal/tests/fixture.rs): secret_key, public_key and ikm_e are base64url of 32 raw bytes; plaintext is UTF-8 text; envelope is the envelope's JSON text".into()),
        ("suite", "HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM; info \"attune-inbox v1\", aad \"<inbox>/<key>\"".into()),
        ("secret_key", b64url(&sk)),
        ("public_key", b64url(&pk)),
        ("fingerprint", fp),
        ("inbox", INBOX.into()),
        ("key", KEY.into()),
        ("plaintext", PLAINTEXT.into()),
        ("ikm_e", b64url(&ikm_e)),
        ("envelope", envelope),
    ];
    let body: Vec<String> = fields
        .iter()
        .map(|(name, value)| {
            format!(
                "  {}: {}",
                serde_json::to_string(name).expect("name"),
                serde_json::to_string(value).expect("value")
            )
        })
        .collect();
    let made = format!("{{\n{}\n}}\n", body.join(",\n"));
    if std::env::var_os("ATTUNE_WRITE_FIXTURE").is_some() {
        std::fs::write(PATH, &made).expect("write tests/fixture.json");
    }
    assert_eq!(std::fs::read_to_string(PATH).expect("tests/fixture.json"), made, "the fixture is not its recipe's");
}

use super::*;

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "hex of odd length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn hex32(s: &str) -> [u8; 32] {
    hex(s).try_into().expect("32 bytes")
}

/// RFC 9180, Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode,
/// and its encryption of sequence number 0.
mod a_1_1 {
    pub const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
    pub const IKM_E: &str = "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234";
    pub const PK_EM: &str = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
    pub const SK_EM: &str = "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736";
    pub const IKM_R: &str = "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037";
    pub const PK_RM: &str = "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d";
    pub const SK_RM: &str = "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8";
    pub const ENC: &str = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
    pub const SHARED_SECRET: &str = "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc";
    pub const KEY_SCHEDULE_CONTEXT: &str = "00725611c9d98c07c03f60095cd32d400d8347d45ed67097bbad50fc56da742d07cb6cffde367bb0565ba28bb02c90744a20f5ef37f30523526106f637abb05449";
    pub const SECRET: &str = "12fff91991e93b48de37e7daddb52981084bd8aa64289c3788471d9a9712f397";
    pub const KEY: &str = "4531685d41d65f03dc48f6b8302c05b0";
    pub const BASE_NONCE: &str = "56d890e5accaaf011cff4b7d";
    // sequence number 0
    pub const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
    pub const AAD: &str = "436f756e742d30";
    pub const CT: &str = "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a";
}

#[test]
fn rfc9180_a_1_1_key_pairs() {
    let (sk_e, pk_e) = derive_key_pair(&hex(a_1_1::IKM_E));
    assert_eq!(sk_e, hex32(a_1_1::SK_EM));
    assert_eq!(pk_e, hex32(a_1_1::PK_EM));
    let (sk_r, pk_r) = derive_key_pair(&hex(a_1_1::IKM_R));
    assert_eq!(sk_r, hex32(a_1_1::SK_RM));
    assert_eq!(pk_r, hex32(a_1_1::PK_RM));
}

#[test]
fn rfc9180_a_1_1_key_schedule() {
    let (shared_secret, enc) = hpke::encap(&hex32(a_1_1::PK_RM), &hex(a_1_1::IKM_E)).expect("encap");
    assert_eq!(enc, hex32(a_1_1::ENC));
    assert_eq!(shared_secret, hex32(a_1_1::SHARED_SECRET));
    assert_eq!(hpke::decap(&enc, &hex32(a_1_1::SK_RM)), Some(shared_secret));

    let schedule = hpke::key_schedule(&shared_secret, &hex(a_1_1::INFO));
    assert_eq!(schedule.context.as_slice(), hex(a_1_1::KEY_SCHEDULE_CONTEXT));
    assert_eq!(schedule.secret, hex32(a_1_1::SECRET));
    assert_eq!(schedule.key.as_slice(), hex(a_1_1::KEY));
    assert_eq!(schedule.base_nonce.as_slice(), hex(a_1_1::BASE_NONCE));
}

#[test]
fn rfc9180_a_1_1_seal_and_open() {
    let ikm_e = hex32(a_1_1::IKM_E);
    let sealed =
        seal(&hex32(a_1_1::PK_RM), &hex(a_1_1::INFO), &hex(a_1_1::AAD), &hex(a_1_1::PT), &ikm_e).expect("seal");
    assert_eq!(sealed.enc, hex32(a_1_1::ENC));
    assert_eq!(sealed.ct, hex(a_1_1::CT));

    let pt = open(&hex32(a_1_1::SK_RM), &hex(a_1_1::ENC), &hex(a_1_1::INFO), &hex(a_1_1::AAD), &hex(a_1_1::CT));
    assert_eq!(pt.expect("open"), hex(a_1_1::PT));
}

/// A recipient key pair and a sealed submission for the tests below.
struct Case {
    sk: [u8; 32],
    pk: [u8; 32],
    sealed: Sealed,
}

const PLAINTEXT: &[u8] = br#"{"v":1,"instrument":"phq9","answers":{"1":2}}"#;

fn case() -> Case {
    let (sk, pk) = derive_key_pair(b"recipient");
    let sealed = seal(&pk, INFO, &aad("inbox1", "key-1"), PLAINTEXT, &[7; 32]).expect("seal");
    Case { sk, pk, sealed }
}

#[test]
fn round_trip() {
    let c = case();
    assert_eq!(c.sealed.ct.len(), PLAINTEXT.len() + 16);
    let pt = open(&c.sk, &c.sealed.enc, INFO, &aad("inbox1", "key-1"), &c.sealed.ct).expect("open");
    assert_eq!(pt, PLAINTEXT);
    // Another ikm_e: another enc and ct, opening the same.
    let other = seal(&c.pk, INFO, &aad("inbox1", "key-1"), PLAINTEXT, &[8; 32]).expect("seal");
    assert_ne!(other.enc, c.sealed.enc);
    assert_ne!(other.ct, c.sealed.ct);
    assert_eq!(open(&c.sk, &other.enc, INFO, &aad("inbox1", "key-1"), &other.ct).expect("open"), PLAINTEXT);
    // The empty message.
    let empty = seal(&c.pk, INFO, b"", b"", &[9; 32]).expect("seal");
    assert_eq!(open(&c.sk, &empty.enc, INFO, b"", &empty.ct).expect("open"), b"");
}

#[test]
fn every_changed_byte_fails() {
    let c = case();
    let aad = aad("inbox1", "key-1");
    for i in 0..c.sealed.ct.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut ct = c.sealed.ct.clone();
            ct[i] ^= flip;
            assert_eq!(open(&c.sk, &c.sealed.enc, INFO, &aad, &ct), Err(Error::OpenFailed), "ct[{i}] ^ {flip}");
        }
    }
    for i in 0..32 {
        for flip in [0x01, 0x80, 0xff] {
            let mut enc = c.sealed.enc;
            enc[i] ^= flip;
            assert_eq!(open(&c.sk, &enc, INFO, &aad, &c.sealed.ct), Err(Error::OpenFailed), "enc[{i}] ^ {flip}");
        }
    }
}

#[test]
fn wrong_key_aad_or_info_fails() {
    let c = case();
    let (other_sk, _) = derive_key_pair(b"someone else");
    let (enc, ct) = (&c.sealed.enc, &c.sealed.ct);
    assert_eq!(open(&other_sk, enc, INFO, &aad("inbox1", "key-1"), ct), Err(Error::OpenFailed));
    assert_eq!(open(&c.sk, enc, INFO, &aad("inbox2", "key-1"), ct), Err(Error::OpenFailed));
    assert_eq!(open(&c.sk, enc, INFO, &aad("inbox1", "key-2"), ct), Err(Error::OpenFailed));
    assert_eq!(open(&c.sk, enc, INFO, b"", ct), Err(Error::OpenFailed));
    assert_eq!(open(&c.sk, enc, b"attune-inbox v2", &aad("inbox1", "key-1"), ct), Err(Error::OpenFailed));
    assert_eq!(open(&c.sk, enc, b"", &aad("inbox1", "key-1"), ct), Err(Error::OpenFailed));
}

#[test]
fn truncated_or_misshapen_fails() {
    let c = case();
    let (aad, enc, ct) = (aad("inbox1", "key-1"), &c.sealed.enc, &c.sealed.ct);
    // Shorter, but still longer than a tag: authentication fails.
    for len in 16..ct.len() {
        assert_eq!(open(&c.sk, enc, INFO, &aad, &ct[..len]), Err(Error::OpenFailed), "ct[..{len}]");
    }
    let mut longer = ct.clone();
    longer.push(0);
    assert_eq!(open(&c.sk, enc, INFO, &aad, &longer), Err(Error::OpenFailed));
    // Not even a tag, or an enc of another length: not an envelope.
    for len in 0..16 {
        assert_eq!(open(&c.sk, enc, INFO, &aad, &ct[..len]), Err(Error::InvalidEnvelope), "ct[..{len}]");
    }
    assert_eq!(open(&c.sk, &enc[..31], INFO, &aad, ct), Err(Error::InvalidEnvelope));
    assert_eq!(open(&c.sk, &[enc.as_slice(), &[0]].concat(), INFO, &aad, ct), Err(Error::InvalidEnvelope));
}

#[test]
fn small_order_points_are_refused() {
    // The zero point and the point of order 2: their DH output is all zeros (RFC 9180 §7.1.4).
    let mut one = [0u8; 32];
    one[0] = 1;
    let c = case();
    for point in [[0u8; 32], one] {
        assert_eq!(seal(&point, INFO, b"", b"x", &[1; 32]), Err(Error::InvalidKey));
        assert_eq!(open(&c.sk, &point, INFO, b"", &c.sealed.ct), Err(Error::OpenFailed));
    }
}

#[test]
fn fingerprint_format() {
    let (_, pk) = derive_key_pair(b"recipient");
    let fp = fingerprint(&pk);
    assert!(fp.starts_with("sha256:"));
    // 32 bytes of digest: 43 characters of base64url.
    assert_eq!(fp.len(), 7 + 43);
    assert_eq!(from_b64url(&fp[7..]).expect("b64url"), Sha256::digest(pk).as_slice());
    // SHA-256 of 32 zero bytes, 66687aad..., in base64url.
    assert_eq!(fingerprint(&[0; 32]), "sha256:Zmh6rfhivXdsj8GLjp-OIAiXFIVu4jOzkCpZHQ1fKSU");
}

#[test]
fn public_keys() {
    let (_, pk) = derive_key_pair(b"recipient");
    let text = b64url(&pk);
    assert_eq!(text.len(), 43);
    assert_eq!(public_key_from_b64(&text), Ok(pk));
    for bad in ["", "AAAA", &text[..42], &format!("{text}A"), &format!("{text}="), &text.replace(&text[..1], "+")] {
        assert_eq!(public_key_from_b64(bad), Err(Error::InvalidKey), "{bad:?}");
    }
    // Points of small order: 0, 1, and the order-8 point whose u-coordinate is
    // 0x5f9c95bc… (little-endian bytes below; Bernstein's list of Curve25519's small-order points).
    let mut order8 = [0u8; 32];
    order8[..8].copy_from_slice(&[0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae]);
    order8[8..16].copy_from_slice(&[0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a]);
    order8[16..24].copy_from_slice(&[0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd]);
    order8[24..].copy_from_slice(&[0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00]);
    let mut one = [0u8; 32];
    one[0] = 1;
    for small in [[0u8; 32], one, order8] {
        assert_eq!(public_key_from_b64(&b64url(&small)), Err(Error::InvalidKey), "{small:?}");
    }
}

#[test]
fn envelope_round_trip() {
    let (sk, pk) = derive_key_pair(b"recipient");
    let fp = fingerprint(&pk);
    let text = seal_envelope(&b64url(&pk), &fp, "inbox1", "key-1", PLAINTEXT, &[3; 32]).expect("seal");
    let prefix = format!(r#"{{"v":1,"key":"{fp}","enc":""#);
    assert!(text.starts_with(&prefix), "{text}");
    let rest = &text[prefix.len()..];
    let (enc, rest) = rest.split_once(r#"","ct":""#).expect("ct field");
    let ct = rest.strip_suffix(r#""}"#).expect("end");
    assert_eq!(open_envelope(&sk, &pk, "inbox1", "key-1", &fp, enc, ct).expect("open"), PLAINTEXT);

    // Another submission, another inbox, another key, a misnamed key, a bad encoding.
    assert_eq!(open_envelope(&sk, &pk, "inbox1", "key-2", &fp, enc, ct), Err(Error::OpenFailed));
    assert_eq!(open_envelope(&sk, &pk, "inbox2", "key-1", &fp, enc, ct), Err(Error::OpenFailed));
    let (other_sk, other_pk) = derive_key_pair(b"someone else");
    assert_eq!(
        open_envelope(&other_sk, &other_pk, "inbox1", "key-1", &fingerprint(&other_pk), enc, ct),
        Err(Error::OpenFailed)
    );
    assert_eq!(open_envelope(&sk, &pk, "inbox1", "key-1", &fingerprint(&other_pk), enc, ct), Err(Error::KeyMismatch));
    assert_eq!(open_envelope(&sk, &pk, "inbox1", "key-1", &fp, &format!("{enc}="), ct), Err(Error::InvalidEncoding));
    assert_eq!(
        open_envelope(&sk, &pk, "inbox1", "key-1", &fp, enc, &format!("+{}", &ct[1..])),
        Err(Error::InvalidEncoding)
    );
    assert_eq!(open_envelope(&sk, &pk, "inbox1", "key-1", &fp, &enc[..40], ct), Err(Error::InvalidEnvelope));
}

#[test]
fn envelope_checks_the_key() {
    let (_, pk) = derive_key_pair(b"recipient");
    let (_, other) = derive_key_pair(b"someone else");
    let seal_with = |key_b64: &str, fp: &str| seal_envelope(key_b64, fp, "inbox1", "key-1", PLAINTEXT, &[3; 32]);
    assert_eq!(seal_with(&b64url(&other), &fingerprint(&pk)), Err(Error::KeyMismatch));
    assert_eq!(seal_with(&b64url(&pk), "sha256:"), Err(Error::KeyMismatch));
    assert_eq!(seal_with(&b64url(&pk), ""), Err(Error::KeyMismatch));
    assert_eq!(seal_with("not a key", &fingerprint(&pk)), Err(Error::InvalidKey));
    assert_eq!(seal_with(&b64url(&pk[..31]), &fingerprint(&pk)), Err(Error::InvalidKey));
    // A small-order key with the right fingerprint is still refused.
    assert_eq!(seal_with(&b64url(&[0; 32]), &fingerprint(&[0; 32])), Err(Error::InvalidKey));
}

#[test]
fn error_codes_and_messages() {
    for (e, code) in [
        (Error::InvalidKey, "invalid_key"),
        (Error::KeyMismatch, "key_mismatch"),
        (Error::InvalidEncoding, "invalid_encoding"),
        (Error::InvalidEnvelope, "invalid_envelope"),
        (Error::OpenFailed, "open_failed"),
    ] {
        assert_eq!(e.code(), code);
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn aad_format() {
    assert_eq!(aad("ibx_1", "Abc-123"), b"ibx_1/Abc-123");
    assert_eq!(INFO, b"attune-inbox v1");
}

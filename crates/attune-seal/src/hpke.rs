//! HPKE (RFC 9180) base mode, single-shot, for one suite: DHKEM(X25519, HKDF-SHA256) (`0x0020`),
//! HKDF-SHA256 (`0x0001`), AES-128-GCM (`0x0001`). Only what the inbox needs: a message is sealed
//! once, with sequence number 0, and no exporter secret is derived.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use hkdf::{Hkdf, HkdfExtract};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::Error;

/// `suite_id` of the KEM's own derivations (§4.1): `"KEM" || I2OSP(kem_id, 2)`.
const KEM_SUITE: &[u8] = b"KEM\x00\x20";
/// `suite_id` of the key schedule (§5.1): `"HPKE" || kem_id || kdf_id || aead_id`.
const HPKE_SUITE: &[u8] = b"HPKE\x00\x20\x00\x01\x00\x01";
/// `mode_base` (§5.1).
const MODE_BASE: u8 = 0x00;
/// Length of an AES-GCM tag: the shortest possible ciphertext.
pub(crate) const TAG_LEN: usize = 16;

/// `LabeledExtract(salt, label, ikm)` (§4): HKDF-Extract over `"HPKE-v1" || suite_id || label || ikm`.
fn labeled_extract(suite: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> [u8; 32] {
    // An empty salt is HashLen zero bytes (RFC 5869 §2.2); HMAC pads its key with zeros, so the
    // two are the same key.
    let mut extract = HkdfExtract::<Sha256>::new(Some(salt));
    for part in [b"HPKE-v1".as_slice(), suite, label, ikm] {
        extract.input_ikm(part);
    }
    extract.finalize().0.into()
}

/// `LabeledExpand(prk, label, info, L)` (§4): HKDF-Expand with the info
/// `I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info`, `L = out.len()`.
fn labeled_expand(suite: &[u8], prk: &[u8; 32], label: &[u8], info: &[u8], out: &mut [u8]) {
    let len = (out.len() as u16).to_be_bytes();
    // Both cannot fail: the PRK is one hash long, and every output here is at most 32 bytes
    // (HKDF allows 255 × 32).
    Hkdf::<Sha256>::from_prk(prk)
        .expect("a PRK of HashLen bytes")
        .expand_multi_info(&[&len, b"HPKE-v1", suite, label, info], out)
        .expect("an output of at most 255 × HashLen bytes");
}

/// `DeriveKeyPair(ikm)` for X25519 (§7.1.3): the secret key is `LabeledExpand(dkp_prk, "sk", "", 32)`
/// as is (X25519 clamps it when it is used), the public key its X25519 public key.
pub(crate) fn derive_key_pair(ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let dkp_prk = labeled_extract(KEM_SUITE, b"", b"dkp_prk", ikm);
    let mut sk = [0u8; 32];
    labeled_expand(KEM_SUITE, &dkp_prk, b"sk", b"", &mut sk);
    let pk = PublicKey::from(&StaticSecret::from(sk)).to_bytes();
    (sk, pk)
}

/// `DH(sk, pk)`, or `None` for the all-zero output, which §7.1.4 requires X25519 users to reject
/// (`pk` is a point of small order).
fn dh(sk: &[u8; 32], pk: &[u8; 32]) -> Option<[u8; 32]> {
    let shared = StaticSecret::from(*sk).diffie_hellman(&PublicKey::from(*pk));
    shared.was_contributory().then(|| shared.to_bytes())
}

/// Whether a DH with `pk` can give anything but zeros: false exactly for the points of small order
/// (a clamped scalar is a multiple of 8, so any fixed one tells).
pub(crate) fn usable_public_key(pk: &[u8; 32]) -> bool {
    dh(&[0x5a; 32], pk).is_some()
}

/// `ExtractAndExpand(dh, kem_context)` (§4.1), `kem_context = enc || pkRm`.
fn extract_and_expand(dh: &[u8; 32], enc: &[u8; 32], pk_r: &[u8; 32]) -> [u8; 32] {
    let eae_prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh);
    let mut kem_context = [0u8; 64];
    kem_context[..32].copy_from_slice(enc);
    kem_context[32..].copy_from_slice(pk_r);
    let mut shared_secret = [0u8; 32];
    labeled_expand(KEM_SUITE, &eae_prk, b"shared_secret", &kem_context, &mut shared_secret);
    shared_secret
}

/// `Encap(pkR)` (§4.1) with the ephemeral key pair `DeriveKeyPair(ikm_e)`: `(shared_secret, enc)`.
/// [`Error::InvalidKey`] when `pk_r` gives the all-zero DH output.
pub(crate) fn encap(pk_r: &[u8; 32], ikm_e: &[u8]) -> Result<([u8; 32], [u8; 32]), Error> {
    let (sk_e, enc) = derive_key_pair(ikm_e);
    let dh = dh(&sk_e, pk_r).ok_or(Error::InvalidKey)?;
    Ok((extract_and_expand(&dh, &enc, pk_r), enc))
}

/// `Decap(enc, skR)` (§4.1): the shared secret. `None` when `enc` gives the all-zero DH output.
pub(crate) fn decap(enc: &[u8; 32], sk_r: &[u8; 32]) -> Option<[u8; 32]> {
    let pk_r = PublicKey::from(&StaticSecret::from(*sk_r)).to_bytes();
    let dh = dh(sk_r, enc)?;
    Some(extract_and_expand(&dh, enc, &pk_r))
}

/// What `KeySchedule` (§5.1) derives in base mode (no PSK), intermediate values included for the
/// test vectors. No `Debug`: it holds the message key.
pub(crate) struct Schedule {
    /// `key_schedule_context = mode || psk_id_hash || info_hash` (read by the vector tests only).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) context: [u8; 65],
    /// `secret = LabeledExtract(shared_secret, "secret", psk)` (read by the vector tests only).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) secret: [u8; 32],
    /// The AEAD key (`Nk` = 16).
    pub(crate) key: [u8; 16],
    /// The base nonce (`Nn` = 12), which is the nonce of sequence number 0.
    pub(crate) base_nonce: [u8; 12],
}

/// `KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "")` (§5.1).
pub(crate) fn key_schedule(shared_secret: &[u8; 32], info: &[u8]) -> Schedule {
    let psk_id_hash = labeled_extract(HPKE_SUITE, b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(HPKE_SUITE, b"", b"info_hash", info);
    let mut context = [0u8; 65];
    context[0] = MODE_BASE;
    context[1..33].copy_from_slice(&psk_id_hash);
    context[33..].copy_from_slice(&info_hash);
    let secret = labeled_extract(HPKE_SUITE, shared_secret, b"secret", b"");
    let mut key = [0u8; 16];
    labeled_expand(HPKE_SUITE, &secret, b"key", &context, &mut key);
    let mut base_nonce = [0u8; 12];
    labeled_expand(HPKE_SUITE, &secret, b"base_nonce", &context, &mut base_nonce);
    Schedule { context, secret, key, base_nonce }
}

/// `ContextS.Seal(aad, pt)` with sequence number 0 (§5.2): the nonce is `base_nonce` itself.
pub(crate) fn aead_seal(schedule: &Schedule, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
    Aes128Gcm::new(&schedule.key.into())
        .encrypt(Nonce::from_slice(&schedule.base_nonce), Payload { msg: plaintext, aad })
        // Only a plaintext over 64 GiB is refused.
        .map_err(|_| Error::InvalidEnvelope)
}

/// `ContextR.Open(aad, ct)` with sequence number 0 (§5.2).
pub(crate) fn aead_open(schedule: &Schedule, aad: &[u8], ct: &[u8]) -> Result<Vec<u8>, Error> {
    Aes128Gcm::new(&schedule.key.into())
        .decrypt(Nonce::from_slice(&schedule.base_nonce), Payload { msg: ct, aad })
        .map_err(|_| Error::OpenFailed)
}

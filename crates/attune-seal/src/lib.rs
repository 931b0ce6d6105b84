//! # attune-seal
//!
//! The sealed intake inbox's cryptography (`docs/inbox.md`): a patient's browser seals a completed
//! response to the clinic's public key, the server stores what it cannot read, and clinic staff
//! open it in their own browser (WebCrypto, `crates/attune-wasm/js/hpke.js`).
//!
//! HPKE (RFC 9180) base mode, single-shot, with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
//! AES-128-GCM; `info` is [`INFO`], `aad` is [`aad`]`(inbox, key)`.
//!
//! No I/O and no randomness: the caller supplies `ikm_e`, 32 bytes from a CSPRNG
//! (`crypto.getRandomValues` in the browser), and the ephemeral key pair is
//! `DeriveKeyPair(ikm_e)` (RFC 9180 §7.1.3), which is how the RFC's test vectors give it, so the
//! vectors exercise the production path. Nothing here panics on any input.

mod b64;
mod hpke;

pub use b64::{b64url, from_b64url};

use sha2::{Digest, Sha256};

/// HPKE `info` of every inbox seal: the UTF-8 bytes of `attune-inbox v1`.
pub const INFO: &[u8] = b"attune-inbox v1";

/// Why something could not be sealed or opened. [`Error::code`] gives the stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The public key is not 32 bytes of base64url, or is a point X25519 must refuse (its DH
    /// output is all zeros).
    #[error("not an X25519 public key: 32 bytes, base64url")]
    InvalidKey,
    /// The key does not have the fingerprint the caller expects (the inbox's key changed, or the
    /// page names another inbox's key), or an envelope names another key.
    #[error("the inbox's key does not have the fingerprint this page expects; nothing was sealed")]
    KeyMismatch,
    /// A text that should be base64url without padding is not.
    #[error("not base64url without padding")]
    InvalidEncoding,
    /// An envelope field has the wrong length (`enc` is 32 bytes, `ct` at least the 16-byte tag).
    #[error("not a sealed envelope: `enc` must be 32 bytes and `ct` at least 16")]
    InvalidEnvelope,
    /// Authentication failed.
    #[error(
        "the sealed response could not be opened: it was altered, or sealed to another key or for another submission"
    )]
    OpenFailed,
}

impl Error {
    /// The stable, machine-readable code: `invalid_key`, `key_mismatch`, `invalid_encoding`,
    /// `invalid_envelope` or `open_failed`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidKey => "invalid_key",
            Error::KeyMismatch => "key_mismatch",
            Error::InvalidEncoding => "invalid_encoding",
            Error::InvalidEnvelope => "invalid_envelope",
            Error::OpenFailed => "open_failed",
        }
    }
}

/// A sealed message: the encapsulated key and the AEAD output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// `enc`: the ephemeral public key (32 bytes).
    pub enc: [u8; 32],
    /// `ct`: the ciphertext followed by the 16-byte tag.
    pub ct: Vec<u8>,
}

/// HPKE `aad` of a submission: the UTF-8 bytes of `<inbox>/<key>`, so that a sealed response opens
/// only as the submission, in the inbox, it was sealed for.
pub fn aad(inbox: &str, key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(inbox.len() + 1 + key.len());
    aad.extend_from_slice(inbox.as_bytes());
    aad.push(b'/');
    aad.extend_from_slice(key.as_bytes());
    aad
}

/// `DeriveKeyPair(ikm)` (RFC 9180 §7.1.3): `(secret key, public key)`, raw X25519 bytes. The
/// secret key is not clamped (X25519 clamps it when it is used).
pub fn derive_key_pair(ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    hpke::derive_key_pair(ikm)
}

/// Seals `plaintext` to `public_key` (HPKE base mode, single-shot), the ephemeral key pair being
/// `DeriveKeyPair(ikm_e)`. `ikm_e` must be fresh CSPRNG output for every message: the same `ikm_e`
/// twice seals two messages under the same key and nonce. [`Error::InvalidKey`] for a public key
/// of small order.
pub fn seal(
    public_key: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    ikm_e: &[u8; 32],
) -> Result<Sealed, Error> {
    let (shared_secret, enc) = hpke::encap(public_key, ikm_e)?;
    let schedule = hpke::key_schedule(&shared_secret, info);
    let ct = hpke::aead_seal(&schedule, aad, plaintext)?;
    Ok(Sealed { enc, ct })
}

/// Opens what [`seal`] sealed to the public key of `secret_key`, with the same `info` and `aad`.
/// [`Error::InvalidEnvelope`] when `enc` is not 32 bytes or `ct` is shorter than a tag;
/// [`Error::OpenFailed`] when anything was altered, or it was sealed to another key or with other
/// `info` or `aad` (and for an `enc` of small order).
pub fn open(secret_key: &[u8; 32], enc: &[u8], info: &[u8], aad: &[u8], ct: &[u8]) -> Result<Vec<u8>, Error> {
    let enc: &[u8; 32] = enc.try_into().map_err(|_| Error::InvalidEnvelope)?;
    if ct.len() < hpke::TAG_LEN {
        return Err(Error::InvalidEnvelope);
    }
    let shared_secret = hpke::decap(enc, secret_key).ok_or(Error::OpenFailed)?;
    let schedule = hpke::key_schedule(&shared_secret, info);
    hpke::aead_open(&schedule, aad, ct)
}

/// The fingerprint of a public key: `sha256:` and the base64url (no padding) of the SHA-256 of
/// its 32 raw bytes.
pub fn fingerprint(public_key: &[u8; 32]) -> String {
    format!("sha256:{}", b64url(&Sha256::digest(public_key)))
}

/// A public key from its base64url text (43 characters). [`Error::InvalidKey`] for anything that
/// is not 32 bytes of base64url, and for a point of small order (all zeros among them), to which
/// nothing could ever be sealed (every DH with it is all zeros, RFC 9180 §7.1.4).
pub fn public_key_from_b64(s: &str) -> Result<[u8; 32], Error> {
    let key: [u8; 32] = from_b64url(s).ok().and_then(|bytes| bytes.try_into().ok()).ok_or(Error::InvalidKey)?;
    hpke::usable_public_key(&key).then_some(key).ok_or(Error::InvalidKey)
}

/// Seals a submission for an inbox and returns the envelope's JSON text,
/// `{"v":1,"key":"sha256:…","enc":"…","ct":"…"}`.
///
/// The key (`public_key_b64`, as the server gives it) is used only if its fingerprint is
/// `expected_fingerprint` (what the clinic gave the page): [`Error::InvalidKey`] if it is not a
/// key, [`Error::KeyMismatch`] if it is another key. `info` is [`INFO`], `aad` is
/// [`aad`]`(inbox, key)`; `ikm_e` as for [`seal`].
pub fn seal_envelope(
    public_key_b64: &str,
    expected_fingerprint: &str,
    inbox: &str,
    key: &str,
    plaintext: &[u8],
    ikm_e: &[u8; 32],
) -> Result<String, Error> {
    let public_key = public_key_from_b64(public_key_b64)?;
    let fp = fingerprint(&public_key);
    if fp != expected_fingerprint {
        return Err(Error::KeyMismatch);
    }
    let sealed = seal(&public_key, INFO, &aad(inbox, key), plaintext, ikm_e)?;
    // Every value is base64url or `sha256:` and base64url: nothing to escape.
    Ok(format!(r#"{{"v":1,"key":"{fp}","enc":"{}","ct":"{}"}}"#, b64url(&sealed.enc), b64url(&sealed.ct)))
}

/// Opens the fields of an envelope stored for submission `key` of `inbox`, with the clinic's key
/// pair. [`Error::KeyMismatch`] when `fingerprint_field` (the envelope's `key`) is not the
/// fingerprint of `public_key`; [`Error::InvalidEncoding`] when `enc` or `ct` is not base64url;
/// then as [`open`].
pub fn open_envelope(
    secret_key: &[u8; 32],
    public_key: &[u8; 32],
    inbox: &str,
    key: &str,
    fingerprint_field: &str,
    enc_b64: &str,
    ct_b64: &str,
) -> Result<Vec<u8>, Error> {
    if fingerprint_field != fingerprint(public_key) {
        return Err(Error::KeyMismatch);
    }
    let enc = from_b64url(enc_b64)?;
    let ct = from_b64url(ct_b64)?;
    open(secret_key, &enc, INFO, &aad(inbox, key), &ct)
}

#[cfg(test)]
mod tests;

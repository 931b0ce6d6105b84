//! Base64url without padding (RFC 4648 §5), strict: the decoder accepts exactly the texts the
//! encoder writes, so one byte sequence has one spelling (no padding, no whitespace, no other
//! alphabet, no stray bits in the last character).

use crate::Error;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The base64url text of `bytes`, without padding.
pub fn b64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // One input byte gives two characters, two give three, three give four.
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The value (0..64) of one base64url character.
fn value(c: u8) -> Result<u32, Error> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return Err(Error::InvalidEncoding),
    };
    Ok(u32::from(v))
}

/// The bytes of a base64url text without padding. [`Error::InvalidEncoding`] for any character
/// outside the alphabet (padding included), a length no encoding has (4n + 1), or a last character
/// with bits set beyond the encoded bytes.
pub fn from_b64url(s: &str) -> Result<Vec<u8>, Error> {
    let s = s.as_bytes();
    if s.len() % 4 == 1 {
        return Err(Error::InvalidEncoding);
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Two characters carry one byte, three carry two, four carry three.
        let len = chunk.len() - 1;
        // Non-canonical: the unused low bits of the last character must be zero.
        if len < 3 && bytes[len] != 0 {
            return Err(Error::InvalidEncoding);
        }
        out.extend_from_slice(&bytes[..len]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_vectors() {
        // RFC 4648 §10, in the url-safe alphabet and without padding.
        for (plain, text) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64url(plain.as_bytes()), text);
            assert_eq!(from_b64url(text).expect("valid"), plain.as_bytes());
        }
    }

    #[test]
    fn url_safe_alphabet() {
        assert_eq!(b64url(&[0xfb, 0xff, 0xbf]), "-_-_");
        assert_eq!(from_b64url("-_-_").expect("valid"), [0xfb, 0xff, 0xbf]);
    }

    #[test]
    fn round_trip_every_length_and_byte() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        for len in 0..bytes.len() {
            let text = b64url(&bytes[..len]);
            assert!(!text.contains('='));
            assert_eq!(from_b64url(&text).expect("round trip"), &bytes[..len]);
        }
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "Zg==",  // padding
            "Zm9v+", // standard alphabet
            "Zm9v/A", "Zm 9v", // whitespace
            "Zm9v\n", "Z",      // impossible length
            "Zm9vY",  // impossible length
            "Zh",     // "f" with a stray bit in the last character
            "Zm9",    // "fo" with stray bits
            "Zm9vYh", // "foob" with stray bits
            "Zm9é",   // not ASCII
        ] {
            assert_eq!(from_b64url(bad), Err(Error::InvalidEncoding), "{bad:?}");
        }
    }
}

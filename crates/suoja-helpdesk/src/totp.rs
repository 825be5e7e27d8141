//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1, 30-second steps, six
//! digits, one step of clock drift either way; and the base32 form authenticator apps take.

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha1::Sha1;
use suoja_core::Timestamp;

const STEP_SECS: i64 = 30;

/// The six-digit code of `secret` at time step `step`.
pub fn code_at(secret: &[u8], step: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 §5.3): the low nibble of the last byte picks four bytes.
    let off = usize::from(h.last().copied().unwrap_or(0) & 0x0f);
    let Some(&[a, b, c, d]) = h.get(off..off + 4).and_then(|s| <&[u8; 4]>::try_from(s).ok()) else {
        return String::new();
    };
    let bin = u32::from_be_bytes([a & 0x7f, b, c, d]);
    format!("{:06}", bin % 1_000_000)
}

/// The time step of `now`.
pub fn step_of(now: Timestamp) -> i64 {
    now.0.div_euclid(1000) / STEP_SECS
}

/// The step whose code `code` is (now, or one step before or after), if any. Spaces in the
/// code are ignored; the comparison does not stop at the first differing digit.
pub fn matching_step(secret: &[u8], code: &str, now: Timestamp) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(now);
    let mut found = None;
    for step in [now - 1, now, now + 1] {
        let expected = code_at(secret, step);
        let diff = expected.bytes().zip(code.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff == 0 && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // Five bits name one of the 32 letters.
    let letter = |five: u32| char::from(usize::try_from(five).ok().and_then(|i| ALPHABET.get(i)).copied().unwrap_or(b'A'));
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(letter((buf >> bits) & 31));
        }
    }
    if bits > 0 {
        out.push(letter((buf << (5 - bits)) & 31));
    }
    out
}

/// Decodes base32 (case-insensitive, spaces ignored); `None` on a foreign character.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buf >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 key, last six digits.
        let key = b"12345678901234567890";
        assert_eq!(code_at(key, 59 / 30), "287082");
        assert_eq!(code_at(key, 1_111_111_109 / 30), "081804");
        assert_eq!(code_at(key, 1_234_567_890 / 30), "005924");
        assert_eq!(code_at(key, 2_000_000_000 / 30), "279037");
    }

    #[test]
    fn drift_of_one_step_is_accepted_and_two_is_not() {
        let key = b"12345678901234567890";
        let now = Timestamp(1_111_111_109_000);
        let step = step_of(now);
        assert_eq!(matching_step(key, &code_at(key, step), now), Some(step));
        assert_eq!(matching_step(key, &code_at(key, step - 1), now), Some(step - 1));
        assert_eq!(matching_step(key, &code_at(key, step + 1), now), Some(step + 1));
        assert_eq!(matching_step(key, &code_at(key, step - 2), now), None);
        assert_eq!(matching_step(key, "12345", now), None);
        assert_eq!(matching_step(key, "abcdef", now), None);
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        for n in 0..25 {
            let bytes: Vec<u8> = (0..n).map(|i| u8::try_from((i * 37 + 11) % 256).unwrap()).collect();
            assert_eq!(from_base32(&base32(&bytes)), Some(bytes));
        }
        assert_eq!(from_base32("mzxw 6ytb oi"), Some(b"foobar".to_vec()));
        assert_eq!(from_base32("MZ1"), None);
    }
}

//! Randomness from the operating system, for keys, tokens and job ids; and comparing secrets
//! without timing leaks.

/// Fills a fixed-size array with OS randomness.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS generator failing is unrecoverable; fall back to a loud abort rather than weak keys.
    if getrandom::fill(&mut buf).is_err() {
        std::process::abort();
    }
    buf
}

/// A URL-safe random token of `N` random bytes.
pub fn token<const N: usize>() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes::<N>())
}

/// 32 lower-case hex characters (the shape of a Zendesk job status id).
pub fn hex_id() -> String {
    hex::encode(bytes::<16>())
}

/// Whether two byte strings are equal, in time that depends on their lengths only (not on
/// where they first differ): for comparing secrets a caller sent with stored ones.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

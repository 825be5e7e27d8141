//! Conversions between number types that cannot fail: counts and sizes between `usize` (what
//! Rust measures in) and `i64` (what the databases store), and floating-point figures to
//! integers, each saturating at the target's bounds instead of wrapping. The workspace forbids
//! lossy `as` casts; these are the one place that says what happens at the edges.

/// A count or length as the databases store it (saturates at `i64::MAX`).
pub fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored count, limit or offset as a length: negative is 0, too large saturates.
pub fn to_usize(n: i64) -> usize {
    usize::try_from(n.max(0)).unwrap_or(usize::MAX)
}

/// A `u64` as a length (saturates on targets whose `usize` is narrower).
pub fn u64_to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A floating-point figure rounded down to a whole non-negative number: NaN and negatives are
/// 0, values past the range saturate.
pub fn floor_u64(x: f64) -> u64 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "Rust's float-to-integer cast saturates and maps NaN to 0, which is what this promises"
    )]
    let n = x.floor() as u64;
    n
}

/// [`floor_u64`] as a length.
pub fn floor_usize(x: f64) -> usize {
    u64_to_usize(floor_u64(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_saturate() {
        assert_eq!(to_i64(usize::MAX), i64::MAX);
        assert_eq!(to_i64(7), 7);
        assert_eq!(to_usize(-5), 0);
        assert_eq!(to_usize(12), 12);
        assert_eq!(floor_u64(f64::NAN), 0);
        assert_eq!(floor_u64(-3.5), 0);
        assert_eq!(floor_u64(2.9), 2);
        assert_eq!(floor_u64(1e30), u64::MAX);
        assert_eq!(floor_usize(4.2), 4);
    }
}

//! Numbers out of range, refused as `serde_json` refuses them.

use std::sync::OnceLock;

/// Whether `serde_json` (without `float_roundtrip`) reads the number finite: it keeps the
/// digits that fit a u64 as the significand and counts the rest into the exponent, then
/// multiplies by its table of powers of ten. Integers without fraction or exponent always are
/// (at most 40 characters).
#[inline] // called from the scanner's loop, in another module
pub(super) fn in_range(
    b: &[u8],
    int: (usize, usize),
    frac: (usize, usize),
    exp_at: Option<usize>,
    end: usize,
) -> bool {
    let mut significand: u64 = 0;
    let mut exponent: i32 = 0;
    // Integer digits past a full significand only count into the exponent.
    let mut long = false;
    for &c in &b[int.0..int.1] {
        let d = u64::from(c - b'0');
        if long || overflows(significand, d) {
            long = true;
            exponent += 1;
        } else {
            significand = significand * 10 + d;
        }
    }
    // Fraction digits are kept until one would overflow; the rest are ignored.
    for &c in &b[frac.0..frac.1] {
        let d = u64::from(c - b'0');
        if overflows(significand, d) {
            break;
        }
        significand = significand * 10 + d;
        exponent -= 1;
    }
    if let Some(at) = exp_at {
        let (positive, digits) = match b[at] {
            b'-' => (false, &b[at + 1..end]),
            b'+' => (true, &b[at + 1..end]),
            _ => (true, &b[at..end]),
        };
        let mut e: i32 = 0;
        for &c in digits {
            let d = i32::from(c - b'0');
            if e >= i32::MAX / 10 && (e > i32::MAX / 10 || d > i32::MAX % 10) {
                // serde_json: out of range unless the significand is zero or it is negative
                return significand == 0 || !positive;
            }
            e = e * 10 + d;
        }
        exponent = if positive {
            exponent.saturating_add(e)
        } else {
            exponent.saturating_sub(e)
        };
    }
    finite(significand, exponent)
}

/// serde_json's overflow test for `significand * 10 + d`.
fn overflows(significand: u64, d: u64) -> bool {
    significand >= u64::MAX / 10 && (significand > u64::MAX / 10 || d > u64::MAX % 10)
}

/// serde_json's `f64_from_parts`, reduced to whether the result is finite.
fn finite(significand: u64, exponent: i32) -> bool {
    if significand == 0 || exponent < 0 {
        return true;
    }
    let Some(pow) = powers_of_ten().get(exponent.unsigned_abs() as usize) else {
        return false;
    };
    #[allow(clippy::cast_precision_loss)] // as serde_json does
    let f = significand as f64;
    (f * pow).is_finite()
}

/// 1e0 to 1e308, each the nearest f64 (as the literals of serde_json's table are).
fn powers_of_ten() -> &'static [f64; 309] {
    static TABLE: OnceLock<[f64; 309]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0.0; 309];
        for (i, p) in t.iter_mut().enumerate() {
            *p = format!("1e{i}").parse().unwrap_or(f64::INFINITY);
        }
        t
    })
}

//! Strings after the scan: escapes resolved, names compared.

use std::borrow::Cow;

/// Objects up to this many members are checked for duplicates pair by pair, larger ones
/// by sorting their names (pairs are cheaper than a sort for the small objects we issue).
const PAIRWISE_MEMBERS: usize = 8;

#[inline] // called from the scanner's loop, in another module
pub(super) fn hex4(digits: &[u8]) -> Option<u16> {
    digits.iter().try_fold(0u16, |n, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        Some(n << 4 | u16::from(d))
    })
}

/// The text of a string the scanner accepted, escapes resolved.
#[inline]
pub(super) fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let b = rest.as_bytes();
        let (c, used) = match b.get(at + 1) {
            Some(b'b') => ('\u{8}', 2),
            Some(b'f') => ('\u{c}', 2),
            Some(b'n') => ('\n', 2),
            Some(b'r') => ('\r', 2),
            Some(b't') => ('\t', 2),
            Some(b'u') => {
                let hi = b.get(at + 2..at + 6).and_then(hex4).unwrap_or(0xFFFD);
                match hi {
                    0xD800..=0xDBFF => {
                        let lo = b.get(at + 8..at + 12).and_then(hex4).unwrap_or(0xDC00);
                        let c = 0x1_0000
                            + ((u32::from(hi) - 0xD800) << 10)
                            + (u32::from(lo).saturating_sub(0xDC00));
                        (char::from_u32(c).unwrap_or('\u{FFFD}'), 12)
                    }
                    _ => (char::from_u32(u32::from(hi)).unwrap_or('\u{FFFD}'), 6),
                }
            }
            Some(&c) => (char::from(c), 2),
            None => ('\\', 1),
        };
        out.push(c);
        rest = rest.get(at + used..).unwrap_or_default();
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whether any name appears twice: pair by pair for small objects, by sorting for large.
#[inline]
pub(super) fn has_duplicates(names: &[Cow<'_, str>]) -> bool {
    if names.len() <= PAIRWISE_MEMBERS {
        return names
            .iter()
            .enumerate()
            .any(|(i, a)| names[i + 1..].iter().any(|b| a == b));
    }
    let mut sorted: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

//! QR payloads for counters: a prefix naming the format and version, then the token.
//! Decoding needs no network.

/// Prefix of a New Chongqing Talent Card QR payload, version 1.
pub const OWN_QR_PREFIX: &str = "NCTC1:";

/// Longest format label before the ':' (a profile's `qr_prefix` is 1 to 16 letters or digits).
const MAX_LABEL: usize = 16;

/// The token inside a QR payload, or the input itself when it is a bare token. Every
/// profile's prefix is a label of letters and digits then ':', and a compact JWS never holds
/// a ':', so any such label is stripped: a profile from `profiles_dir` or a partner's bundle
/// needs no list compiled in here. The signature, not the label, says whose card it is.
#[inline]
pub fn strip_qr_prefix(credential: &str) -> &str {
    let c = credential.trim();
    let label = c
        .bytes()
        .take(MAX_LABEL + 1)
        .position(|b| !b.is_ascii_alphanumeric())
        .filter(|&n| n > 0 && c.as_bytes()[n] == b':');
    match label {
        Some(n) => &c[n + 1..],
        None => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_stripped() {
        assert_eq!(strip_qr_prefix("NCTC1:a.b.c"), "a.b.c");
        assert_eq!(strip_qr_prefix(" a.b.c\n"), "a.b.c");
        assert_eq!(strip_qr_prefix("KJC1:a.b.c"), "a.b.c");
        assert_eq!(strip_qr_prefix("TFRC1:a.b.c"), "a.b.c");
        // Not a label: too long, empty, or not only letters and digits.
        assert_eq!(
            strip_qr_prefix("ABCDEFGHIJKLMNOPQ:a"),
            "ABCDEFGHIJKLMNOPQ:a"
        );
        assert_eq!(strip_qr_prefix(":a.b.c"), ":a.b.c");
        assert_eq!(strip_qr_prefix("a.b:c"), "a.b:c");
        assert_eq!(
            strip_qr_prefix("eyJhbGciOiJFZERTQSJ9.x.y"),
            "eyJhbGciOiJFZERTQSJ9.x.y"
        );
    }
}

//! QR payloads for counters: a prefix naming the format and version, then the token.
//! Decoding needs no network.

/// Prefix of a New Chongqing Talent Card QR payload, version 1.
pub const OWN_QR_PREFIX: &str = "NCTC1:";

/// Known payload prefixes (ours and the partner's); anything else is taken as a bare token.
const PREFIXES: [&str; 2] = [OWN_QR_PREFIX, "KJC1:"];

/// The token inside a QR payload, or the input itself when it is a bare token.
pub fn strip_qr_prefix(credential: &str) -> &str {
    let c = credential.trim();
    PREFIXES.iter().find_map(|p| c.strip_prefix(p)).unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_stripped() {
        assert_eq!(strip_qr_prefix("NCTC1:a.b.c"), "a.b.c");
        assert_eq!(strip_qr_prefix(" a.b.c\n"), "a.b.c");
    }
}

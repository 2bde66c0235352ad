//! JWS compact serialisation (RFC 7515), just what our profiles need, with borrowed parts so
//! the verify path copies nothing it does not have to.
//!
//! Hand-written: jsonwebtoken reads headers with serde (a repeated member's last value wins,
//! no caps), so the strict, linear pre-signature reading stays here; it signs and checks.

use super::json_scan::{self, Member, Scanned};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::borrow::Cow;

/// Credentials larger than this are MALFORMED before any parsing (DESIGN.md).
pub const MAX_CREDENTIAL_BYTES: usize = 8 * 1024;

/// base64url without padding.
pub fn b64(data: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url without padding; padding or other alphabets are refused.
pub fn b64_decode(s: &str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| JwsError::Malformed("bad base64url"))
}

/// Why a compact JWS could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Structure, encoding or JSON is wrong.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
}

/// The protected header fields the gateway looks at, borrowed from the decoded header where
/// no escapes forced a copy. The header is scanned strictly (see `json_scan`); the
/// dangerous fields are noted so that their mere presence can be refused.
#[derive(Debug)]
pub struct Header<'a> {
    /// Signature algorithm.
    pub alg: Cow<'a, str>,
    /// Key id.
    pub kid: Option<Cow<'a, str>>,
    /// Media type of the token.
    pub typ: Option<Cow<'a, str>>,
    /// `crit`, `jku`, `x5u`, `jwk` or `x5c` is present (and not null).
    unsupported: bool,
}

impl<'a> Header<'a> {
    /// Reads the header fields from a scanned header, as a serde struct of `alg: String`,
    /// `kid`/`typ: Option<String>` and the dangerous fields as `Option<Value>` would.
    fn read(scanned: &Scanned<'a>) -> Option<Self> {
        let optional = |name: &str| match scanned.member(name) {
            None | Some(Member::Null) => Some(None),
            Some(Member::Str(s)) => Some(Some(s)),
            Some(Member::Other) => None,
        };
        Some(Self {
            alg: scanned.str("alg")?,
            kid: optional("kid")?,
            typ: optional("typ")?,
            unsupported: ["crit", "jku", "x5u", "jwk", "x5c"]
                .iter()
                .any(|name| !matches!(scanned.member(name), None | Some(Member::Null))),
        })
    }

    /// True when the header asks for something the gateway refuses to do.
    #[inline]
    pub fn has_unsupported_fields(&self) -> bool {
        self.unsupported
    }
}

/// A compact JWS split into its parts; the header is parsed, the payload only decoded. The
/// decoded parts live in a buffer the caller provides (see [`CompactJws::buffer_len`]), so
/// that the verify path can keep them on its stack.
#[derive(Debug)]
pub struct CompactJws<'a> {
    /// The protected header.
    pub header: Header<'a>,
    /// The decoded payload bytes (JSON for our profiles).
    pub payload: &'a [u8],
    /// The raw signature bytes.
    pub signature: &'a [u8],
    /// The signature part as it came (base64url), what jsonwebtoken checks.
    pub signature_b64: &'a str,
    /// `BASE64URL(header) . BASE64URL(payload)`, the bytes that were signed.
    pub signing_input: &'a str,
}

/// Room base64url-decoding `encoded` may take (an upper bound).
fn decoded_room(encoded: &str) -> usize {
    encoded.len().div_ceil(4) * 3
}

fn decode_into<'b>(encoded: &str, room: &'b mut [u8]) -> Result<&'b [u8], JwsError> {
    let n = URL_SAFE_NO_PAD
        .decode_slice(encoded, room)
        .map_err(|_| JwsError::Malformed("bad base64url"))?;
    Ok(&room[..n])
}

impl<'a> CompactJws<'a> {
    /// How large a buffer [`CompactJws::parse`] needs for `token`.
    #[inline]
    pub fn buffer_len(token: &str) -> usize {
        token.len().div_ceil(4) * 3 + 9
    }

    /// Splits and decodes a token into `buffer`, which must hold at least
    /// [`CompactJws::buffer_len`] bytes. Does not verify anything.
    pub fn parse(token: &'a str, buffer: &'a mut [u8]) -> Result<Self, JwsError> {
        if token.len() > MAX_CREDENTIAL_BYTES {
            return Err(JwsError::Malformed("credential too large"));
        }
        let mut parts = token.splitn(4, '.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed("a compact JWS has three parts"));
        };
        let (hroom, rest) = buffer.split_at_mut(decoded_room(h).min(buffer.len()));
        let (proom, rest) = rest.split_at_mut(decoded_room(p).min(rest.len()));
        let n = decoded_room(s).min(rest.len());
        let sroom = &mut rest[..n];
        let header_bytes = decode_into(h, hroom)?;
        let scanned =
            json_scan::scan(header_bytes).map_err(|e| JwsError::Malformed(e.in_header()))?;
        let header = Header::read(&scanned)
            .ok_or(JwsError::Malformed("header is not a JSON object with alg"))?;
        let payload = decode_into(p, proom)?;
        let signature = decode_into(s, sroom)?;
        Ok(Self {
            header,
            payload,
            signature,
            signature_b64: s,
            signing_input: &token[..h.len() + 1 + p.len()],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::sign_compact;
    use ed25519_dalek::SigningKey;

    #[test]
    fn a_signed_token_splits_back() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let t = sign_compact(
            &serde_json::json!({"alg": "EdDSA", "kid": "k"}),
            br#"{"a":1}"#,
            &key,
        );
        let mut buf = vec![0; CompactJws::buffer_len(&t)];
        let jws = CompactJws::parse(&t, &mut buf).expect("parses");
        assert_eq!(jws.header.alg, "EdDSA");
        assert_eq!(jws.payload, br#"{"a":1}"#);
        assert_eq!(jws.signature.len(), 64);
        assert!(t.starts_with(jws.signing_input));
    }

    #[test]
    fn garbage_is_malformed() {
        let mut buf = vec![0; 3 * MAX_CREDENTIAL_BYTES];
        for t in ["", "a.b", "a.b.c.d", "not a token at all", "e30.e30.!!"] {
            assert!(CompactJws::parse(t, &mut buf).is_err(), "{t}");
        }
        let big = "a".repeat(MAX_CREDENTIAL_BYTES + 1);
        assert!(CompactJws::parse(&big, &mut buf).is_err());
    }

    #[test]
    fn a_hostile_signature_part_is_refused_by_its_shape_or_its_length() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let t = sign_compact(&serde_json::json!({"alg": "EdDSA"}), br#"{"a":1}"#, &key);
        let long = MAX_CREDENTIAL_BYTES - t.len();
        let mut buf = vec![0; 3 * MAX_CREDENTIAL_BYTES];
        // Not base64url without padding, or not three parts: refused before any key is chosen.
        for (what, tail) in [
            ("padding", "=".repeat(long)),
            ("whitespace", " \t\r\n".repeat(long / 4)),
            ("dots", ".A".repeat(long / 2)),
            ("standard alphabet", "+/".repeat(long / 2)),
            ("outside any alphabet", "!é".repeat(long / 3)),
        ] {
            let hostile = format!("{t}{tail}");
            assert!(hostile.len() <= MAX_CREDENTIAL_BYTES, "{what}");
            assert!(CompactJws::parse(&hostile, &mut buf).is_err(), "{what}");
        }
        // Over-long but well-formed: it parses, and no Ed25519 signature is that long.
        let over = format!("{t}{}", "A".repeat(long / 4 * 4));
        let jws = CompactJws::parse(&over, &mut buf).expect("well-formed");
        assert!(jws.signature.len() > 64);
    }
}

//! JWS compact serialisation (RFC 7515), just what our profiles need, with borrowed parts so
//! the verify path copies nothing it does not have to.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use serde::Deserialize;

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

/// The protected header fields the gateway looks at. Unknown fields are kept out of the way,
/// but the dangerous ones are named so that their mere presence can be refused.
#[derive(Debug, Deserialize)]
pub struct Header {
    /// Signature algorithm.
    pub alg: String,
    /// Key id.
    pub kid: Option<String>,
    /// Media type of the token.
    pub typ: Option<String>,
    /// Critical extensions: never supported.
    pub crit: Option<serde_json::Value>,
    /// Key URL: never followed.
    pub jku: Option<serde_json::Value>,
    /// Certificate URL: never followed.
    pub x5u: Option<serde_json::Value>,
    /// Embedded key: never trusted.
    pub jwk: Option<serde_json::Value>,
    /// Embedded certificate chain: never trusted.
    pub x5c: Option<serde_json::Value>,
}

impl Header {
    /// True when the header asks for something the gateway refuses to do.
    pub fn has_unsupported_fields(&self) -> bool {
        self.crit.is_some()
            || self.jku.is_some()
            || self.x5u.is_some()
            || self.jwk.is_some()
            || self.x5c.is_some()
    }
}

/// A compact JWS split into its parts; the header is parsed, the payload only decoded.
#[derive(Debug)]
pub struct CompactJws<'a> {
    /// The protected header.
    pub header: Header,
    /// The decoded payload bytes (JSON for our profiles).
    pub payload: Vec<u8>,
    /// The raw signature bytes.
    pub signature: Vec<u8>,
    /// `BASE64URL(header) . BASE64URL(payload)`, the bytes that were signed.
    pub signing_input: &'a str,
}

impl<'a> CompactJws<'a> {
    /// Splits and decodes a token. Does not verify anything.
    pub fn parse(token: &'a str) -> Result<Self, JwsError> {
        if token.len() > MAX_CREDENTIAL_BYTES {
            return Err(JwsError::Malformed("credential too large"));
        }
        let mut parts = token.splitn(4, '.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed("a compact JWS has three parts"));
        };
        let header_bytes = b64_decode(h)?;
        let header: Header = serde_json::from_slice(&header_bytes)
            .map_err(|_| JwsError::Malformed("header is not a JSON object with alg"))?;
        let payload = b64_decode(p)?;
        let signature = b64_decode(s)?;
        Ok(Self {
            header,
            payload,
            signature,
            signing_input: &token[..h.len() + 1 + p.len()],
        })
    }
}

/// Signs `header` and `claims` (both JSON) into a compact JWS with an Ed25519 key.
pub fn sign_compact(header: &serde_json::Value, claims: &[u8], key: &SigningKey) -> String {
    let mut out = b64(header.to_string());
    out.push('.');
    out.push_str(&b64(claims));
    let sig = key.sign(out.as_bytes());
    out.push('.');
    out.push_str(&b64(sig.to_bytes()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_token_splits_back() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let t = sign_compact(
            &serde_json::json!({"alg": "EdDSA", "kid": "k"}),
            br#"{"a":1}"#,
            &key,
        );
        let jws = CompactJws::parse(&t).expect("parses");
        assert_eq!(jws.header.alg, "EdDSA");
        assert_eq!(jws.payload, br#"{"a":1}"#);
        assert_eq!(jws.signature.len(), 64);
        assert!(t.starts_with(jws.signing_input));
    }

    #[test]
    fn garbage_is_malformed() {
        for t in ["", "a.b", "a.b.c.d", "not a token at all", "e30.e30.!!"] {
            assert!(CompactJws::parse(t).is_err(), "{t}");
        }
        assert!(CompactJws::parse(&"a".repeat(MAX_CREDENTIAL_BYTES + 1)).is_err());
    }
}

//! JWS compact serialisation (RFC 7515), just what our profiles need, with borrowed parts so
//! the verify path copies nothing it does not have to.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use serde::Deserialize;
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
/// no escapes forced a copy. Unknown fields are kept out of the way, but the dangerous ones
/// are named so that their mere presence can be refused.
#[derive(Debug, Deserialize)]
pub struct Header<'a> {
    /// Signature algorithm.
    #[serde(borrow)]
    pub alg: Cow<'a, str>,
    /// Key id.
    #[serde(borrow)]
    pub kid: Option<Cow<'a, str>>,
    /// Media type of the token.
    #[serde(borrow)]
    pub typ: Option<Cow<'a, str>>,
    /// Critical extensions: never supported.
    crit: Option<AnyJson>,
    /// Key URL: never followed.
    jku: Option<AnyJson>,
    /// Certificate URL: never followed.
    x5u: Option<AnyJson>,
    /// Embedded key: never trusted.
    jwk: Option<AnyJson>,
    /// Embedded certificate chain: never trusted.
    x5c: Option<AnyJson>,
}

impl Header<'_> {
    /// True when the header asks for something the gateway refuses to do.
    pub fn has_unsupported_fields(&self) -> bool {
        self.crit.is_some()
            || self.jku.is_some()
            || self.x5u.is_some()
            || self.jwk.is_some()
            || self.x5c.is_some()
    }
}

/// Any JSON value, read and checked exactly as `serde_json::Value` would be (numbers in
/// range, strings well-formed), and then dropped: nothing is allocated for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AnyJson;

impl<'de> Deserialize<'de> for AnyJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyJsonVisitor)
    }
}

struct AnyJsonVisitor;

impl<'de> serde::de::Visitor<'de> for AnyJsonVisitor {
    type Value = AnyJson;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_i64<E>(self, _: i64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_u64<E>(self, _: u64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_f64<E>(self, _: f64) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_str<E>(self, _: &str) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_unit<E>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_none<E>(self) -> Result<AnyJson, E> {
        Ok(AnyJson)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<AnyJson, D::Error> {
        AnyJson::deserialize(d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<AnyJson, A::Error> {
        while seq.next_element::<AnyJson>()?.is_some() {}
        Ok(AnyJson)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<AnyJson, A::Error> {
        while map.next_entry::<AnyJson, AnyJson>()?.is_some() {}
        Ok(AnyJson)
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
        let header: Header<'a> = serde_json::from_slice(header_bytes)
            .map_err(|_| JwsError::Malformed("header is not a JSON object with alg"))?;
        let payload = decode_into(p, proom)?;
        let signature = decode_into(s, sroom)?;
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
}

//! Counter tokens: a short-lived bearer credential for a counter's browser, which cannot
//! present a client certificate.
//!
//! HS256 (HMAC-SHA256) rather than the card signing key: only this gateway and its replicas
//! ever check a counter token, so nothing has to be published; a token must not verify
//! anywhere else (partners hold our JWKS) nor ever pass for a card; and a card key rotation
//! must not end the counters' sessions. The key is a random secret of its own, sealed in the
//! database, so every replica accepts every token and rotating the key-encryption key does
//! not end them either; versions before it derived the key from the key-encryption key, and
//! that key still verifies what they issued until it expires.

use super::b64_decode;
use super::jose::{self, Checked};
use hmac::{Mac, SimpleHmac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};

/// The `typ` header of a counter token.
pub const COUNTER_TOKEN_TYPE: &str = "counter+jwt";

/// Longest validity an operator may give a counter token: a shift, not a standing credential.
pub const MAX_COUNTER_TOKEN_HOURS: u32 = 24;

/// Anything longer is refused before any decoding.
const MAX_TOKEN_BYTES: usize = 2048;

/// Separates this key from every other use of the secret it is derived from.
const LABEL: &[u8] = b"talent-gateway counter-token v1";

type HmacSha256 = SimpleHmac<sha2::Sha256>;

/// The HMAC key of counter tokens, as jsonwebtoken signs and checks with it (both forms
/// zeroize on drop).
pub struct CounterTokenKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// What a counter token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterClaims {
    /// The gateway's issuer name.
    pub iss: String,
    /// `spiffe://TRUST_DOMAIN/counter/NAME`.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Token id, for the audit log.
    pub jti: String,
}

/// The header as read before the signature: exactly `alg` and `typ`, each once (serde
/// refuses a member twice). jsonwebtoken's own header parsing would take any other member.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenHeader {
    alg: String,
    typ: String,
}

/// Why a counter token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CounterTokenError {
    /// Not a counter token at all.
    #[error("the counter token is malformed ({0})")]
    Malformed(&'static str),
    /// Not signed by this gateway (or altered).
    #[error("the counter token was not issued by this gateway")]
    BadSignature,
    /// Past its `exp`.
    #[error("the counter token has expired; ask an operator for a new one")]
    Expired,
    /// Revoked by an operator before it expired.
    #[error("the counter token was revoked; ask an operator for a new one")]
    Revoked,
}

impl CounterTokenKey {
    /// The key itself (a random secret stored sealed).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let bytes = zeroize::Zeroizing::new(bytes);
        Self {
            encoding: EncodingKey::from_secret(bytes.as_slice()),
            decoding: DecodingKey::from_secret(bytes.as_slice()),
        }
    }

    /// Derives the key from a 32-byte secret shared by the replicas, as versions before the
    /// key of its own did (kept to verify what they issued).
    pub fn derive(secret: &[u8; 32]) -> Self {
        let mut mac = mac(secret);
        mac.update(LABEL);
        Self::from_bytes(mac.finalize().into_bytes().into())
    }

    /// The compact token for `claims`.
    pub fn sign(&self, claims: &CounterClaims) -> String {
        let header = jose::header(Algorithm::HS256, COUNTER_TOKEN_TYPE, None);
        // An HMAC key of any length and a plain struct: encoding cannot fail.
        jose::sign(&header, claims, &self.encoding).expect("a counter token signs")
    }

    /// The claims of a token this key signed that has not expired at `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<CounterClaims, CounterTokenError> {
        use CounterTokenError::Malformed;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Malformed("too long"));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Malformed("expected three dot-separated parts"));
        };
        let header: TokenHeader =
            serde_json::from_slice(&b64_decode(h).map_err(|_| Malformed("header"))?)
                .map_err(|_| Malformed("header"))?;
        if header.alg != "HS256" || header.typ != COUNTER_TOKEN_TYPE {
            return Err(Malformed("not a counter+jwt"));
        }
        // jsonwebtoken compares the MAC in constant time.
        let input = &token.as_bytes()[..h.len() + 1 + p.len()];
        match jose::verify(input, s, &self.decoding, Algorithm::HS256) {
            Checked::Valid => {}
            Checked::Invalid => return Err(CounterTokenError::BadSignature),
            Checked::NotBase64 => return Err(Malformed("signature")),
        }
        let claims: CounterClaims =
            serde_json::from_slice(&b64_decode(p).map_err(|_| Malformed("claims"))?)
                .map_err(|_| Malformed("claims"))?;
        if now >= claims.exp {
            return Err(CounterTokenError::Expired);
        }
        Ok(claims)
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes any key length")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::b64;

    fn claims(exp: i64) -> CounterClaims {
        CounterClaims {
            iss: "urn:cn:500000:talent-card".into(),
            sub: "spiffe://cq.talent/counter/desk-1".into(),
            iat: 1000,
            exp,
            jti: "t1".into(),
        }
    }

    #[test]
    fn a_token_verifies_under_its_key_only_until_it_expires() {
        let key = CounterTokenKey::derive(&[7; 32]);
        let token = key.sign(&claims(2000));
        assert_eq!(key.verify(&token, 1999), Ok(claims(2000)));
        assert_eq!(key.verify(&token, 2000), Err(CounterTokenError::Expired));
        let other = CounterTokenKey::derive(&[8; 32]);
        assert_eq!(
            other.verify(&token, 1500),
            Err(CounterTokenError::BadSignature)
        );
    }

    #[test]
    fn tokens_signed_before_jsonwebtoken_still_verify() {
        // What earlier versions wrote: header members in the order alg, typ, MAC by hand.
        let secret = [7; 32];
        let derived = {
            let mut m = mac(&secret);
            m.update(LABEL);
            m.finalize().into_bytes()
        };
        let input = format!(
            "{}.{}",
            b64(br#"{"alg":"HS256","typ":"counter+jwt"}"#),
            b64(serde_json::to_vec(&claims(2000)).expect("json"))
        );
        let mut m = mac(&derived);
        m.update(input.as_bytes());
        let old = format!("{input}.{}", b64(m.finalize().into_bytes()));
        let key = CounterTokenKey::derive(&secret);
        assert_eq!(key.verify(&old, 1999), Ok(claims(2000)));
        // And the new form carries the same header members, nothing more.
        let token = key.sign(&claims(2000));
        let h = token.split('.').next().expect("header");
        let header: serde_json::Value =
            serde_json::from_slice(&b64_decode(h).expect("b64")).expect("json");
        assert_eq!(
            header,
            serde_json::json!({"alg": "HS256", "typ": "counter+jwt"})
        );
        let sig = token.rsplit_once('.').expect("parts").0;
        let bad_b64 = format!("{sig}.!!");
        assert_eq!(
            key.verify(&bad_b64, 1500),
            Err(CounterTokenError::Malformed("signature"))
        );
    }

    #[test]
    fn altered_or_foreign_tokens_are_refused() {
        let key = CounterTokenKey::derive(&[7; 32]);
        let token = key.sign(&claims(2000));
        let (hp, sig) = token.rsplit_once('.').expect("three parts");
        let (h, _) = hp.split_once('.').expect("three parts");
        let forged = format!("{h}.{}.{sig}", b64(br#"{"iss":"x","sub":"spiffe://cq.talent/operator/x","iat":0,"exp":9999,"jti":"j"}"#));
        assert_eq!(
            key.verify(&forged, 1500),
            Err(CounterTokenError::BadSignature)
        );
        let card_header = b64(br#"{"alg":"EdDSA","typ":"talent-card+jwt"}"#);
        let (_, rest) = token.split_once('.').expect("parts");
        assert!(matches!(
            key.verify(&format!("{card_header}.{rest}"), 1500),
            Err(CounterTokenError::Malformed(_))
        ));
        assert!(matches!(
            key.verify("abc", 1500),
            Err(CounterTokenError::Malformed(_))
        ));
    }
}

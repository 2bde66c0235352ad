//! An issuer's Ed25519 key, its RFC 7638 thumbprint (`kid`) and its JWK.

use super::jose::ed25519_encoding_key;
use super::jws::b64;
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::EncodingKey;
use sha2::{Digest, Sha256};

/// RFC 7638 thumbprint of an Ed25519 public key: anyone can recompute it from the JWK.
pub fn thumbprint(public: &VerifyingKey) -> String {
    // Members in lexicographic order, no whitespace (RFC 7638 section 3).
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        b64(public.as_bytes())
    );
    b64(Sha256::digest(canonical.as_bytes()))
}

/// A parsed signing key and its id; parsed once, held in memory for the signing path.
#[derive(Clone)]
pub struct IssuerKey {
    kid: String,
    signing: SigningKey,
    /// The same key as jsonwebtoken signs with, made once (it zeroizes on drop).
    encoding: EncodingKey,
}

impl IssuerKey {
    /// Wraps a key; the kid is derived, never chosen.
    pub fn new(signing: SigningKey) -> Self {
        let kid = thumbprint(&signing.verifying_key());
        let encoding = ed25519_encoding_key(&signing);
        Self {
            kid,
            signing,
            encoding,
        }
    }

    /// Draws a fresh key from the operating system's generator.
    pub fn generate() -> Self {
        Self::new(SigningKey::generate(&mut rand_core::OsRng))
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key, for signing.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The private key as jsonwebtoken signs with it.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuerKey({})", self.kid)
    }
}

/// The public JWK of an Ed25519 key with its kid (RFC 8037).
pub fn public_jwk(public: &VerifyingKey) -> serde_json::Value {
    serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64(public.as_bytes()),
        "kid": thumbprint(public),
        "alg": "EdDSA",
        "use": "sig",
    })
}

/// An RFC 7517 JWK Set of the given public keys.
pub fn jwk_set<'a>(keys: impl IntoIterator<Item = &'a VerifyingKey>) -> serde_json::Value {
    serde_json::json!({ "keys": keys.into_iter().map(public_jwk).collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc_8037_appendix_a3() {
        // RFC 8037 A.3: the thumbprint of the example Ed25519 key.
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let bytes: [u8; 32] = super::super::b64_decode(x)
            .expect("b64")
            .try_into()
            .expect("32 bytes");
        let public = VerifyingKey::from_bytes(&bytes).expect("point");
        assert_eq!(
            thumbprint(&public),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }
}

//! The issuer's own signing key, Ed25519 or SM2 (`signing_algorithm`), and the JWS it signs.
//! A key is made, sealed, stored and read with its algorithm; it signs only with that one.

use super::b64;
use super::jose::{self, SignError};
use super::{IssuerKey, public_jwk};
use super::{SM2_ALG, SigningAlgorithm, Sm2IssuerKey, sm2_public_jwk};
use ed25519_dalek::SigningKey;
use serde::Serialize;
use zeroize::Zeroizing;

/// A stored key could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnKeyError {
    /// The stored algorithm is not one this version signs with.
    #[error("algorithm {0:?} is not known here")]
    UnknownAlgorithm(String),
    /// The private key's bytes do not make a key of its algorithm.
    #[error("the private key is not a {0} key")]
    BadPrivateKey(&'static str),
}

/// An own signing key of either algorithm, parsed once, held in memory for signing.
#[derive(Clone, Debug)]
pub enum OwnSigningKey {
    /// Ed25519.
    Ed25519(IssuerKey),
    /// SM2.
    Sm2(Sm2IssuerKey),
}

impl OwnSigningKey {
    /// Draws a fresh key of `algorithm`.
    pub fn generate(algorithm: SigningAlgorithm) -> Self {
        match algorithm {
            SigningAlgorithm::EdDsa => Self::Ed25519(IssuerKey::generate()),
            SigningAlgorithm::Sm2 => Self::Sm2(Sm2IssuerKey::generate()),
        }
    }

    /// A key from its stored algorithm and opened private bytes.
    pub fn from_stored(algorithm: &str, secret: &[u8]) -> Result<Self, OwnKeyError> {
        match algorithm.parse::<SigningAlgorithm>() {
            Ok(SigningAlgorithm::EdDsa) => {
                let seed: [u8; 32] = secret
                    .try_into()
                    .map_err(|_| OwnKeyError::BadPrivateKey("EdDSA"))?;
                Ok(Self::Ed25519(IssuerKey::new(SigningKey::from_bytes(&seed))))
            }
            Ok(SigningAlgorithm::Sm2) => Sm2IssuerKey::from_secret(secret)
                .map(Self::Sm2)
                .ok_or(OwnKeyError::BadPrivateKey(SM2_ALG)),
            Err(_) => Err(OwnKeyError::UnknownAlgorithm(algorithm.to_owned())),
        }
    }

    /// The key id (RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        match self {
            Self::Ed25519(k) => k.kid(),
            Self::Sm2(k) => k.kid(),
        }
    }

    /// The algorithm it signs with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        match self {
            Self::Ed25519(_) => SigningAlgorithm::EdDsa,
            Self::Sm2(_) => SigningAlgorithm::Sm2,
        }
    }

    /// The Ed25519 key, when it is one.
    pub fn ed25519(&self) -> Option<&IssuerKey> {
        match self {
            Self::Ed25519(k) => Some(k),
            Self::Sm2(_) => None,
        }
    }

    /// The public half as stored: 32 bytes (Ed25519) or an uncompressed SEC1 point (SM2).
    pub fn public_bytes(&self) -> Vec<u8> {
        match self {
            Self::Ed25519(k) => k.verifying_key().as_bytes().to_vec(),
            Self::Sm2(k) => k.public_bytes(),
        }
    }

    /// The private half, for sealing.
    pub fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Self::Ed25519(k) => Zeroizing::new(k.signing_key().as_bytes().to_vec()),
            Self::Sm2(k) => k.secret_bytes(),
        }
    }

    /// The public JWK with its kid.
    pub fn public_jwk(&self) -> serde_json::Value {
        match self {
            Self::Ed25519(k) => public_jwk(&k.verifying_key()),
            Self::Sm2(k) => sm2_public_jwk(k.verifying_key()),
        }
    }

    /// Signs `claims` into a compact JWS with header `alg`, `typ` and this key's `kid`.
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> Result<String, SignError> {
        match self {
            Self::Ed25519(k) => {
                let header = jose::header(jsonwebtoken::Algorithm::EdDSA, typ, Some(k.kid()));
                jose::sign(&header, claims, k.encoding_key())
            }
            Self::Sm2(k) => {
                let header = serde_json::json!({"typ": typ, "alg": SM2_ALG, "kid": k.kid()});
                let payload =
                    serde_json::to_vec(claims).map_err(jsonwebtoken::errors::Error::from)?;
                let mut out = b64(header.to_string());
                out.push('.');
                out.push_str(&b64(payload));
                let signature = k.sign(out.as_bytes());
                out.push('.');
                out.push_str(&b64(signature));
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_key_survives_its_stored_form_and_signs_under_its_own_alg() {
        for alg in [SigningAlgorithm::EdDsa, SigningAlgorithm::Sm2] {
            let key = OwnSigningKey::generate(alg);
            let again =
                OwnSigningKey::from_stored(alg.as_str(), &key.secret_bytes()).expect("reads");
            assert_eq!(again.kid(), key.kid());
            assert_eq!(key.public_jwk()["kid"], key.kid());
            let token = key
                .sign("x+jwt", &serde_json::json!({"a": 1}))
                .expect("signs");
            let header: serde_json::Value = serde_json::from_slice(
                &super::super::b64_decode(token.split('.').next().expect("header")).expect("b64"),
            )
            .expect("json");
            assert_eq!(header["alg"], alg.as_str());
            assert_eq!(header["kid"], key.kid());
            assert_eq!(header["typ"], "x+jwt");
        }
        assert_eq!(
            OwnSigningKey::from_stored("RS256", &[1; 32]).expect_err("refused"),
            OwnKeyError::UnknownAlgorithm("RS256".into())
        );
        assert!(OwnSigningKey::from_stored("SM2", &[0; 32]).is_err());
        assert!(OwnSigningKey::from_stored("EdDSA", &[1; 31]).is_err());
    }

    #[test]
    fn only_the_two_names_are_algorithms() {
        assert_eq!("SM2".parse(), Ok(SigningAlgorithm::Sm2));
        assert_eq!("EdDSA".parse(), Ok(SigningAlgorithm::EdDsa));
        for bad in ["sm2", "Ed25519", "ES256", ""] {
            assert!(bad.parse::<SigningAlgorithm>().is_err(), "{bad}");
        }
    }
}

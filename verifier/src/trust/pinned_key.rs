//! Verification keys pinned to one algorithm, parsed once from a JWK.

use crate::credential::b64_decode;
use crate::credential::jose::{self, Checked, Ed25519Key};
use ed25519_dalek::Signature as EdSignature;
use jsonwebtoken::DecodingKey;

/// Algorithms the registry accepts. Everything else is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Ed25519 (`EdDSA`, or its RFC 9864 name `Ed25519`, which jsonwebtoken's `Algorithm`
    /// does not know: both are read here and checked as its `EdDSA`).
    EdDsa,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// SM2 over SM3 with the default ID (`SM2`, or the names partner systems use for it,
    /// `SM3WithSM2` and `GmSM2`; a profile lists the names it accepts).
    Sm2,
}

impl Algorithm {
    /// The algorithm a JWS `alg` header names, if allowed at all.
    #[inline]
    pub fn from_header(alg: &str) -> Option<Self> {
        match alg {
            "EdDSA" | "Ed25519" => Some(Self::EdDsa),
            "ES256" => Some(Self::Es256),
            "SM2" | "SM3WithSM2" | "GmSM2" => Some(Self::Sm2),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum Material {
    Ed25519 {
        key: ed25519_dalek::VerifyingKey,
        /// Batch verification agrees with `verify_strict` for this key (see `batchable`).
        batchable: bool,
        /// The same key for jsonwebtoken, which checks partner signatures.
        jwt: Ed25519Key,
    },
    /// The uncompressed SEC1 point, checked on the curve when the JWK was read.
    P256(DecodingKey),
    /// An SM2 point, checked on the curve when the key was read; verified directly (no
    /// batch, no jsonwebtoken).
    Sm2(sm2::dsa::VerifyingKey),
}

impl Material {
    fn ed25519(key: ed25519_dalek::VerifyingKey) -> Self {
        // `verify_strict` refuses small-order keys, and `verify_batch` checks the cofactorless
        // equation: they agree on every signature a key in the prime-order subgroup makes
        // honestly. Checked once per key (one scalar multiplication).
        let batchable = !key.is_weak() && key.to_edwards().is_torsion_free();
        let jwt = Ed25519Key::new(&key);
        Self::Ed25519 {
            key,
            batchable,
            jwt,
        }
    }
}

/// A public key with its kid and the one algorithm it may be used with.
#[derive(Debug, Clone)]
pub struct PinnedKey {
    kid: String,
    alg: Algorithm,
    material: Material,
}

impl PinnedKey {
    /// An own Ed25519 key.
    pub fn ed25519(kid: String, key: ed25519_dalek::VerifyingKey) -> Self {
        Self {
            kid,
            alg: Algorithm::EdDsa,
            material: Material::ed25519(key),
        }
    }

    /// An own SM2 key.
    pub fn sm2(kid: String, key: sm2::dsa::VerifyingKey) -> Self {
        Self {
            kid,
            alg: Algorithm::Sm2,
            material: Material::Sm2(key),
        }
    }

    /// An own key's public half as stored with its algorithm (`EdDSA`: 32 bytes; `SM2`: an
    /// uncompressed SEC1 point), pinned to that algorithm.
    pub fn own(kid: &str, algorithm: &str, public: &[u8]) -> Result<Self, OwnPublicKeyError> {
        let bad = |what| OwnPublicKeyError(kid.to_owned(), what);
        match algorithm.parse::<crate::credential::SigningAlgorithm>() {
            Ok(crate::credential::SigningAlgorithm::EdDsa) => {
                let public: [u8; 32] =
                    public.try_into().map_err(|_| bad("has a bad public key"))?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&public)
                    .map_err(|_| bad("is not a point"))?;
                Ok(Self::ed25519(kid.to_owned(), key))
            }
            Ok(crate::credential::SigningAlgorithm::Sm2) => {
                let key = crate::credential::sm2_public_key_from_sec1(public)
                    .ok_or_else(|| bad("is not an SM2 point"))?;
                Ok(Self::sm2(kid.to_owned(), key))
            }
            Err(_) => Err(bad("has an algorithm this version does not know")),
        }
    }

    /// The public JWK of an own key (Ed25519 or SM2), with its kid.
    pub fn public_jwk(&self) -> Option<serde_json::Value> {
        match &self.material {
            Material::Ed25519 { key, .. } => Some(crate::credential::public_jwk(key)),
            Material::Sm2(key) => Some(crate::credential::sm2_public_jwk(key)),
            Material::P256(_) => None,
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The pinned algorithm.
    #[inline]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The Ed25519 key, when it is one.
    pub fn ed25519_key(&self) -> Option<&ed25519_dalek::VerifyingKey> {
        match &self.material {
            Material::Ed25519 { key, .. } => Some(key),
            Material::P256(_) | Material::Sm2(_) => None,
        }
    }

    /// The key and the parsed signature, when this is an Ed25519 key whose signatures may be
    /// checked with `ed25519_dalek::verify_batch` and `signature` has the length of one.
    /// A batch that passes means `verify` would pass for each; when it fails, `verify` each.
    #[inline]
    pub fn batch_item(
        &self,
        signature: &[u8],
    ) -> Option<(&ed25519_dalek::VerifyingKey, EdSignature)> {
        match &self.material {
            Material::Ed25519 {
                key,
                batchable: true,
                ..
            } => EdSignature::from_slice(signature).ok().map(|s| (key, s)),
            _ => None,
        }
    }

    /// Checks a JWS signature over `input` with jsonwebtoken: `signature` is the decoded
    /// third part, `signature_b64` the same as it came.
    pub fn verify(&self, input: &[u8], signature: &[u8], signature_b64: &str) -> bool {
        match &self.material {
            Material::Ed25519 { jwt, .. } => jwt.verify(input, signature, signature_b64),
            Material::P256(key) => {
                jose::verify(input, signature_b64, key, jsonwebtoken::Algorithm::ES256)
                    == Checked::Valid
            }
            Material::Sm2(key) => crate::credential::sm2_verify(key, input, signature),
        }
    }

    /// An own card's signature checked alone, as the batch checks it.
    #[inline]
    pub fn verify_own(&self, input: &[u8], signature: &[u8], signature_b64: &str) -> bool {
        // Hand-written: jsonwebtoken verifies one signature at a time; own cards are
        // batch-verified across calls, and their single checks must give the batch's verdict.
        match &self.material {
            Material::Ed25519 { key, .. } => EdSignature::from_slice(signature)
                .is_ok_and(|sig| key.verify_strict(input, &sig).is_ok()),
            Material::P256(_) | Material::Sm2(_) => self.verify(input, signature, signature_b64),
        }
    }

    /// Parses one JWK; the algorithm comes from the key type, and an `alg` member must agree.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<Self, JwkError> {
        let s = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
        let kid = s("kid").filter(|k| !k.is_empty()).ok_or(JwkError::NoKid)?;
        if kid.len() > 128 {
            return Err(JwkError::KidTooLong);
        }
        let named = || kid.to_owned();
        if jwk.get("d").is_some() {
            return Err(JwkError::PrivateKey(named()));
        }
        if s("use").is_some_and(|u| u != "sig") {
            return Err(JwkError::NotForSignatures(named()));
        }
        let bytes = |member: &'static str, len: usize| -> Result<Vec<u8>, JwkError> {
            let v = b64_decode(s(member).ok_or_else(|| JwkError::Missing(named(), member))?)
                .map_err(|_| JwkError::NotBase64url(named(), member))?;
            if v.len() == len {
                Ok(v)
            } else {
                Err(JwkError::WrongLength(named(), member, len))
            }
        };
        let (alg, material) = match (s("kty"), s("crv")) {
            (Some("OKP"), Some("Ed25519")) => {
                let x: [u8; 32] = bytes("x", 32)?
                    .try_into()
                    .map_err(|_| JwkError::WrongLength(named(), "x", 32))?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| JwkError::NotAnEd25519Point(named()))?;
                (Algorithm::EdDsa, Material::ed25519(key))
            }
            (Some("EC"), Some("P-256")) => {
                let (x, y) = (bytes("x", 32)?, bytes("y", 32)?);
                let point = p256::EncodedPoint::from_affine_coordinates(
                    x.as_slice().into(),
                    y.as_slice().into(),
                    false,
                );
                p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                    .map_err(|_| JwkError::NotAP256Point(named()))?;
                let key = DecodingKey::from_ec_der(point.as_bytes());
                (Algorithm::Es256, Material::P256(key))
            }
            (Some("EC"), Some("SM2")) => {
                let (x, y) = (bytes("x", 32)?, bytes("y", 32)?);
                let key = crate::credential::sm2_public_key(&x, &y)
                    .ok_or_else(|| JwkError::NotAnSm2Point(named()))?;
                (Algorithm::Sm2, Material::Sm2(key))
            }
            (kty, crv) => {
                return Err(JwkError::KeyTypeNotAllowed(
                    named(),
                    kty.map(str::to_owned),
                    crv.map(str::to_owned),
                ));
            }
        };
        if let Some(declared) = s("alg")
            && Algorithm::from_header(declared) != Some(alg)
        {
            return Err(JwkError::AlgMismatch(named(), declared.to_owned()));
        }
        Ok(Self {
            kid: kid.to_owned(),
            alg,
            material,
        })
    }
}

/// An own key's stored public half cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key {0} {1}")]
pub struct OwnPublicKeyError(String, &'static str);

/// Why one JWK is refused; names the key (its kid) where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    #[error("a key without kid")]
    NoKid,
    #[error("kid longer than 128 bytes")]
    KidTooLong,
    #[error("{0}: a private key was published; refused")]
    PrivateKey(String),
    #[error("{0}: use is not sig")]
    NotForSignatures(String),
    #[error("{0}: no {1}")]
    Missing(String, &'static str),
    #[error("{0}: {1} is not base64url")]
    NotBase64url(String, &'static str),
    #[error("{0}: {1} must be {2} bytes")]
    WrongLength(String, &'static str, usize),
    #[error("{0}: not an Ed25519 point")]
    NotAnEd25519Point(String),
    #[error("{0}: not a P-256 point")]
    NotAP256Point(String),
    #[error("{0}: not an SM2 point")]
    NotAnSm2Point(String),
    #[error("{0}: key type {1:?}/{2:?} is not allowed")]
    KeyTypeNotAllowed(String, Option<String>, Option<String>),
    #[error("{0}: alg {1} does not fit the key type")]
    AlgMismatch(String, String),
}

/// Why a JWK Set as a whole cannot be read (single keys are refused one by one instead).
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("a JWK Set needs a keys array")]
    NoKeys,
}

/// Parses a JWK Set: the keys that are acceptable, and a note for each one refused.
pub fn parse_jwks(json: &str) -> Result<(Vec<PinnedKey>, Vec<String>), JwksError> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    let keys = v
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or(JwksError::NoKeys)?;
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    for k in keys {
        match PinnedKey::from_jwk(k) {
            Ok(key) if ok.iter().any(|o: &PinnedKey| o.kid == key.kid) => {
                refused.push(format!("{}: kid listed twice", key.kid));
            }
            Ok(key) => ok.push(key),
            Err(e) => refused.push(e.to_string()),
        }
    }
    Ok((ok, refused))
}

/// The kids a JWK Set lists in its top-level `revoked` member (`[{kid, revoked_at, reason}]`),
/// with when (unix seconds, 0 when not given) and why.
pub fn revoked_in_jwks(json: &str) -> Vec<(String, i64, String)> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return Vec::new();
    };
    v.get("revoked")
        .and_then(serde_json::Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| {
                    let kid = r
                        .get("kid")?
                        .as_str()
                        .filter(|k| !k.is_empty() && k.len() <= 128)?;
                    let at = r.get("revoked_at").and_then(serde_json::Value::as_i64);
                    let reason = r.get("reason").and_then(serde_json::Value::as_str);
                    Some((
                        kid.to_owned(),
                        at.unwrap_or(0),
                        reason.unwrap_or("").to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{Sm2IssuerKey, b64, sm2_public_jwk, sm2_sign_compact};

    fn verifies(key: &PinnedKey, token: &str) -> bool {
        let (input, s) = token.rsplit_once('.').expect("three parts");
        let sig = b64_decode(s).expect("b64");
        key.verify(input.as_bytes(), &sig, s) && key.verify_own(input.as_bytes(), &sig, s)
    }

    #[test]
    fn an_sm2_jwk_is_pinned_to_sm2_under_any_of_its_names() {
        let signer = Sm2IssuerKey::generate();
        let jwk = sm2_public_jwk(signer.verifying_key());
        let key = PinnedKey::from_jwk(&jwk).expect("an SM2 key");
        assert_eq!(key.algorithm(), Algorithm::Sm2);
        assert_eq!(key.kid(), signer.kid());
        assert!(key.batch_item(&[0; 64]).is_none(), "SM2 is never batched");
        assert_eq!(key.public_jwk(), Some(jwk.clone()));
        let token = sm2_sign_compact(&serde_json::json!({"alg": "SM2"}), b"{}", &signer);
        assert!(verifies(&key, &token));
        let other = sm2_sign_compact(
            &serde_json::json!({"alg": "SM2"}),
            b"{}",
            &Sm2IssuerKey::generate(),
        );
        assert!(!verifies(&key, &other));
        for alias in ["SM2", "SM3WithSM2", "GmSM2"] {
            assert_eq!(Algorithm::from_header(alias), Some(Algorithm::Sm2));
            let mut named = jwk.clone();
            named["alg"] = alias.into();
            assert!(PinnedKey::from_jwk(&named).is_ok(), "{alias}");
        }
        let mut wrong = jwk.clone();
        wrong["alg"] = "EdDSA".into();
        assert!(matches!(
            PinnedKey::from_jwk(&wrong),
            Err(JwkError::AlgMismatch(..))
        ));
    }

    #[test]
    fn an_sm2_jwk_off_the_curve_or_short_is_refused() {
        let jwk = sm2_public_jwk(Sm2IssuerKey::generate().verifying_key());
        let mut y = b64_decode(jwk["y"].as_str().expect("y")).expect("b64");
        y[31] ^= 1;
        let mut off = jwk.clone();
        off["y"] = b64(&y).into();
        assert!(matches!(
            PinnedKey::from_jwk(&off),
            Err(JwkError::NotAnSm2Point(_))
        ));
        let mut short = jwk.clone();
        short["x"] = b64([1u8; 31]).into();
        assert!(matches!(
            PinnedKey::from_jwk(&short),
            Err(JwkError::WrongLength(_, "x", 32))
        ));
    }
}

//! The signed checkpoint of an audit chain (typ `audit-checkpoint+jwt`) and a witness's
//! countersignature of one (typ `audit-countersignature+jwt`): small compact JWS, signed
//! with the own key of either algorithm, checked under a set of pinned keys. Hashes are
//! lowercase hex.

use crate::credential::{OwnSigningKey, b64_decode};
use crate::trust::{Algorithm, PinnedKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// `typ` of a checkpoint.
pub const CHECKPOINT_TYPE: &str = "audit-checkpoint+jwt";
/// `typ` of a countersignature.
pub const COUNTERSIGNATURE_TYPE: &str = "audit-countersignature+jwt";
/// Longest checkpoint or countersignature taken (they are a few hundred bytes).
const MAX_JWS_BYTES: usize = 8 * 1024;

/// What a checkpoint says: the issuer's audit chain had `seq` records with hash `head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointClaims {
    /// The gateway whose chain it is (its own issuer).
    pub iss: String,
    /// The chain's last record's sequence.
    pub seq: i64,
    /// That record's hash, lowercase hex.
    pub head: String,
    /// When it was signed (unix seconds).
    pub iat: i64,
}

/// What a witness says of a checkpoint it keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountersignatureClaims {
    /// The witness (its own issuer).
    pub iss: String,
    /// The checkpoint's issuer.
    pub sub: String,
    /// The checkpoint's `seq`.
    pub seq: i64,
    /// The checkpoint's `head`.
    pub head: String,
    /// SHA-256 of the checkpoint JWS as sent, lowercase hex.
    pub checkpoint_hash: String,
    /// When it was witnessed (unix seconds).
    pub iat: i64,
}

/// Why a checkpoint or countersignature is not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedJwsError {
    /// Longer than any honest one.
    #[error("longer than {MAX_JWS_BYTES} bytes")]
    TooLarge,
    /// Not three base64url parts.
    #[error("not a compact JWS")]
    NotCompact,
    /// The header is not a JSON object.
    #[error("its header is not JSON")]
    HeaderNotJson,
    /// Another `typ`.
    #[error("its typ is not {0}")]
    WrongType(&'static str),
    /// `crit`, or a header that points at a key elsewhere.
    #[error("it carries a {0} header")]
    RefusedHeader(&'static str),
    /// `alg` is none the registry accepts.
    #[error("its alg is not allowed")]
    AlgorithmNotAllowed,
    /// Its `kid` names no key of the signer.
    #[error("it is signed with key {0:?}, which is not one of the signer's keys")]
    UnknownKey(String),
    /// Its `kid` names a revoked key.
    #[error("it is signed with key {0:?}, which is revoked")]
    RevokedKey(String),
    /// The key is pinned to another algorithm than `alg`.
    #[error("key {0:?} is pinned to another algorithm")]
    KeyPinnedElsewhere(String),
    /// The signature does not hold.
    #[error("its signature does not verify under key {0:?}")]
    BadSignature(String),
    /// The payload is not the claims.
    #[error("its claims are malformed: {0}")]
    BadClaims(String),
}

/// Signs `claims` with `key` under `typ` (the key's own `alg` and `kid`).
pub(crate) fn sign(
    key: &OwnSigningKey,
    typ: &str,
    claims: &impl Serialize,
) -> Result<String, super::ServiceError> {
    key.sign(typ, claims)
        .map_err(|e| super::ServiceError::Internal(format!("signing a {typ}: {e}")))
}

/// Checks `token` as a `typ` JWS signed by one of `keys` (never one of `revoked`), then reads
/// its claims: the signing kid and the claims.
pub fn verify_signed<T: DeserializeOwned>(
    token: &str,
    typ: &'static str,
    keys: &HashMap<String, PinnedKey>,
    revoked: &HashSet<String>,
) -> Result<(String, T), SignedJwsError> {
    let token = token.trim();
    if token.len() > MAX_JWS_BYTES {
        return Err(SignedJwsError::TooLarge);
    }
    let mut parts = token.splitn(4, '.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SignedJwsError::NotCompact);
    };
    let header: serde_json::Map<String, serde_json::Value> = b64_decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(SignedJwsError::HeaderNotJson)?;
    if header.get("typ").and_then(|v| v.as_str()) != Some(typ) {
        return Err(SignedJwsError::WrongType(typ));
    }
    for refused in ["crit", "jku", "x5u", "jwk", "x5c"] {
        if header.contains_key(refused) {
            return Err(SignedJwsError::RefusedHeader(refused));
        }
    }
    let alg = header
        .get("alg")
        .and_then(|v| v.as_str())
        .and_then(Algorithm::from_header)
        .ok_or(SignedJwsError::AlgorithmNotAllowed)?;
    let kid = header
        .get("kid")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    if revoked.contains(&kid) {
        return Err(SignedJwsError::RevokedKey(kid));
    }
    let Some(key) = keys.get(&kid) else {
        return Err(SignedJwsError::UnknownKey(kid));
    };
    if key.algorithm() != alg {
        return Err(SignedJwsError::KeyPinnedElsewhere(kid));
    }
    let signature = b64_decode(s).map_err(|_| SignedJwsError::BadSignature(kid.clone()))?;
    if !key.verify(&token.as_bytes()[..h.len() + 1 + p.len()], &signature, s) {
        return Err(SignedJwsError::BadSignature(kid));
    }
    let payload = b64_decode(p).map_err(|_| SignedJwsError::BadClaims("not base64url".into()))?;
    let claims =
        serde_json::from_slice(&payload).map_err(|e| SignedJwsError::BadClaims(e.to_string()))?;
    Ok((kid, claims))
}

/// The `kid` a JWS header names, read without believing anything else of it (to say whose
/// key signed a checkpoint that is not the caller's).
pub fn header_kid(token: &str) -> Option<String> {
    let h = token.trim().split('.').next()?;
    let header: serde_json::Value = serde_json::from_slice(&b64_decode(h).ok()?).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The 32 bytes a lowercase-hex SHA-256 names, if it is one.
pub fn unhex32(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..32)
        .map(|i| {
            let pair = text.get(2 * i..2 * i + 2)?;
            if pair.bytes().any(|c| c.is_ascii_uppercase()) {
                return None;
            }
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`, for messages.
pub fn utc(seconds: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => seconds.to_string(),
    }
}

/// SHA-256 of a checkpoint as sent, lowercase hex (the countersignature's `checkpoint_hash`).
pub fn checkpoint_hash(checkpoint: &str) -> String {
    hex(&Sha256::digest(checkpoint.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::SigningAlgorithm;

    fn keys_of(key: &OwnSigningKey) -> HashMap<String, PinnedKey> {
        let alg = key.algorithm().as_str();
        let pinned = PinnedKey::own(key.kid(), alg, &key.public_bytes()).expect("key");
        HashMap::from([(key.kid().to_owned(), pinned)])
    }

    fn claims() -> CheckpointClaims {
        CheckpointClaims {
            iss: "urn:x".into(),
            seq: 7,
            head: hex(&[0xab; 32]),
            iat: 1_000,
        }
    }

    #[test]
    fn a_checkpoint_verifies_under_its_key_of_either_algorithm_and_nothing_else() {
        for alg in [SigningAlgorithm::EdDsa, SigningAlgorithm::Sm2] {
            let key = OwnSigningKey::generate(alg);
            let token = key.sign(CHECKPOINT_TYPE, &claims()).expect("signs");
            let none = HashSet::new();
            let (kid, read) =
                verify_signed::<CheckpointClaims>(&token, CHECKPOINT_TYPE, &keys_of(&key), &none)
                    .expect("verifies");
            assert_eq!((kid.as_str(), read), (key.kid(), claims()));
            assert_eq!(header_kid(&token).as_deref(), Some(key.kid()));

            let other = OwnSigningKey::generate(alg);
            let e =
                verify_signed::<CheckpointClaims>(&token, CHECKPOINT_TYPE, &keys_of(&other), &none)
                    .expect_err("another key");
            assert_eq!(e, SignedJwsError::UnknownKey(key.kid().to_owned()));
            let revoked = HashSet::from([key.kid().to_owned()]);
            let e = verify_signed::<CheckpointClaims>(
                &token,
                CHECKPOINT_TYPE,
                &keys_of(&key),
                &revoked,
            )
            .expect_err("revoked");
            assert_eq!(e, SignedJwsError::RevokedKey(key.kid().to_owned()));
            let e = verify_signed::<CountersignatureClaims>(
                &token,
                COUNTERSIGNATURE_TYPE,
                &keys_of(&key),
                &none,
            )
            .expect_err("typ");
            assert_eq!(e, SignedJwsError::WrongType(COUNTERSIGNATURE_TYPE));
            // One changed claim breaks the signature.
            let forged = key
                .sign(CHECKPOINT_TYPE, &CheckpointClaims { seq: 8, ..claims() })
                .expect("signs");
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged_payload = forged.split('.').nth(1).expect("payload");
            parts[1] = forged_payload;
            let e = verify_signed::<CheckpointClaims>(
                &parts.join("."),
                CHECKPOINT_TYPE,
                &keys_of(&key),
                &none,
            )
            .expect_err("changed");
            assert_eq!(e, SignedJwsError::BadSignature(key.kid().to_owned()));
        }
    }

    #[test]
    fn hashes_are_lowercase_hex_of_32_bytes() {
        let h = hex(&[0, 1, 0xfe, 0xff]);
        assert_eq!(h, "0001feff");
        let full = hex(&[0x5a; 32]);
        assert_eq!(unhex32(&full), Some(vec![0x5a; 32]));
        assert_eq!(unhex32(&full.to_uppercase()), None);
        assert_eq!(unhex32(&full[2..]), None);
        assert_eq!(unhex32(&format!("zz{}", &full[2..])), None);
        assert_eq!(checkpoint_hash(" a.b.c\n"), checkpoint_hash("a.b.c"));
        assert_eq!(checkpoint_hash("a.b.c").len(), 64);
    }
}

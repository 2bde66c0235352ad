//! The issuer's own keys in memory: which one signs now, and which are published.
//! Keys are parsed once per change, never per request.

use super::ServiceError;
use crate::credential::{IssuerKey, KeyEncryptionKeys, jwk_set};
use crate::store::{AuditEntry, SigningKeyRecord, Store};
use crate::trust::PinnedKey;
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::collections::HashMap;

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not yet signing.
    Next,
    /// Signing now.
    Current,
    /// No longer signing; published while something it signed is unexpired.
    Retired,
    /// No longer published.
    Expired,
}

impl KeyState {
    /// Name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Retired => "retired",
            Self::Expired => "expired",
        }
    }
}

/// A key as operators see it.
#[derive(Debug, Clone)]
pub struct KeyView {
    /// Thumbprint.
    pub kid: String,
    /// Algorithm.
    pub algorithm: String,
    /// State now.
    pub state: KeyState,
    /// First published.
    pub published_at: i64,
    /// Signs from.
    pub signs_from: i64,
    /// When the next key took over, if it has.
    pub retired_at: Option<i64>,
    /// Latest expiry of anything it signed.
    pub signed_until: i64,
}

/// Parsed keys of one moment.
pub(crate) struct Keyring {
    records: Vec<SigningKeyRecord>,
    signers: Vec<(i64, IssuerKey)>,
    verifiers: HashMap<String, PinnedKey>,
}

impl Keyring {
    /// Opens every key's private half that may still sign, and parses every public half.
    pub(crate) fn load(
        records: Vec<SigningKeyRecord>,
        kek: &KeyEncryptionKeys,
    ) -> Result<Self, ServiceError> {
        let mut signers = Vec::new();
        let mut verifiers = HashMap::new();
        for r in &records {
            let public: [u8; 32] = r.public_key.as_slice().try_into().map_err(|_| {
                ServiceError::Internal(format!("key {} has a bad public key", r.kid))
            })?;
            let public = VerifyingKey::from_bytes(&public)
                .map_err(|_| ServiceError::Internal(format!("key {} is not a point", r.kid)))?;
            verifiers.insert(r.kid.clone(), PinnedKey::ed25519(r.kid.clone(), public));
            let secret = kek.open(&r.sealed_private_key, &r.kid).map_err(|e| {
                ServiceError::Internal(format!(
                    "key {}: {e} (is the key-encryption key right?)",
                    r.kid
                ))
            })?;
            let secret: [u8; 32] = secret.as_slice().try_into().map_err(|_| {
                ServiceError::Internal(format!("key {} has a bad private key", r.kid))
            })?;
            let key = IssuerKey::new(SigningKey::from_bytes(&secret));
            if key.kid() != r.kid {
                return Err(ServiceError::Internal(format!(
                    "key {} does not match its thumbprint",
                    r.kid
                )));
            }
            signers.push((r.signs_from, key));
        }
        Ok(Self {
            records,
            signers,
            verifiers,
        })
    }

    /// The key that signs at `now`: the newest generation whose time has come.
    pub(crate) fn signer(&self, now: i64) -> Option<&IssuerKey> {
        self.signers
            .iter()
            .rev()
            .find(|(from, _)| *from <= now)
            .map(|(_, k)| k)
    }

    /// A published key by kid, for verifying own cards.
    pub(crate) fn verifier(&self, kid: &str) -> Option<&PinnedKey> {
        self.verifiers.get(kid)
    }

    /// Every key with its state at `now`.
    pub(crate) fn views(&self, now: i64) -> Vec<KeyView> {
        let current_gen = self
            .records
            .iter()
            .rev()
            .find(|r| r.signs_from <= now)
            .map(|r| r.generation);
        self.records
            .iter()
            .map(|r| {
                let successor = self
                    .records
                    .iter()
                    .find(|n| n.generation > r.generation && n.signs_from <= now)
                    .map(|n| n.signs_from);
                let state = if r.signs_from > now {
                    KeyState::Next
                } else if Some(r.generation) == current_gen {
                    KeyState::Current
                } else if r.signed_until > now {
                    KeyState::Retired
                } else {
                    KeyState::Expired
                };
                KeyView {
                    kid: r.kid.clone(),
                    algorithm: r.algorithm.clone(),
                    state,
                    published_at: r.published_at,
                    signs_from: r.signs_from,
                    retired_at: successor,
                    signed_until: r.signed_until,
                }
            })
            .collect()
    }

    /// The JWK Set to publish at `now`: next, current and retired keys.
    pub(crate) fn jwks(&self, now: i64) -> serde_json::Value {
        let published: Vec<&VerifyingKey> = self
            .views(now)
            .iter()
            .filter(|v| v.state != KeyState::Expired)
            .filter_map(|v| self.verifiers.get(&v.kid))
            .filter_map(PinnedKey::ed25519_key)
            .collect();
        jwk_set(published)
    }

    /// The highest generation so far.
    pub(crate) fn last_generation(&self) -> i64 {
        self.records.last().map_or(0, |r| r.generation)
    }
}

/// Makes and stores a key of `generation`; false when another replica stored it first.
pub(crate) async fn create_key(
    store: &dyn Store,
    kek: &KeyEncryptionKeys,
    generation: i64,
    published_at: i64,
    signs_from: i64,
    caller: &str,
) -> Result<Option<String>, ServiceError> {
    let key = IssuerKey::generate();
    let record = SigningKeyRecord {
        kid: key.kid().to_owned(),
        generation,
        algorithm: "EdDSA".into(),
        public_key: key.verifying_key().as_bytes().to_vec(),
        sealed_private_key: kek.seal(key.signing_key().as_bytes(), key.kid()),
        published_at,
        signs_from,
        signed_until: 0,
    };
    let audit = AuditEntry {
        at: published_at,
        caller: caller.to_owned(),
        event: "key.create".into(),
        object: key.kid().to_owned(),
        result: "ok".into(),
        detail: format!("generation {generation}, signs from {signs_from}"),
    };
    let inserted = store.insert_signing_key(&record, &audit).await?;
    Ok(inserted.then(|| key.kid().to_owned()))
}

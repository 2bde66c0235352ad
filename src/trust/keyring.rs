//! The issuer's own keys in memory: which one signs now, and which are published.
//! Keys are parsed once per change, never per request.

use super::PinnedKey;
use crate::credential::{KeyEncryptionKeys, OwnSigningKey};
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
    /// Revoked: never trusted again, listed as revoked.
    Revoked,
}

impl KeyState {
    /// Name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Retired => "retired",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
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
    /// When it was revoked, and why.
    pub revoked: Option<(i64, String)>,
}

/// An own signing key as kept: its public half, its private half sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnKey {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// 1 for the first key, then one more per rotation.
    pub generation: i64,
    /// "EdDSA".
    pub algorithm: String,
    /// Raw public key.
    pub public_key: Vec<u8>,
    /// Private key sealed under the key-encryption key.
    pub sealed_private_key: Vec<u8>,
    /// When it appeared in the JWKS.
    pub published_at: i64,
    /// When it starts signing.
    pub signs_from: i64,
    /// The latest expiry of anything it signed.
    pub signed_until: i64,
}

/// The revocation of an own key: final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnKeyRevocation {
    /// The key id.
    pub kid: String,
    /// When (unix seconds).
    pub revoked_at: i64,
    /// Why, as the operator said.
    pub reason: String,
}

/// An own key that cannot be opened or does not match itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyringError(String);

/// Parsed keys of one moment.
pub(crate) struct Keyring {
    records: Vec<OwnKey>,
    signers: Vec<(i64, OwnSigningKey)>,
    verifiers: HashMap<String, PinnedKey>,
    /// Own revoked keys by kid: refused at key lookup, never signing.
    revoked: HashMap<String, OwnKeyRevocation>,
}

impl Keyring {
    /// Opens every key's private half that may still sign, and parses every public half.
    pub(crate) fn load(
        records: Vec<OwnKey>,
        revocations: Vec<OwnKeyRevocation>,
        kek: &KeyEncryptionKeys,
    ) -> Result<Self, KeyringError> {
        let revoked: HashMap<String, OwnKeyRevocation> = revocations
            .into_iter()
            .map(|r| (r.kid.clone(), r))
            .collect();
        let mut signers = Vec::new();
        let mut verifiers = HashMap::new();
        for r in &records {
            // Pinned to the algorithm it was made for (rows before SM2 all say `EdDSA`).
            let public = PinnedKey::own(&r.kid, &r.algorithm, &r.public_key)
                .map_err(|e| KeyringError(e.to_string()))?;
            verifiers.insert(r.kid.clone(), public);
            let secret = kek.open(&r.sealed_private_key, &r.kid).map_err(|e| {
                KeyringError(format!(
                    "key {}: {e} (is the key-encryption key right?)",
                    r.kid
                ))
            })?;
            let key = OwnSigningKey::from_stored(&r.algorithm, &secret)
                .map_err(|e| KeyringError(format!("key {}: {e}", r.kid)))?;
            if key.kid() != r.kid {
                return Err(KeyringError(format!(
                    "key {} does not match its thumbprint",
                    r.kid
                )));
            }
            if !revoked.contains_key(&r.kid) {
                signers.push((r.signs_from, key));
            }
        }
        Ok(Self {
            records,
            signers,
            verifiers,
            revoked,
        })
    }

    /// The key that signs at `now`: the newest unrevoked generation whose time has come.
    pub(crate) fn signer(&self, now: i64) -> Option<&OwnSigningKey> {
        self.signers
            .iter()
            .rev()
            .find(|(from, _)| *from <= now)
            .map(|(_, k)| k)
    }

    /// The revocation of an own key, if it is revoked.
    pub(crate) fn revocation(&self, kid: &str) -> Option<&OwnKeyRevocation> {
        self.revoked.get(kid)
    }

    /// Own revoked keys, oldest revocation first (what the JWKS and the bundle list).
    pub(crate) fn revocations(&self) -> Vec<&OwnKeyRevocation> {
        let mut all: Vec<_> = self.revoked.values().collect();
        all.sort_by(|a, b| (a.revoked_at, &a.kid).cmp(&(b.revoked_at, &b.kid)));
        all
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
            .find(|r| r.signs_from <= now && !self.revoked.contains_key(&r.kid))
            .map(|r| r.generation);
        self.records
            .iter()
            .map(|r| {
                let successor = self
                    .records
                    .iter()
                    .find(|n| {
                        n.generation > r.generation
                            && n.signs_from <= now
                            && !self.revoked.contains_key(&n.kid)
                    })
                    .map(|n| n.signs_from);
                let revoked = self.revoked.get(&r.kid);
                let state = if revoked.is_some() {
                    KeyState::Revoked
                } else if r.signs_from > now {
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
                    revoked: revoked.map(|v| (v.revoked_at, v.reason.clone())),
                }
            })
            .collect()
    }

    /// The JWK Set to publish at `now`: next, current and retired keys, and a top-level
    /// `revoked` member listing revoked keys (`[{kid, revoked_at, reason}]`).
    pub(crate) fn jwks(&self, now: i64) -> serde_json::Value {
        let published: Vec<serde_json::Value> = self
            .views(now)
            .iter()
            .filter(|v| !matches!(v.state, KeyState::Expired | KeyState::Revoked))
            .filter_map(|v| self.verifiers.get(&v.kid))
            .filter_map(PinnedKey::public_jwk)
            .collect();
        let mut set = serde_json::json!({ "keys": published });
        let revoked: Vec<serde_json::Value> = self
            .revocations()
            .into_iter()
            .map(|r| serde_json::json!({"kid": r.kid, "revoked_at": r.revoked_at, "reason": r.reason}))
            .collect();
        if !revoked.is_empty() {
            set["revoked"] = serde_json::Value::Array(revoked);
        }
        set
    }

    /// The highest generation so far.
    pub(crate) fn last_generation(&self) -> i64 {
        self.records.last().map_or(0, |r| r.generation)
    }
}

//! What this gateway publishes to partners: its JWK Set, its signed status list, and how
//! often to poll it.

use super::Federation;
use crate::credential::sign_status_list_token;
use crate::locks;
use crate::service::{ServiceError, now};

/// How long a signed status list token is valid, and how long it is cached.
const STATUS_LIST_TTL: i64 = 300;

impl Federation {
    /// The region this gateway serves.
    pub fn region(&self) -> &str {
        &self.policy.region
    }

    /// The issuer of own cards.
    pub fn issuer(&self) -> &str {
        &self.policy.issuer
    }

    /// The change sequence this replica has seen.
    pub fn sequence(&self) -> u64 {
        self.state.sequence()
    }

    /// The own JWK Set (RFC 7517) as published now.
    pub fn jwks_json(&self) -> String {
        self.state.keyring().jwks(now()).to_string()
    }

    /// Own revoked keys, oldest revocation first (published with the trust bundle).
    pub fn revoked_keys(&self) -> Vec<crate::trust::OwnKeyRevocation> {
        self.state
            .keyring()
            .revocations()
            .into_iter()
            .cloned()
            .collect()
    }

    /// The own token profile in the profiles/ file format, for partners whose entry says
    /// `profile = "published"`.
    pub fn profile_toml(&self) -> String {
        self.verification.own_profile().to_toml()
    }

    /// The URI own tokens point to for their status.
    pub fn status_list_uri(&self) -> &str {
        &self.policy.status_list_uri
    }

    /// How often partners should poll, in seconds (at least one).
    pub fn refresh_hint_seconds(&self) -> u32 {
        self.links.hint.as_secs().max(1) as u32
    }

    /// How often partners should poll, in milliseconds.
    pub fn refresh_hint_millis(&self) -> u64 {
        self.links.hint.as_millis() as u64
    }

    /// The signed status list token (typ statuslist+jwt), cached per sequence for a while.
    pub fn status_list_token(&self) -> Result<String, ServiceError> {
        let t = now();
        let seq = self.state.sequence();
        let mut cached = locks::lock(&self.status_token);
        if let Some((s, iat, token)) = cached.as_ref()
            && *s == seq
            && t - iat < STATUS_LIST_TTL / 2
        {
            return Ok(token.clone());
        }
        let keys = self.state.keyring();
        let signer = keys
            .signer(t)
            .ok_or_else(|| ServiceError::Internal("no signing key".into()))?;
        let token = sign_status_list_token(
            self.state.status().list(),
            &self.policy.status_list_uri,
            &self.policy.issuer,
            t,
            STATUS_LIST_TTL,
            signer,
        )
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        *cached = Some((seq, t, token.clone()));
        Ok(token)
    }
}

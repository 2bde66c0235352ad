//! Counter tokens: issued to a named counter by an operator, accepted as that counter,
//! recorded one by one so that one can be revoked before it expires.
//!
//! The verify path reads memory only: the HMAC key, and the ids of revoked tokens, which
//! every replica reloads when the change sequence moves (a revocation moves it).

use super::stated_reason::stated_reason;
use super::{AuditSink, ServiceError, TrustState, now};
use crate::credential::{
    CounterClaims, CounterTokenError, CounterTokenKey, KeyEncryptionKeys, MAX_COUNTER_TOKEN_HOURS,
};
use crate::domain::{Role, SpiffeId};
use crate::locks;
use crate::store::{AuditEntry, CounterTokenRecord, CounterTokenRevocation, RevokeOutcome, Store};
use std::collections::HashSet;
use std::sync::{Arc, RwLock};

/// The HMAC key's name in `sealed_secrets`, also its sealing label.
pub const COUNTER_TOKEN_KEY_NAME: &str = "counter_token_hmac";

/// A token just issued.
#[derive(Debug, Clone)]
pub struct IssuedCounterToken {
    /// The bearer token.
    pub token: String,
    /// Its id (`jti`), to list or revoke it by.
    pub token_id: String,
    /// The counter identity it stands for.
    pub counter: SpiffeId,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A recorded counter token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterTokenView {
    /// Its id (`jti`).
    pub token_id: String,
    /// The counter it stands for.
    pub counter: String,
    /// The operator who issued it.
    pub issued_by: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// When it was revoked (Unix seconds) and why.
    pub revoked: Option<(i64, String)>,
}

impl From<CounterTokenRecord> for CounterTokenView {
    fn from(r: CounterTokenRecord) -> Self {
        Self {
            token_id: r.token_id,
            counter: r.counter,
            issued_by: r.issued_by,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            revoked: r
                .revoked_at
                .map(|at| (at, r.revoke_reason.unwrap_or_default())),
        }
    }
}

/// What the verify path holds: the keys, and the revoked ids.
pub(crate) struct CounterTokens {
    key: CounterTokenKey,
    /// The key versions before the key of its own derived from the key-encryption key:
    /// what they issued verifies until it expires (24 h at most).
    legacy: Option<CounterTokenKey>,
    revoked: RwLock<Arc<HashSet<String>>>,
}

impl CounterTokens {
    /// Opens the sealed HMAC key, making it first if there is none (one replica wins, every
    /// replica reads back the winner's), and loads the revoked ids.
    pub(crate) async fn load(
        store: &dyn Store,
        kek: &KeyEncryptionKeys,
        legacy_secret: Option<&[u8; 32]>,
    ) -> anyhow::Result<Self> {
        let sealed = match store.sealed_secret(COUNTER_TOKEN_KEY_NAME).await? {
            Some(sealed) => sealed,
            None => {
                let mut fresh = zeroize::Zeroizing::new([0u8; 32]);
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, fresh.as_mut_slice());
                let sealed = kek.seal(fresh.as_slice(), COUNTER_TOKEN_KEY_NAME);
                if store
                    .insert_sealed_secret(COUNTER_TOKEN_KEY_NAME, &sealed, now())
                    .await?
                {
                    tracing::info!("created the counter-token key (sealed in the database)");
                }
                store
                    .sealed_secret(COUNTER_TOKEN_KEY_NAME)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("the counter-token key vanished"))?
            }
        };
        let opened = kek.open(&sealed, COUNTER_TOKEN_KEY_NAME).map_err(|e| {
            anyhow::anyhow!(
                "the counter-token key in the database: {e}; is the key-encryption key right?"
            )
        })?;
        let bytes: [u8; 32] = opened.as_slice().try_into().map_err(|_| {
            anyhow::anyhow!("the counter-token key in the database is not 32 bytes")
        })?;
        let tokens = Self {
            key: CounterTokenKey::from_bytes(bytes),
            legacy: legacy_secret.map(CounterTokenKey::derive),
            revoked: RwLock::default(),
        };
        tokens.reload_revoked(store).await?;
        Ok(tokens)
    }

    /// Reloads the revoked ids of tokens not yet expired.
    pub(crate) async fn reload_revoked(&self, store: &dyn Store) -> Result<(), ServiceError> {
        let ids: HashSet<String> = store
            .revoked_counter_tokens(now())
            .await?
            .into_iter()
            .collect();
        self.set_revoked(Arc::new(ids));
        Ok(())
    }

    fn set_revoked(&self, ids: Arc<HashSet<String>>) {
        *locks::write(&self.revoked) = ids;
    }

    fn revoked(&self) -> Arc<HashSet<String>> {
        locks::read(&self.revoked).clone()
    }

    /// Marks one id revoked on this replica at once (the others follow the sequence).
    fn note_revoked(&self, token_id: &str) {
        let mut ids = (*self.revoked()).clone();
        ids.insert(token_id.to_owned());
        self.set_revoked(Arc::new(ids));
    }

    fn sign(&self, claims: &CounterClaims) -> String {
        self.key.sign(claims)
    }

    /// The claims of a good token: signed by either key, unexpired, not revoked.
    fn verify(&self, token: &str, now: i64) -> Result<CounterClaims, CounterTokenError> {
        let claims = match (self.key.verify(token, now), &self.legacy) {
            (Err(CounterTokenError::BadSignature), Some(legacy)) => legacy.verify(token, now)?,
            (result, _) => result?,
        };
        if self.revoked().contains(&claims.jti) {
            return Err(CounterTokenError::Revoked);
        }
        Ok(claims)
    }
}

/// Counter tokens as operators issue, list and revoke them, and as the identity layer
/// checks them (from memory: the key and the revoked ids live in [`TrustState`]).
pub struct Counters {
    state: Arc<TrustState>,
    store: Arc<dyn Store>,
    audit: AuditSink,
    /// The own issuer: tokens name it, and only tokens naming it are accepted.
    issuer: String,
}

impl Counters {
    pub(crate) fn new(
        state: Arc<TrustState>,
        store: Arc<dyn Store>,
        audit: AuditSink,
        issuer: String,
    ) -> Self {
        Self {
            state,
            store,
            audit,
            issuer,
        }
    }

    /// A token for counter `name` in `trust_domain`, valid `hours` (1 to 24); recorded and
    /// audited in one transaction.
    pub async fn issue_counter_token(
        &self,
        caller: &str,
        trust_domain: &str,
        name: &str,
        hours: u32,
    ) -> Result<IssuedCounterToken, ServiceError> {
        if !(1..=MAX_COUNTER_TOKEN_HOURS).contains(&hours) {
            return Err(ServiceError::invalid(
                "valid_hours",
                format!("between 1 and {MAX_COUNTER_TOKEN_HOURS}"),
            ));
        }
        let counter: SpiffeId = format!("spiffe://{trust_domain}/counter/{name}")
            .parse()
            .map_err(|_| ServiceError::invalid("name", "letters, digits, '-', '.' or '_' only"))?;
        let iat = now();
        let claims = CounterClaims {
            iss: self.issuer.clone(),
            sub: counter.to_string(),
            iat,
            exp: iat + i64::from(hours) * 3600,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let record = CounterTokenRecord {
            token_id: claims.jti.clone(),
            counter: claims.sub.clone(),
            issued_by: caller.to_owned(),
            issued_at: iat,
            expires_at: claims.exp,
            revoked_at: None,
            revoke_reason: None,
        };
        let audit = AuditEntry {
            at: iat,
            caller: caller.to_owned(),
            event: "counter_token.issue".into(),
            object: claims.sub.clone(),
            result: "ok".into(),
            detail: format!("token {} valid {hours} h", claims.jti),
        };
        self.store.insert_counter_token(&record, &audit).await?;
        Ok(IssuedCounterToken {
            token: self.state.counter_tokens.sign(&claims),
            token_id: claims.jti,
            counter,
            expires_at: claims.exp,
        })
    }

    /// Revokes one counter token for good; every replica refuses it within a refresh.
    pub async fn revoke_counter_token(
        &self,
        caller: &str,
        token_id: &str,
        reason: &str,
    ) -> Result<CounterTokenView, ServiceError> {
        let token_id = token_id.trim();
        if token_id.is_empty() {
            return Err(ServiceError::invalid(
                "token_id",
                "is required (see `counter list`)",
            ));
        }
        let Ok(id) = uuid::Uuid::parse_str(token_id) else {
            return Err(ServiceError::invalid(
                "token_id",
                "not a counter token id (a UUID, as `counter list` shows)",
            ));
        };
        let token_id = id.hyphenated().to_string();
        let reason = stated_reason(reason, "say why the counter token is revoked")?;
        let t = now();
        let revocation = CounterTokenRevocation {
            token_id: token_id.clone(),
            reason: reason.clone(),
            at: t,
        };
        let audit = AuditEntry {
            at: t,
            caller: caller.to_owned(),
            event: "counter_token.revoke".into(),
            object: token_id.clone(),
            result: "ok".into(),
            detail: reason,
        };
        match self.store.revoke_counter_token(&revocation, &audit).await? {
            RevokeOutcome::Revoked(record) => {
                // Refused on this replica at once; the others follow the sequence.
                self.state.counter_tokens.note_revoked(&token_id);
                if let Err(e) = self.state.refresh().await {
                    tracing::warn!(error = %e, "refresh after a counter-token revocation failed; the poller retries");
                }
                Ok(record.into())
            }
            RevokeOutcome::AlreadyRevoked(record) => {
                self.audit.event(
                    caller,
                    "counter_token.revoke",
                    &token_id,
                    "refused",
                    "already revoked",
                );
                Err(ServiceError::FailedPrecondition(format!(
                    "counter token {token_id} was revoked at {} (Unix seconds); revocation is final",
                    record.revoked_at.unwrap_or_default()
                )))
            }
            RevokeOutcome::Unknown => Err(ServiceError::NotFound(format!(
                "token_id: no counter token {token_id} is recorded"
            ))),
        }
    }

    /// Recorded counter tokens, newest first: those not yet expired, or all.
    pub async fn counter_tokens(
        &self,
        include_expired: bool,
    ) -> Result<Vec<CounterTokenView>, ServiceError> {
        let after = if include_expired { i64::MIN } else { now() };
        Ok(self
            .store
            .counter_tokens(after)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The counter a token stands for; UNAUTHENTICATED, saying why, when it is not good.
    pub fn counter_of(&self, token: &str) -> Result<SpiffeId, ServiceError> {
        let claims = self
            .state
            .counter_tokens
            .verify(token, now())
            .map_err(|e| ServiceError::Unauthenticated(e.to_string()))?;
        match claims.sub.parse::<SpiffeId>() {
            // Only ever a counter: a token can never stand for an operator or a partner.
            Ok(id) if id.role() == Role::Counter && claims.iss == self.issuer => Ok(id),
            _ => Err(ServiceError::Unauthenticated(
                "the counter token does not name a counter of this gateway".into(),
            )),
        }
    }
}

//! Persistence behind one trait, with SQLite (the embedded default) and PostgreSQL (replicas).
//! The SQL is shared: both speak `$n` parameters, `ON CONFLICT` and `RETURNING`.

mod audit_chain;
mod counter_tokens;
mod error;
mod postgres;
mod records;
mod sql;
mod sqlite;

pub use audit_chain::{AuditEntry, chain_hash};
pub use counter_tokens::{CounterTokenRecord, CounterTokenRevocation, RevokeOutcome};
pub use error::StoreError;
pub use records::KeyRevocationRecord;
pub use records::{
    AuditRecord, CardRecord, CatalogueVersionRecord, ChallengeUse, FederationRecord,
    IdempotencyClaim, IssueOutcome, NewCard, PartnerRecord, RedeemOutcome, RedemptionRecord,
    RenewOutcome, SealedRecord, SigningKeyRecord, StatusChange,
};

use async_trait::async_trait;
use std::sync::Arc;

/// Connections of the database pool, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolState {
    /// Open and idle.
    pub idle: u32,
    /// Open and lent out.
    pub in_use: u32,
    /// Most the pool opens.
    pub max: u32,
}

/// Everything the gateway keeps. One implementation per database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;

    /// How the connection pool stands now (no round trip).
    fn pool_state(&self) -> PoolState;

    /// Is the database answering?
    async fn ping(&self) -> Result<(), StoreError>;

    /// The change sequence (grows with keys, status and catalogue changes).
    async fn sequence(&self) -> Result<u64, StoreError>;

    /// All signing keys, oldest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;

    /// Inserts a key unless its generation exists (only one replica makes each generation).
    /// Returns false when another replica won. Bumps the sequence when inserted.
    async fn insert_signing_key(
        &self,
        key: &SigningKeyRecord,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// Issues cards in one transaction, each under its optional idempotency claim.
    async fn issue_cards(
        &self,
        cards: &[(NewCard, Option<IdempotencyClaim>)],
        audit: &[AuditEntry],
    ) -> Result<Vec<IssueOutcome>, StoreError>;

    /// One card by number.
    async fn card(&self, card_id: &str) -> Result<Option<CardRecord>, StoreError>;

    /// Moves a card to a new status if its current status is one of `from`; bumps the sequence.
    /// Returns the card as it is afterwards, or None if no such card.
    async fn change_status(
        &self,
        change: &StatusChange,
        audit: &AuditEntry,
    ) -> Result<Option<(CardRecord, bool)>, StoreError>;

    /// Replaces a card's token (renewal) under an optional idempotency claim.
    async fn renew_card(
        &self,
        card: &CardRecord,
        claim: Option<&IdempotencyClaim>,
        audit: &AuditEntry,
    ) -> Result<RenewOutcome, StoreError>;

    /// `(status_index, status)` of every card, for the in-memory status list.
    async fn card_statuses(&self) -> Result<Vec<(i64, String)>, StoreError>;

    /// Every partner.
    async fn partners(&self) -> Result<Vec<PartnerRecord>, StoreError>;

    /// Inserts or updates a partner (keeping its suspension and, when `jwks_json` is None,
    /// its last good keys); bumps the sequence.
    async fn put_partner(&self, p: &PartnerRecord, audit: &AuditEntry) -> Result<(), StoreError>;

    /// Suspends or resumes a partner; bumps the sequence. None when unknown.
    async fn set_partner_suspended(
        &self,
        id: &str,
        suspended: bool,
        audit: &AuditEntry,
    ) -> Result<Option<PartnerRecord>, StoreError>;

    /// Removes a partner; bumps the sequence. False when unknown.
    async fn remove_partner(&self, id: &str, audit: &AuditEntry) -> Result<bool, StoreError>;

    /// Every catalogue version.
    async fn catalogue_versions(&self) -> Result<Vec<CatalogueVersionRecord>, StoreError>;

    /// Stores a new catalogue version; false when the version id exists. Bumps the sequence.
    async fn insert_catalogue_version(
        &self,
        v: &CatalogueVersionRecord,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// How many transactions may write at once to good effect (1 for SQLite).
    fn writers(&self) -> usize;

    /// Records redemptions in one transaction (group commit), each exactly once per
    /// (caller, key), counted against its allowance per (issuer, card, quota key, period)
    /// when given. A refused item leaves nothing behind; outcomes in order.
    async fn redeem_batch(
        &self,
        items: &[(RedemptionRecord, Option<i64>, AuditEntry)],
    ) -> Result<Vec<RedeemOutcome>, StoreError>;

    /// A card's redemptions, newest first.
    async fn redemptions(
        &self,
        card_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<RedemptionRecord>, StoreError>;

    /// Audit records after `after_seq`, in chain order, at most `limit`.
    async fn audit_records(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// The chain head: the last sequence number and its hash.
    async fn audit_head(&self) -> Result<(i64, Vec<u8>), StoreError>;

    /// Appends audit records to the hash chain in one transaction.
    async fn append_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError>;

    /// Stores a holder-proof nonce until `expires_at`, as versions before stateless nonces did.
    async fn insert_challenge(&self, nonce: &str, expires_at: i64) -> Result<(), StoreError>;

    /// Uses a nonce at `now`, at most once across every replica (one conditional UPDATE).
    async fn consume_challenge(&self, nonce: &str, now: i64) -> Result<ChallengeUse, StoreError>;

    /// Uses a nonce that carries its own expiry (stateless, never stored before) at `now`:
    /// one INSERT that only the first use across every replica wins.
    async fn consume_minted_challenge(
        &self,
        nonce: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<ChallengeUse, StoreError>;

    /// Deletes nonces that expired before `before`; how many.
    async fn purge_challenges(&self, before: i64) -> Result<u64, StoreError>;

    /// Every partner's federation state.
    async fn federation_records(&self) -> Result<Vec<FederationRecord>, StoreError>;

    /// Takes (or extends) the lease to refresh `partner_id` until `until` (ms) unless another
    /// replica holds it past `now` (ms). True when `owner` holds it now.
    async fn claim_federation_lease(
        &self,
        partner_id: &str,
        owner: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError>;

    /// Stores a good bundle if `r.lease_owner` still holds the lease and the sequence does
    /// not go backwards; audited when given. False when refused.
    async fn store_federation_bundle(
        &self,
        r: &FederationRecord,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError>;

    /// Notes a failed refresh (the last good bundle stays).
    async fn note_federation_error(
        &self,
        partner_id: &str,
        owner: &str,
        at: i64,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Records an issued counter token with its audit record, in one transaction.
    async fn insert_counter_token(
        &self,
        t: &CounterTokenRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Revokes a counter token unless it was revoked before (final); bumps the sequence and
    /// audits when it changed.
    async fn revoke_counter_token(
        &self,
        r: &CounterTokenRevocation,
        audit: &AuditEntry,
    ) -> Result<RevokeOutcome, StoreError>;

    /// Recorded counter tokens expiring after `after`, newest first.
    async fn counter_tokens(&self, after: i64) -> Result<Vec<CounterTokenRecord>, StoreError>;

    /// Ids of revoked counter tokens expiring after `after`, for the verify path.
    async fn revoked_counter_tokens(&self, after: i64) -> Result<Vec<String>, StoreError>;

    /// A sealed secret by name.
    async fn sealed_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores a sealed secret unless one by that name exists (the first replica wins).
    async fn insert_sealed_secret(
        &self,
        name: &str,
        sealed: &[u8],
        created_at: i64,
    ) -> Result<bool, StoreError>;
    /// Every key revocation, own and partners', oldest first.
    async fn key_revocations(&self) -> Result<Vec<KeyRevocationRecord>, StoreError>;

    /// Revokes a key for good unless it is revoked already (then nothing changes, false).
    /// `promote` (kid, at) makes that own key sign from `at` if it would sign later: the
    /// emergency switch, in the same transaction. Bumps the sequence and audits when stored.
    async fn revoke_key(
        &self,
        r: &KeyRevocationRecord,
        promote: Option<(&str, i64)>,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;

    /// Cards not revoked and unexpired at `now` whose token `kid` signed, by number, at most
    /// `limit`.
    async fn live_cards_signed_by(
        &self,
        kid: &str,
        now: i64,
        limit: i64,
    ) -> Result<Vec<CardRecord>, StoreError>;

    /// Stores new tokens for cards whose token `old_kid` still signs (a card renewed
    /// meanwhile is left alone), in one transaction with an audit record each; how many.
    async fn replace_tokens(
        &self,
        cards: &[CardRecord],
        old_kid: &str,
        audit: &[AuditEntry],
    ) -> Result<u64, StoreError>;

    /// Every stored sealed key, from every table that keeps one (`sql::SEALED_COLUMNS`).
    async fn sealed_records(&self) -> Result<Vec<SealedRecord>, StoreError>;

    /// Replaces sealed keys in one transaction, each only if it is still what was read
    /// (else nothing is written: run again), and audits it.
    async fn reseal(
        &self,
        updates: &[(SealedRecord, Vec<u8>)],
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
}

/// Opens the store the URL names and applies its migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::InvalidUrl(
            "database URL must start with sqlite: or postgres://".into(),
        ))
    }
}

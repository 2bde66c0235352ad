//! Persistence behind one trait per aggregate (`Store` is all of them), with SQLite (the
//! embedded default) and PostgreSQL (replicas). Each aggregate's file holds its trait and
//! the SQL that implements it for both.
//! The SQL is shared: both speak `$n` parameters, `ON CONFLICT` and `RETURNING`.

mod audit_chain;
mod audit_log;
mod cards;
mod catalogue;
mod challenges;
mod counter_tokens;
mod database;
mod error;
mod federation;
mod keys;
mod partners;
mod postgres;
mod records;
mod redemptions;
mod secrets;
mod sql;
mod sqlite;
mod witness;

pub use audit_chain::{AuditEntry, chain_hash};
pub use audit_log::AuditLog;
pub use cards::CardStore;
pub use catalogue::CatalogueStore;
pub use challenges::ChallengeStore;
pub use counter_tokens::{
    CounterTokenRecord, CounterTokenRevocation, CounterTokenStore, RevokeOutcome,
};
pub use database::DatabaseState;
pub use error::StoreError;
pub use federation::FederationStore;
pub use keys::KeyStore;
pub use partners::PartnerStore;
pub use redemptions::RedemptionStore;
pub use secrets::SecretStore;
pub use witness::{OwnCheckpointRecord, WitnessStore, WitnessedCheckpointRecord};

pub use records::KeyRevocationRecord;
pub use records::{
    AuditRecord, CardRecord, CatalogueVersionRecord, ChallengeUse, FederationRecord,
    IdempotencyClaim, IssueOutcome, NewCard, PartnerRecord, RedeemOutcome, RedemptionRecord,
    RenewOutcome, SealedRecord, SigningKeyRecord, StatusChange,
};

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

/// Everything the gateway keeps, one trait per aggregate. One implementation per database;
/// held as `Arc<dyn Store>`.
pub trait Store:
    DatabaseState
    + CardStore
    + KeyStore
    + PartnerStore
    + CatalogueStore
    + RedemptionStore
    + AuditLog
    + ChallengeStore
    + FederationStore
    + CounterTokenStore
    + SecretStore
    + WitnessStore
{
}

impl<
    T: DatabaseState
        + CardStore
        + KeyStore
        + PartnerStore
        + CatalogueStore
        + RedemptionStore
        + AuditLog
        + ChallengeStore
        + FederationStore
        + CounterTokenStore
        + SecretStore
        + WitnessStore,
> Store for T
{
}

/// Opens the store the URL names and applies its migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::InvalidUrl(
            "it must start with sqlite: or postgres://".into(),
        ))
    }
}

//! Counter tokens as recorded (the id, never the token).

use super::{AuditEntry, StoreError};
use async_trait::async_trait;

/// An issued counter token as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CounterTokenRecord {
    /// The token's `jti`.
    pub token_id: String,
    /// The counter it stands for, `spiffe://TRUST_DOMAIN/counter/NAME`.
    pub counter: String,
    /// The operator who issued it.
    pub issued_by: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// When it was revoked, if it was (final).
    pub revoked_at: Option<i64>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
}

/// A revocation to record.
#[derive(Debug, Clone)]
pub struct CounterTokenRevocation {
    /// The token's id.
    pub token_id: String,
    /// Why.
    pub reason: String,
    /// Unix seconds.
    pub at: i64,
}

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Revoked now; the token as it is afterwards.
    Revoked(CounterTokenRecord),
    /// It had been revoked before; unchanged.
    AlreadyRevoked(CounterTokenRecord),
    /// No token by that id.
    Unknown,
}

/// Issued counter tokens and their revocations.
#[async_trait]
pub trait CounterTokenStore: Send + Sync + 'static {
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
}

/// Implements `CounterTokenStore` for a store with a `pool` and `sql::impl_sql_helpers`.
macro_rules! impl_counter_token_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::CounterTokenStore for $store {
            async fn insert_counter_token(
                &self,
                t: &$crate::store::CounterTokenRecord,
                audit: &$crate::store::AuditEntry,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO counter_tokens (token_id, counter, issued_by, issued_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&t.token_id)
                .bind(&t.counter)
                .bind(&t.issued_by)
                .bind(t.issued_at)
                .bind(t.expires_at)
                .execute(&mut *tx)
                .await?;
                Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn revoke_counter_token(
                &self,
                r: &$crate::store::CounterTokenRevocation,
                audit: &$crate::store::AuditEntry,
            ) -> Result<$crate::store::RevokeOutcome, $crate::store::StoreError> {
                use $crate::store::RevokeOutcome;
                let mut tx = self.begin_write().await?;
                // Only the first revocation changes the row: revocation is final.
                let changed = sqlx::query(
                    "UPDATE counter_tokens SET revoked_at = $1, revoke_reason = $2 \
                     WHERE token_id = $3 AND revoked_at IS NULL",
                )
                .bind(r.at)
                .bind(&r.reason)
                .bind(&r.token_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                let row: Option<$crate::store::CounterTokenRecord> =
                    sqlx::query_as("SELECT * FROM counter_tokens WHERE token_id = $1")
                        .bind(&r.token_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                Self::commit_change(tx, changed, audit).await?;
                Ok(match row {
                    None => RevokeOutcome::Unknown,
                    Some(t) if changed => RevokeOutcome::Revoked(t),
                    Some(t) => RevokeOutcome::AlreadyRevoked(t),
                })
            }

            async fn counter_tokens(
                &self,
                after: i64,
            ) -> Result<Vec<$crate::store::CounterTokenRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT * FROM counter_tokens WHERE expires_at > $1 \
                     ORDER BY issued_at DESC, token_id",
                )
                .bind(after)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn revoked_counter_tokens(
                &self,
                after: i64,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT token_id FROM counter_tokens \
                     WHERE revoked_at IS NOT NULL AND expires_at > $1",
                )
                .bind(after)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

pub(crate) use impl_counter_token_store;

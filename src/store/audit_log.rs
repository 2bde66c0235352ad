//! The hash-chained audit log.

use super::{AuditEntry, AuditRecord, StoreError};
use async_trait::async_trait;

/// The hash-chained audit log.
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
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
}

/// Implements `AuditLog` for a store with a `pool` and `sql::impl_sql_helpers`.
macro_rules! impl_audit_log {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::AuditLog for $store {
            async fn audit_records(
                &self,
                after_seq: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::AuditRecord>, $crate::store::StoreError> {
                Ok(
                    sqlx::query_as("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
                        .bind(after_seq)
                        .bind(limit)
                        .fetch_all(&self.pool)
                        .await?,
                )
            }

            async fn audit_head(&self) -> Result<(i64, Vec<u8>), $crate::store::StoreError> {
                Ok(
                    sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                        .fetch_one(&self.pool)
                        .await?,
                )
            }

            async fn append_audit(
                &self,
                entries: &[$crate::store::AuditEntry],
            ) -> Result<(), $crate::store::StoreError> {
                if entries.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                Self::append_in(&mut tx, entries).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_audit_log;

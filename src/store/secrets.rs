//! Sealed secrets, and every sealed key wherever it is kept (`keys rewrap`).

use super::{AuditEntry, SealedRecord, StoreError};
use async_trait::async_trait;

/// Sealed secrets and sealed keys.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// A sealed secret by name.
    async fn sealed_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores a sealed secret unless one by that name exists (the first replica wins).
    async fn insert_sealed_secret(
        &self,
        name: &str,
        sealed: &[u8],
        created_at: i64,
    ) -> Result<bool, StoreError>;

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

/// Implements `SecretStore` for a store with a `pool` and `sql::impl_sql_helpers`.
macro_rules! impl_secret_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::SecretStore for $store {
            async fn sealed_secret(
                &self,
                name: &str,
            ) -> Result<Option<Vec<u8>>, $crate::store::StoreError> {
                Ok(
                    sqlx::query_scalar("SELECT sealed FROM sealed_secrets WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?,
                )
            }

            async fn insert_sealed_secret(
                &self,
                name: &str,
                sealed: &[u8],
                created_at: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                Ok(sqlx::query(
                    "INSERT INTO sealed_secrets (name, sealed, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(sealed)
                .bind(created_at)
                .execute(&self.pool)
                .await?
                .rows_affected()
                    == 1)
            }

            async fn sealed_records(
                &self,
            ) -> Result<Vec<$crate::store::SealedRecord>, $crate::store::StoreError> {
                let mut out = Vec::new();
                for c in $crate::store::sql::SEALED_COLUMNS {
                    let rows: Vec<(String, String, Vec<u8>)> =
                        sqlx::query_as(c.select).fetch_all(&self.pool).await?;
                    out.extend(rows.into_iter().map(|(name, label, sealed)| {
                        $crate::store::SealedRecord {
                            table: c.table,
                            name,
                            label,
                            sealed,
                        }
                    }));
                }
                Ok(out)
            }

            async fn reseal(
                &self,
                updates: &[($crate::store::SealedRecord, Vec<u8>)],
                audit: &$crate::store::AuditEntry,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                for (r, sealed) in updates {
                    let c = $crate::store::sql::SEALED_COLUMNS
                        .iter()
                        .find(|c| c.table == r.table)
                        .ok_or_else(|| {
                            $crate::store::StoreError::Corrupt(format!(
                                "no sealed table {}",
                                r.table
                            ))
                        })?;
                    let done = sqlx::query(c.update)
                        .bind(sealed)
                        .bind(&r.name)
                        .bind(&r.sealed)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if done != 1 {
                        // Dropping the transaction rolls everything back.
                        return Err($crate::store::StoreError::Corrupt(format!(
                            "{} {} changed during the rewrap; nothing was written, run it again",
                            r.table, r.name
                        )));
                    }
                }
                Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_secret_store;

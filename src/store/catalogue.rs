//! Catalogue versions, each kept whole.

use super::{AuditEntry, CatalogueVersionRecord, StoreError};
use async_trait::async_trait;

/// Catalogue versions.
#[async_trait]
pub trait CatalogueStore: Send + Sync + 'static {
    /// Every catalogue version.
    async fn catalogue_versions(&self) -> Result<Vec<CatalogueVersionRecord>, StoreError>;

    /// Stores a new catalogue version; false when the version id exists. Bumps the sequence.
    async fn insert_catalogue_version(
        &self,
        v: &CatalogueVersionRecord,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError>;
}

/// Implements `CatalogueStore` for a store with a `pool` and `sql::impl_sql_helpers`.
macro_rules! impl_catalogue_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::CatalogueStore for $store {
            async fn catalogue_versions(
                &self,
            ) -> Result<Vec<$crate::store::CatalogueVersionRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT * FROM catalogue_versions ORDER BY effective_from, imported_at",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn insert_catalogue_version(
                &self,
                v: &$crate::store::CatalogueVersionRecord,
                audit: &$crate::store::AuditEntry,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let inserted = sqlx::query(
                    "INSERT INTO catalogue_versions (version, document, effective_from, imported_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(&v.version)
                .bind(&v.document)
                .bind(v.effective_from)
                .bind(v.imported_at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                Self::commit_change(tx, inserted, audit).await
            }
        }
    };
}

pub(crate) use impl_catalogue_store;

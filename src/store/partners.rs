//! Partners under the agreement.

use super::{AuditEntry, PartnerRecord, StoreError};
use async_trait::async_trait;

/// Partners under the agreement.
#[async_trait]
pub trait PartnerStore: Send + Sync + 'static {
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
}

/// Implements `PartnerStore` for a store with a `pool` and `sql::impl_sql_helpers`.
macro_rules! impl_partner_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::PartnerStore for $store {
            async fn partners(
                &self,
            ) -> Result<Vec<$crate::store::PartnerRecord>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::records::PartnerRow> =
                    sqlx::query_as("SELECT * FROM partners ORDER BY id")
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn put_partner(
                &self,
                p: &$crate::store::PartnerRecord,
                audit: &$crate::store::AuditEntry,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO partners (id, profile, issuer, jwks_file, federation_endpoint, \
                     spiffe_id, source, suspended, jwks_json, bundle_sequence, refreshed_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, \
                     issuer = excluded.issuer, jwks_file = excluded.jwks_file, \
                     federation_endpoint = excluded.federation_endpoint, \
                     spiffe_id = excluded.spiffe_id, source = excluded.source, \
                     jwks_json = COALESCE(excluded.jwks_json, partners.jwks_json), \
                     refreshed_at = COALESCE(excluded.refreshed_at, partners.refreshed_at), \
                     updated_at = excluded.updated_at",
                )
                .bind(&p.id)
                .bind(&p.profile)
                .bind(&p.issuer)
                .bind(&p.jwks_file)
                .bind(&p.federation_endpoint)
                .bind(&p.spiffe_id)
                .bind(&p.source)
                .bind(i32::from(p.suspended))
                .bind(&p.jwks_json)
                .bind(p.bundle_sequence)
                .bind(p.refreshed_at)
                .bind(p.updated_at)
                .execute(&mut *tx)
                .await?;
                Self::commit_change(tx, true, audit).await?;
                Ok(())
            }

            async fn set_partner_suspended(
                &self,
                id: &str,
                suspended: bool,
                audit: &$crate::store::AuditEntry,
            ) -> Result<Option<$crate::store::PartnerRecord>, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let changed = sqlx::query(
                    "UPDATE partners SET suspended = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(i32::from(suspended))
                .bind(audit.at)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !changed {
                    return Ok(None);
                }
                Self::bump_sequence(&mut tx).await?;
                Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
                let p: Option<$crate::store::records::PartnerRow> =
                    sqlx::query_as("SELECT * FROM partners WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                tx.commit().await?;
                Ok(p.map(Into::into))
            }

            async fn remove_partner(
                &self,
                id: &str,
                audit: &$crate::store::AuditEntry,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let removed = sqlx::query("DELETE FROM partners WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                Self::commit_change(tx, removed, audit).await
            }
        }
    };
}

pub(crate) use impl_partner_store;

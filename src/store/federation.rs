//! Partners' federation state: the last good trust bundle, and the lease that lets one
//! replica refresh it.

use super::{AuditEntry, FederationRecord, StoreError};
use async_trait::async_trait;

/// Partners' federation state.
#[async_trait]
pub trait FederationStore: Send + Sync + 'static {
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
}

/// Implements `FederationStore` for a store with a `pool` and `sql::impl_sql_helpers`.
macro_rules! impl_federation_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::FederationStore for $store {
            async fn federation_records(
                &self,
            ) -> Result<Vec<$crate::store::FederationRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as("SELECT * FROM partner_federation ORDER BY partner_id")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn claim_federation_lease(
                &self,
                partner_id: &str,
                owner: &str,
                now: i64,
                until: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                // One statement decides, so two replicas cannot both hold a live lease.
                let won: Option<(String,)> = sqlx::query_as(
                    "INSERT INTO partner_federation (partner_id, lease_owner, lease_until) \
                     VALUES ($1, $2, $4) ON CONFLICT (partner_id) DO UPDATE SET \
                     lease_owner = excluded.lease_owner, lease_until = excluded.lease_until \
                     WHERE partner_federation.lease_until < $3 \
                     OR partner_federation.lease_owner = excluded.lease_owner \
                     RETURNING partner_id",
                )
                .bind(partner_id)
                .bind(owner)
                .bind(now)
                .bind(until)
                .fetch_optional(&self.pool)
                .await?;
                Ok(won.is_some())
            }

            async fn store_federation_bundle(
                &self,
                r: &$crate::store::FederationRecord,
                audit: Option<&$crate::store::AuditEntry>,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let stored = sqlx::query(
                    "UPDATE partner_federation SET jwks_json = $1, status_list_token = $2, \
                     sequence = $3, catalogue_version = $4, refresh_millis = $5, fetched_at = $6, \
                     last_attempt = $6, last_error = '', updated_at = $6, profile_toml = $9 \
                     WHERE partner_id = $7 AND lease_owner = $8 AND sequence <= $3",
                )
                .bind(&r.jwks_json)
                .bind(&r.status_list_token)
                .bind(r.sequence)
                .bind(&r.catalogue_version)
                .bind(r.refresh_millis)
                .bind(r.fetched_at)
                .bind(&r.partner_id)
                .bind(&r.lease_owner)
                .bind(&r.profile_toml)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if stored && let Some(a) = audit {
                    Self::append_in(&mut tx, std::slice::from_ref(a)).await?;
                }
                tx.commit().await?;
                Ok(stored)
            }

            async fn note_federation_error(
                &self,
                partner_id: &str,
                owner: &str,
                at: i64,
                error: &str,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "UPDATE partner_federation SET last_attempt = $1, last_error = $2, updated_at = $1 \
                     WHERE partner_id = $3 AND lease_owner = $4",
                )
                .bind(at)
                .bind(error)
                .bind(partner_id)
                .bind(owner)
                .execute(&self.pool)
                .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_federation_store;

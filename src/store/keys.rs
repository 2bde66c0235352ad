//! Signing keys and key revocations (own and partners').

use super::{AuditEntry, KeyRevocationRecord, SigningKeyRecord, StoreError};
use async_trait::async_trait;

/// This gateway's signing keys and every key revocation.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// All signing keys, oldest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;

    /// Inserts a key unless its generation exists (only one replica makes each generation).
    /// Returns false when another replica won. Bumps the sequence when inserted.
    async fn insert_signing_key(
        &self,
        key: &SigningKeyRecord,
        audit: &AuditEntry,
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
}

/// Implements `KeyStore` for a store with a `pool` and `sql::impl_sql_helpers`.
macro_rules! impl_key_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::KeyStore for $store {
            async fn signing_keys(
                &self,
            ) -> Result<Vec<$crate::store::SigningKeyRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT kid, generation, algorithm, public_key, sealed_private_key, \
                     published_at, signs_from, signed_until FROM signing_keys ORDER BY generation",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn insert_signing_key(
                &self,
                k: &$crate::store::SigningKeyRecord,
                audit: &$crate::store::AuditEntry,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let inserted = sqlx::query(
                    "INSERT INTO signing_keys (kid, generation, algorithm, public_key, \
                     sealed_private_key, published_at, signs_from, signed_until) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                )
                .bind(&k.kid)
                .bind(k.generation)
                .bind(&k.algorithm)
                .bind(&k.public_key)
                .bind(&k.sealed_private_key)
                .bind(k.published_at)
                .bind(k.signs_from)
                .bind(k.signed_until)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                Self::commit_change(tx, inserted, audit).await
            }

            async fn key_revocations(
                &self,
            ) -> Result<Vec<$crate::store::KeyRevocationRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT partner_id, kid, revoked_at, reason, source FROM key_revocations \
                     ORDER BY revoked_at, partner_id, kid",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn revoke_key(
                &self,
                r: &$crate::store::KeyRevocationRecord,
                promote: Option<(&str, i64)>,
                audit: &$crate::store::AuditEntry,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let inserted = sqlx::query(
                    "INSERT INTO key_revocations (partner_id, kid, revoked_at, reason, source) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(&r.partner_id)
                .bind(&r.kid)
                .bind(r.revoked_at)
                .bind(&r.reason)
                .bind(&r.source)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if inserted && let Some((kid, at)) = promote {
                    sqlx::query(
                        "UPDATE signing_keys SET signs_from = $1 WHERE kid = $2 AND signs_from > $1",
                    )
                    .bind(at)
                    .bind(kid)
                    .execute(&mut *tx)
                    .await?;
                }
                Self::commit_change(tx, inserted, audit).await
            }
        }
    };
}

pub(crate) use impl_key_store;

//! Holder-proof nonces, each used at most once across every replica.

use super::{ChallengeUse, StoreError};
use async_trait::async_trait;

/// Holder-proof nonces.
#[async_trait]
pub trait ChallengeStore: Send + Sync + 'static {
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
}

/// Implements `ChallengeStore` for a store with a `pool` and `sql::impl_sql_helpers`.
macro_rules! impl_challenge_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ChallengeStore for $store {
            async fn insert_challenge(
                &self,
                nonce: &str,
                expires_at: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("INSERT INTO holder_challenges (nonce, expires_at) VALUES ($1, $2)")
                    .bind(nonce)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn consume_challenge(
                &self,
                nonce: &str,
                now: i64,
            ) -> Result<$crate::store::ChallengeUse, $crate::store::StoreError> {
                use $crate::store::ChallengeUse;
                // The row's lock (PostgreSQL) or the write lock (SQLite) lets one UPDATE win;
                // a second one finds used_at set and changes nothing.
                let won = sqlx::query(
                    "UPDATE holder_challenges SET used_at = $2 \
                     WHERE nonce = $1 AND used_at IS NULL AND expires_at > $2",
                )
                .bind(nonce)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
                if won == 1 {
                    return Ok(ChallengeUse::Consumed);
                }
                // Only a refused proof pays for telling why.
                let row: Option<(i64, Option<i64>)> = sqlx::query_as(
                    "SELECT expires_at, used_at FROM holder_challenges WHERE nonce = $1",
                )
                .bind(nonce)
                .fetch_optional(&self.pool)
                .await?;
                Ok(match row {
                    None => ChallengeUse::Unknown,
                    Some((_, Some(_))) => ChallengeUse::AlreadyUsed,
                    Some((_, None)) => ChallengeUse::Expired,
                })
            }

            async fn consume_minted_challenge(
                &self,
                nonce: &str,
                expires_at: i64,
                now: i64,
            ) -> Result<$crate::store::ChallengeUse, $crate::store::StoreError> {
                use $crate::store::ChallengeUse;
                // The primary key lets one INSERT win; the row stays until the nonce
                // expires, so a replay finds it.
                let won = sqlx::query(
                    "INSERT INTO holder_challenges (nonce, expires_at, used_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (nonce) DO NOTHING",
                )
                .bind(nonce)
                .bind(expires_at)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
                Ok(if won == 1 {
                    ChallengeUse::Consumed
                } else {
                    ChallengeUse::AlreadyUsed
                })
            }

            async fn purge_challenges(
                &self,
                before: i64,
            ) -> Result<u64, $crate::store::StoreError> {
                Ok(
                    sqlx::query("DELETE FROM holder_challenges WHERE expires_at < $1")
                        .bind(before)
                        .execute(&self.pool)
                        .await?
                        .rows_affected(),
                )
            }
        }
    };
}

pub(crate) use impl_challenge_store;

//! The database itself: which one, how its pool stands, whether it answers, and the change
//! sequence replicas follow.

use super::{PoolState, StoreError};
use async_trait::async_trait;

/// Which database, how it stands, and the change sequence.
#[async_trait]
pub trait DatabaseState: Send + Sync + 'static {
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;

    /// How the connection pool stands now (no round trip).
    fn pool_state(&self) -> PoolState;

    /// Is the database answering?
    async fn ping(&self) -> Result<(), StoreError>;

    /// The change sequence (grows with keys, status and catalogue changes).
    async fn sequence(&self) -> Result<u64, StoreError>;
}

/// Implements `DatabaseState` for a store with a `pool` and `sql::impl_sql_helpers`.
macro_rules! impl_database_state {
    ($store:ty, $db:ty, $backend:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::DatabaseState for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn pool_state(&self) -> $crate::store::PoolState {
                let size = self.pool.size();
                let idle = u32::try_from(self.pool.num_idle())
                    .unwrap_or(u32::MAX)
                    .min(size);
                $crate::store::PoolState {
                    idle,
                    in_use: size - idle,
                    max: self.pool.options().get_max_connections(),
                }
            }

            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn sequence(&self) -> Result<u64, $crate::store::StoreError> {
                let (s,): (i64,) =
                    sqlx::query_as("SELECT sequence FROM gateway_state WHERE id = 1")
                        .fetch_one(&self.pool)
                        .await?;
                Ok(s as u64)
            }
        }
    };
}

pub(crate) use impl_database_state;

//! PostgreSQL, for stateless replicas.

use super::StoreError;
use super::sql::impl_sql_store;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres};
use std::time::Duration;

/// PostgreSQL store.
pub(crate) struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects and applies migrations (sqlx takes an advisory lock, so replicas starting
    /// together migrate once).
    pub(crate) async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

impl PgStore {
    /// Writers in parallel; each commits a batch.
    const WRITERS: usize = 4;
}

impl_sql_store!(PgStore, Postgres, "postgres");

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
        // While the server is away, every call waits out the acquire timeout (sqlx keeps
        // retrying a refused connection until then): short, so a counter hears UNAVAILABLE
        // within seconds rather than hanging.
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(2))
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

impl PgStore {
    /// Counts what the redemption draws (one use, or its yuan or days) against the
    /// allowance and stores what is left on it, in one round trip; None when it would pass
    /// the allowance. The quota row's lock orders concurrent redemptions across replicas.
    async fn count_quota(
        tx: &mut sqlx::Transaction<'static, Postgres>,
        r: &super::RedemptionRecord,
        allowance: i64,
    ) -> Result<Option<i64>, StoreError> {
        let remaining: Option<(i64,)> = sqlx::query_as(
            "WITH q AS (INSERT INTO quota_usage (issuer, card_id, quota_key, period, used) \
             SELECT $1, $2, $3, $4, $7 WHERE $7 <= $5 \
             ON CONFLICT (issuer, card_id, quota_key, period) \
             DO UPDATE SET used = quota_usage.used + $7 WHERE quota_usage.used + $7 <= $5 RETURNING used) \
             UPDATE redemptions SET remaining = GREATEST($5 - q.used, 0) FROM q \
             WHERE redemption_id = $6 RETURNING remaining",
        )
        .bind(&r.issuer)
        .bind(&r.card_id)
        .bind(&r.quota_key)
        .bind(&r.period)
        .bind(allowance)
        .bind(&r.redemption_id)
        .bind(r.drawn)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(remaining.map(|(r,)| r))
    }
}

impl_sql_store!(PgStore, Postgres, "postgres");

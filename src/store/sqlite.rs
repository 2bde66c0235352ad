//! The embedded default: SQLite in WAL mode.

use super::StoreError;
use super::sql::impl_sql_store;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// SQLite store.
pub(crate) struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub(crate) async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL is durable across process crashes; FULL adds power-loss safety.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Write transactions take the write lock up front, so two writers queue on the busy
    /// timeout instead of failing to upgrade a read lock.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl SqliteStore {
    /// One writer: SQLite takes one write transaction at a time.
    const WRITERS: usize = 1;
}

impl SqliteStore {
    /// Counts what the redemption draws (one use, or its yuan or days) against the
    /// allowance and stores what is left on it; None when it would pass the allowance. The
    /// write lock orders concurrent redemptions.
    async fn count_quota(
        tx: &mut sqlx::Transaction<'static, Sqlite>,
        r: &super::RedemptionRecord,
        allowance: i64,
    ) -> Result<Option<i64>, StoreError> {
        let used: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO quota_usage (issuer, card_id, quota_key, period, used) \
             SELECT $1, $2, $3, $4, $6 WHERE $6 <= $5 \
             ON CONFLICT (issuer, card_id, quota_key, period) \
             DO UPDATE SET used = quota_usage.used + $6 WHERE quota_usage.used + $6 <= $5 RETURNING used",
        )
        .bind(&r.issuer)
        .bind(&r.card_id)
        .bind(&r.quota_key)
        .bind(&r.period)
        .bind(allowance)
        .bind(r.drawn)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((used,)) = used else { return Ok(None) };
        let remaining = (allowance - used).max(0);
        sqlx::query("UPDATE redemptions SET remaining = $1 WHERE redemption_id = $2")
            .bind(remaining)
            .bind(&r.redemption_id)
            .execute(&mut **tx)
            .await?;
        Ok(Some(remaining))
    }
}

impl_sql_store!(SqliteStore, Sqlite, "sqlite");

//! What a storage failure was, decided once here from sqlx's error (SQLSTATE and kind), so
//! no caller above `store` matches database codes.

use sqlx::error::ErrorKind;

/// A storage failure; callers cannot cause these, so they map to UNAVAILABLE or INTERNAL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or did not take the work in time (connection, pool,
    /// I/O, timeouts, a server shutting down, SQLite's lock wait running out): try again.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Two writers met. Retryable when the database rolled one back to let the other pass
    /// (serialization failure, deadlock); not when a constraint refused the row.
    #[error("database conflict: {source}")]
    Conflict {
        /// Running the same transaction again may succeed.
        retryable: bool,
        /// What the database said.
        #[source]
        source: sqlx::Error,
    },
    /// Migrations failed at start-up.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The database URL (or its options) cannot be used.
    #[error("database URL is not valid: {0}")]
    InvalidUrl(String),
    /// A row broke an invariant the code relies on, or could not be decoded.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Worth running the same work again (the database rolled it back to let another pass).
    pub fn is_retryable_conflict(&self) -> bool {
        matches!(
            self,
            Self::Conflict {
                retryable: true,
                ..
            }
        )
    }
}

/// PostgreSQL serialization_failure and deadlock_detected: the transaction was rolled back
/// only so that another could pass.
const RETRYABLE_SQLSTATES: [&str; 2] = ["40001", "40P01"];

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Database(ref db) => {
                if db
                    .code()
                    .is_some_and(|c| RETRYABLE_SQLSTATES.contains(&c.as_ref()))
                {
                    return Self::Conflict {
                        retryable: true,
                        source: e,
                    };
                }
                match db.kind() {
                    ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
                    | ErrorKind::ExclusionViolation => Self::Conflict {
                        retryable: false,
                        source: e,
                    },
                    // Anything else the server says (shutting down, out of connections, the
                    // SQLite lock wait over...) is the database refusing the work, as before.
                    _ => Self::Unavailable(e),
                }
            }
            sqlx::Error::Configuration(c) => Self::InvalidUrl(c.to_string()),
            sqlx::Error::Migrate(m) => Self::Migration(*m),
            sqlx::Error::RowNotFound
            | sqlx::Error::TypeNotFound { .. }
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::Encode(_) => Self::Corrupt(e.to_string()),
            // Connection, pool, I/O, TLS, protocol: the database is not there to do the work.
            other => Self::Unavailable(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    #[tokio::test]
    async fn sqlx_errors_are_told_apart() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, n TEXT NOT NULL)")
            .execute(&mut conn)
            .await
            .expect("setup");
        sqlx::query("INSERT INTO t VALUES (1, 'a')")
            .execute(&mut conn)
            .await
            .expect("setup");
        let dup = sqlx::query("INSERT INTO t VALUES (1, 'b')")
            .execute(&mut conn)
            .await
            .expect_err("a second row with the same key");
        let dup = StoreError::from(dup);
        assert!(
            matches!(
                dup,
                StoreError::Conflict {
                    retryable: false,
                    ..
                }
            ),
            "{dup:?}"
        );
        assert!(!dup.is_retryable_conflict());

        let bad: Result<(i64,), _> = sqlx::query_as("SELECT n FROM t").fetch_one(&mut conn).await;
        let bad = StoreError::from(bad.expect_err("text is not an integer"));
        assert!(matches!(bad, StoreError::Corrupt(_)), "{bad:?}");

        let none: Result<(i64,), _> = sqlx::query_as("SELECT id FROM t WHERE id = 2")
            .fetch_one(&mut conn)
            .await;
        assert!(matches!(
            StoreError::from(none.expect_err("no such row")),
            StoreError::Corrupt(_)
        ));

        let url = crate::store::connect("mysql://x")
            .await
            .err()
            .expect("mysql is not served");
        assert!(matches!(url, StoreError::InvalidUrl(_)), "{url:?}");

        let gone = StoreError::from(sqlx::Error::PoolTimedOut);
        assert!(matches!(gone, StoreError::Unavailable(_)), "{gone:?}");
    }
}

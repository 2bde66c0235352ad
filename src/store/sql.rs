//! The SQL both backends share, written once and instantiated per database by macros: the
//! helpers here, one macro per aggregate beside its trait (sqlx's generic executor bounds
//! cost more clarity than they save).

/// Rows per multi-row statement: well under SQLite's and PostgreSQL's parameter limits.
pub(crate) const CHUNK: usize = 500;

/// The helpers every aggregate's SQL shares (audit chain, sequence, idempotency claims),
/// for a type with a `pool` field and a `begin_write` method.
macro_rules! impl_sql_helpers {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Appends audit records inside `tx`, extending the hash chain. Locking the head
            /// row serialises appenders across replicas.
            async fn append_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                entries: &[$crate::store::AuditEntry],
            ) -> Result<(), $crate::store::StoreError> {
                if entries.is_empty() {
                    return Ok(());
                }
                let (mut seq, mut prev): (i64, Vec<u8>) = sqlx::query_as(
                    "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash",
                )
                .fetch_one(&mut **tx)
                .await?;
                for chunk in entries.chunks($crate::store::sql::CHUNK) {
                    let mut rows = Vec::with_capacity(chunk.len());
                    for e in chunk {
                        seq += 1;
                        let hash = $crate::store::chain_hash(&prev, seq, e);
                        rows.push((seq, e, std::mem::replace(&mut prev, hash.clone()), hash));
                    }
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO audit_log (seq, at, caller, event, object, result, detail, prev_hash, hash) ",
                    );
                    qb.push_values(rows, |mut b, (seq, e, prev, hash)| {
                        b.push_bind(seq)
                            .push_bind(e.at)
                            .push_bind(e.caller.clone())
                            .push_bind(e.event.clone())
                            .push_bind(e.object.clone())
                            .push_bind(e.result.clone())
                            .push_bind(e.detail.clone())
                            .push_bind(prev)
                            .push_bind(hash);
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                    .bind(seq)
                    .bind(prev)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            /// Commits a change: when something changed, the sequence moves (replicas and
            /// partners notice) and the change is audited in the same transaction.
            async fn commit_change(
                mut tx: sqlx::Transaction<'static, $db>,
                changed: bool,
                audit: &$crate::store::AuditEntry,
            ) -> Result<bool, $crate::store::StoreError> {
                if changed {
                    Self::bump_sequence(&mut tx).await?;
                    Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
                }
                tx.commit().await?;
                Ok(changed)
            }

            async fn bump_sequence(
                tx: &mut sqlx::Transaction<'static, $db>,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("UPDATE gateway_state SET sequence = sequence + 1 WHERE id = 1")
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            async fn claimed_result(
                tx: &mut sqlx::Transaction<'static, $db>,
                c: &$crate::store::IdempotencyClaim,
            ) -> Result<Option<$crate::store::CardRecord>, $crate::store::StoreError> {
                let row: Option<(Vec<u8>, String)> = sqlx::query_as(
                    "SELECT request_hash, result FROM idempotency \
                     WHERE caller = $1 AND operation = $2 AND idem_key = $3",
                )
                .bind(&c.caller)
                .bind(c.operation)
                .bind(&c.key)
                .fetch_optional(&mut **tx)
                .await?;
                match row {
                    Some((hash, result)) if hash == c.request_hash => {
                        serde_json::from_str(&result).map(Some).map_err(|e| {
                            $crate::store::StoreError::Corrupt(format!("idempotency result: {e}"))
                        })
                    }
                    _ => Ok(None),
                }
            }

            async fn release_claim(
                tx: &mut sqlx::Transaction<'static, $db>,
                c: &$crate::store::IdempotencyClaim,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "DELETE FROM idempotency WHERE caller = $1 AND operation = $2 AND idem_key = $3",
                )
                .bind(&c.caller)
                .bind(c.operation)
                .bind(&c.key)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn note_signed_until(
                tx: &mut sqlx::Transaction<'static, $db>,
                kid: &str,
                expiry: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "UPDATE signing_keys SET signed_until = \
                     CASE WHEN signed_until < $1 THEN $1 ELSE signed_until END WHERE kid = $2",
                )
                .bind(expiry)
                .bind(kid)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_sql_helpers;

/// Implements every store trait for a backend: the helpers, then one macro per aggregate.
macro_rules! impl_sql_store {
    ($store:ty, $db:ty, $backend:literal) => {
        $crate::store::sql::impl_sql_helpers!($store, $db);
        $crate::store::database::impl_database_state!($store, $db, $backend);
        $crate::store::cards::impl_card_store!($store, $db);
        $crate::store::keys::impl_key_store!($store, $db);
        $crate::store::partners::impl_partner_store!($store, $db);
        $crate::store::catalogue::impl_catalogue_store!($store, $db);
        $crate::store::redemptions::impl_redemption_store!($store, $db);
        $crate::store::audit_log::impl_audit_log!($store, $db);
        $crate::store::challenges::impl_challenge_store!($store, $db);
        $crate::store::federation::impl_federation_store!($store, $db);
        $crate::store::counter_tokens::impl_counter_token_store!($store, $db);
        $crate::store::secrets::impl_secret_store!($store, $db);
        $crate::store::witness::impl_witness_store!($store, $db);
    };
}

pub(crate) use impl_sql_store;

/// Where sealed keys are kept. `keys rewrap` goes over every table listed here; a new
/// table of sealed secrets is one more entry.
pub(crate) struct SealedColumn {
    /// The table, as records name it.
    pub(crate) table: &'static str,
    /// Every row as (row key, label it is sealed under, sealed bytes).
    pub(crate) select: &'static str,
    /// Sets `$1` as the sealed bytes of row `$2` if they are still `$3`.
    pub(crate) update: &'static str,
}

/// Every table that keeps sealed keys.
pub(crate) const SEALED_COLUMNS: &[SealedColumn] = &[
    SealedColumn {
        table: "signing_keys",
        select: "SELECT kid, kid, sealed_private_key FROM signing_keys ORDER BY generation",
        update: "UPDATE signing_keys SET sealed_private_key = $1 \
                 WHERE kid = $2 AND sealed_private_key = $3",
    },
    // Sealed under its own name (the counter-token HMAC key: `counter_token_hmac`).
    SealedColumn {
        table: "sealed_secrets",
        select: "SELECT name, name, sealed FROM sealed_secrets ORDER BY name",
        update: "UPDATE sealed_secrets SET sealed = $1 WHERE name = $2 AND sealed = $3",
    },
];

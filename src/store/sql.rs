//! The SQL both backends share, written once and instantiated per database by a macro
//! (sqlx's generic executor bounds cost more clarity than they save).

/// Rows per multi-row statement: well under SQLite's and PostgreSQL's parameter limits.
pub(crate) const CHUNK: usize = 500;

/// Implements `Store` for a type with a `pool` field and a `begin_write` method.
macro_rules! impl_sql_store {
    ($store:ty, $db:ty, $backend:literal) => {
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

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn pool_state(&self) -> $crate::store::PoolState {
                let size = self.pool.size();
                let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX).min(size);
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
                let (s,): (i64,) = sqlx::query_as("SELECT sequence FROM gateway_state WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(s as u64)
            }

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

            async fn issue_cards(
                &self,
                cards: &[($crate::store::NewCard, Option<$crate::store::IdempotencyClaim>)],
                audit: &[$crate::store::AuditEntry],
            ) -> Result<Vec<$crate::store::IssueOutcome>, $crate::store::StoreError> {
                use $crate::store::IssueOutcome;
                use std::collections::HashSet;
                let mut out: Vec<Option<IssueOutcome>> = vec![None; cards.len()];
                let mut tx = self.begin_write().await?;
                for (base, chunk) in cards
                    .chunks($crate::store::sql::CHUNK)
                    .enumerate()
                    .map(|(i, c)| (i * $crate::store::sql::CHUNK, c))
                {
                    // 1. Claim idempotency keys, storing the result up front; a claim whose card
                    //    cannot be stored is released below, in the same transaction.
                    let claims: Vec<_> = chunk
                        .iter()
                        .filter_map(|(card, c)| c.as_ref().map(|c| (card, c)))
                        .collect();
                    let mut claimed = HashSet::new();
                    if !claims.is_empty() {
                        let mut qb = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO idempotency (caller, operation, idem_key, request_hash, result, created_at) ",
                        );
                        let mut bad_json = None;
                        qb.push_values(&claims, |mut b, (card, c)| {
                            let result = serde_json::to_string(card).unwrap_or_else(|e| {
                                bad_json = Some(e.to_string());
                                String::new()
                            });
                            b.push_bind(c.caller.clone())
                                .push_bind(c.operation)
                                .push_bind(c.key.clone())
                                .push_bind(c.request_hash.clone())
                                .push_bind(result)
                                .push_bind(card.issued_at);
                        });
                        if let Some(e) = bad_json {
                            return Err($crate::store::StoreError::Corrupt(e));
                        }
                        qb.push(" ON CONFLICT DO NOTHING RETURNING caller, operation, idem_key");
                        let rows: Vec<(String, String, String)> =
                            qb.build_query_as().fetch_all(&mut *tx).await?;
                        claimed.extend(rows);
                    }
                    let mut to_insert = Vec::with_capacity(chunk.len());
                    for (i, (card, claim)) in chunk.iter().enumerate() {
                        match claim {
                            Some(c)
                                if !claimed.contains(&(
                                    c.caller.clone(),
                                    c.operation.to_owned(),
                                    c.key.clone(),
                                )) =>
                            {
                                out[base + i] = Some(match Self::claimed_result(&mut tx, c).await? {
                                    Some(original) => IssueOutcome::Replayed(Box::new(original)),
                                    None => IssueOutcome::KeyReused,
                                });
                            }
                            _ => to_insert.push((i, card)),
                        }
                    }
                    if to_insert.is_empty() {
                        continue;
                    }
                    // 2. Insert the cards; a unique index decides holder and index conflicts.
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO cards (card_id, id_hash, holder_name, tier, category, status, \
                         status_reason, status_index, holder_key, kid, token, issued_at, expires_at, updated_at) ",
                    );
                    qb.push_values(&to_insert, |mut b, (_, c)| {
                        b.push_bind(c.card_id.clone())
                            .push_bind(c.id_hash.clone())
                            .push_bind(c.holder_name.clone())
                            .push_bind(c.tier.clone())
                            .push_bind(c.category.clone())
                            .push_bind(c.status.as_str())
                            .push_bind(c.status_reason.clone())
                            .push_bind(c.status_index)
                            .push_bind(c.holder_key.clone())
                            .push_bind(c.kid.clone())
                            .push_bind(c.token.clone())
                            .push_bind(c.issued_at)
                            .push_bind(c.expires_at)
                            .push_bind(c.updated_at);
                    });
                    qb.push(" ON CONFLICT DO NOTHING RETURNING card_id");
                    let stored: HashSet<String> =
                        qb.build_query_scalar().fetch_all(&mut *tx).await?.into_iter().collect();
                    let mut audits = Vec::with_capacity(to_insert.len());
                    let mut latest: std::collections::HashMap<&str, i64> = Default::default();
                    for (i, card) in to_insert {
                        if stored.contains(&card.card_id) {
                            audits.push(audit[base + i].clone());
                            let e = latest.entry(card.kid.as_str()).or_default();
                            *e = (*e).max(card.expires_at);
                            out[base + i] = Some(IssueOutcome::Issued(Box::new(card.clone())));
                            continue;
                        }
                        if let Some(c) = &chunk[i].1 {
                            Self::release_claim(&mut tx, c).await?;
                        }
                        let live: Option<(String,)> = sqlx::query_as(
                            "SELECT card_id FROM cards WHERE id_hash = $1 AND status <> 'revoked'",
                        )
                        .bind(&card.id_hash)
                        .fetch_optional(&mut *tx)
                        .await?;
                        out[base + i] = Some(if live.is_some() {
                            IssueOutcome::HolderHasLiveCard
                        } else {
                            IssueOutcome::Collision
                        });
                    }
                    for (kid, expiry) in latest {
                        Self::note_signed_until(&mut tx, kid, expiry).await?;
                    }
                    Self::append_in(&mut tx, &audits).await?;
                }
                tx.commit().await?;
                out.into_iter()
                    .map(|o| {
                        o.ok_or_else(|| {
                            $crate::store::StoreError::Corrupt("issue outcome missing".into())
                        })
                    })
                    .collect()
            }

            async fn card(
                &self,
                card_id: &str,
            ) -> Result<Option<$crate::store::CardRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as("SELECT * FROM cards WHERE card_id = $1")
                    .bind(card_id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn change_status(
                &self,
                ch: &$crate::store::StatusChange,
                audit: &$crate::store::AuditEntry,
            ) -> Result<Option<($crate::store::CardRecord, bool)>, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                // One slot per status there is, so every status in `from` is honoured; an
                // unused slot repeats the name no card has ("").
                let slot = |s: $crate::domain::CardStatus| {
                    if ch.from.contains(&s) { s.as_str() } else { "" }
                };
                use $crate::domain::CardStatus as S;
                let changed = sqlx::query(
                    "UPDATE cards SET status = $1, status_reason = $2, updated_at = $3 \
                     WHERE card_id = $4 AND status IN ($5, $6, $7)",
                )
                .bind(ch.to.as_str())
                .bind(&ch.reason)
                .bind(ch.at)
                .bind(&ch.card_id)
                .bind(slot(S::Active))
                .bind(slot(S::Suspended))
                .bind(slot(S::Revoked))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if changed {
                    Self::bump_sequence(&mut tx).await?;
                    Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
                }
                let card: Option<$crate::store::CardRecord> =
                    sqlx::query_as("SELECT * FROM cards WHERE card_id = $1")
                        .bind(&ch.card_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                tx.commit().await?;
                Ok(card.map(|c| (c, changed)))
            }

            async fn renew_card(
                &self,
                card: &$crate::store::CardRecord,
                claim: Option<&$crate::store::IdempotencyClaim>,
                audit: &$crate::store::AuditEntry,
            ) -> Result<$crate::store::RenewOutcome, $crate::store::StoreError> {
                use $crate::store::RenewOutcome;
                let mut tx = self.begin_write().await?;
                if let Some(c) = claim {
                    let result = serde_json::to_string(card)
                        .map_err(|e| $crate::store::StoreError::Corrupt(e.to_string()))?;
                    let claimed = sqlx::query(
                        "INSERT INTO idempotency (caller, operation, idem_key, request_hash, result, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    )
                    .bind(&c.caller)
                    .bind(c.operation)
                    .bind(&c.key)
                    .bind(&c.request_hash)
                    .bind(result)
                    .bind(card.issued_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if !claimed {
                        let original = Self::claimed_result(&mut tx, c).await?;
                        tx.commit().await?;
                        return Ok(match original {
                            Some(o) => RenewOutcome::Replayed(Box::new(o)),
                            None => RenewOutcome::KeyReused,
                        });
                    }
                }
                let renewed = sqlx::query(
                    "UPDATE cards SET token = $1, kid = $2, issued_at = $3, expires_at = $4, \
                     updated_at = $5 WHERE card_id = $6 AND status <> 'revoked'",
                )
                .bind(&card.token)
                .bind(&card.kid)
                .bind(card.issued_at)
                .bind(card.expires_at)
                .bind(card.updated_at)
                .bind(&card.card_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !renewed {
                    // Nothing changes: the transaction (and the claim) is rolled back.
                    return Ok(RenewOutcome::NotRenewable);
                }
                Self::note_signed_until(&mut tx, &card.kid, card.expires_at).await?;
                Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
                tx.commit().await?;
                Ok(RenewOutcome::Renewed(Box::new(card.clone())))
            }

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

            async fn catalogue_versions(
                &self,
            ) -> Result<Vec<$crate::store::CatalogueVersionRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT * FROM catalogue_versions ORDER BY effective_from, imported_at",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn insert_catalogue_version(
                &self,
                v: &$crate::store::CatalogueVersionRecord,
                audit: &$crate::store::AuditEntry,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let inserted = sqlx::query(
                    "INSERT INTO catalogue_versions (version, document, effective_from, imported_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(&v.version)
                .bind(&v.document)
                .bind(v.effective_from)
                .bind(v.imported_at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                Self::commit_change(tx, inserted, audit).await
            }

            fn writers(&self) -> usize {
                Self::WRITERS
            }

            async fn redeem_batch(
                &self,
                items: &[(
                    $crate::store::RedemptionRecord,
                    Option<i64>,
                    $crate::store::AuditEntry,
                )],
            ) -> Result<Vec<$crate::store::RedeemOutcome>, $crate::store::StoreError> {
                use $crate::store::RedeemOutcome;
                let mut tx = self.begin_write().await?;
                let mut out = Vec::with_capacity(items.len());
                let mut audits = Vec::with_capacity(items.len());
                for (r, allowance, audit) in items {
                    // The unique (caller, idem_key) decides a retry, before any quota is touched.
                    let claimed = sqlx::query(
                        "INSERT INTO redemptions (redemption_id, issuer, card_id, service_code, period, \
                         caller, idem_key, catalogue_version, redeemed_at, quota_key, remaining, period_end) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
                    )
                    .bind(&r.redemption_id)
                    .bind(&r.issuer)
                    .bind(&r.card_id)
                    .bind(&r.service_code)
                    .bind(&r.period)
                    .bind(&r.caller)
                    .bind(&r.idem_key)
                    .bind(&r.catalogue_version)
                    .bind(r.redeemed_at)
                    .bind(&r.quota_key)
                    .bind(r.remaining)
                    .bind(r.period_end)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if !claimed {
                        let original: Option<$crate::store::RedemptionRecord> = sqlx::query_as(
                            "SELECT * FROM redemptions WHERE caller = $1 AND idem_key = $2",
                        )
                        .bind(&r.caller)
                        .bind(&r.idem_key)
                        .fetch_optional(&mut *tx)
                        .await?;
                        out.push(match original {
                            Some(o)
                                if o.issuer == r.issuer
                                    && o.card_id == r.card_id
                                    && o.service_code == r.service_code =>
                            {
                                RedeemOutcome::Replayed(o)
                            }
                            _ => RedeemOutcome::KeyReused,
                        });
                        continue;
                    }
                    let mut recorded = r.clone();
                    if let Some(allowance) = allowance {
                        match Self::count_quota(&mut tx, r, *allowance).await? {
                            Some(remaining) => recorded.remaining = remaining,
                            None => {
                                // Used up: the claim goes again, so nothing is recorded.
                                sqlx::query("DELETE FROM redemptions WHERE redemption_id = $1")
                                    .bind(&r.redemption_id)
                                    .execute(&mut *tx)
                                    .await?;
                                out.push(RedeemOutcome::Exhausted);
                                continue;
                            }
                        }
                    }
                    audits.push(audit.clone());
                    out.push(RedeemOutcome::Recorded(recorded));
                }
                Self::append_in(&mut tx, &audits).await?;
                tx.commit().await?;
                Ok(out)
            }

            async fn redemptions(
                &self,
                card_id: &str,
                limit: i64,
                offset: i64,
            ) -> Result<Vec<$crate::store::RedemptionRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT * FROM redemptions WHERE card_id = $1 \
                     ORDER BY redeemed_at DESC, redemption_id DESC LIMIT $2 OFFSET $3",
                )
                .bind(card_id)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn audit_records(
                &self,
                after_seq: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::AuditRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after_seq)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn audit_head(&self) -> Result<(i64, Vec<u8>), $crate::store::StoreError> {
                Ok(sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn card_statuses(&self) -> Result<Vec<(i64, String)>, $crate::store::StoreError> {
                Ok(sqlx::query_as("SELECT status_index, status FROM cards")
                    .fetch_all(&self.pool)
                    .await?)
            }

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
                     last_attempt = $6, last_error = '', updated_at = $6 \
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

            async fn append_audit(
                &self,
                entries: &[$crate::store::AuditEntry],
            ) -> Result<(), $crate::store::StoreError> {
                if entries.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                Self::append_in(&mut tx, entries).await?;
                tx.commit().await?;
                Ok(())
            }

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

            async fn purge_challenges(&self, before: i64) -> Result<u64, $crate::store::StoreError> {
                Ok(sqlx::query("DELETE FROM holder_challenges WHERE expires_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }

            async fn insert_counter_token(
                &self,
                t: &$crate::store::CounterTokenRecord,
                audit: &$crate::store::AuditEntry,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO counter_tokens (token_id, counter, issued_by, issued_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&t.token_id)
                .bind(&t.counter)
                .bind(&t.issued_by)
                .bind(t.issued_at)
                .bind(t.expires_at)
                .execute(&mut *tx)
                .await?;
                Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn revoke_counter_token(
                &self,
                r: &$crate::store::CounterTokenRevocation,
                audit: &$crate::store::AuditEntry,
            ) -> Result<$crate::store::RevokeOutcome, $crate::store::StoreError> {
                use $crate::store::RevokeOutcome;
                let mut tx = self.begin_write().await?;
                // Only the first revocation changes the row: revocation is final.
                let changed = sqlx::query(
                    "UPDATE counter_tokens SET revoked_at = $1, revoke_reason = $2 \
                     WHERE token_id = $3 AND revoked_at IS NULL",
                )
                .bind(r.at)
                .bind(&r.reason)
                .bind(&r.token_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                let row: Option<$crate::store::CounterTokenRecord> =
                    sqlx::query_as("SELECT * FROM counter_tokens WHERE token_id = $1")
                        .bind(&r.token_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                Self::commit_change(tx, changed, audit).await?;
                Ok(match row {
                    None => RevokeOutcome::Unknown,
                    Some(t) if changed => RevokeOutcome::Revoked(t),
                    Some(t) => RevokeOutcome::AlreadyRevoked(t),
                })
            }

            async fn counter_tokens(
                &self,
                after: i64,
            ) -> Result<Vec<$crate::store::CounterTokenRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT * FROM counter_tokens WHERE expires_at > $1 \
                     ORDER BY issued_at DESC, token_id",
                )
                .bind(after)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn revoked_counter_tokens(
                &self,
                after: i64,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT token_id FROM counter_tokens \
                     WHERE revoked_at IS NOT NULL AND expires_at > $1",
                )
                .bind(after)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn sealed_secret(
                &self,
                name: &str,
            ) -> Result<Option<Vec<u8>>, $crate::store::StoreError> {
                Ok(sqlx::query_scalar("SELECT sealed FROM sealed_secrets WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn insert_sealed_secret(
                &self,
                name: &str,
                sealed: &[u8],
                created_at: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                Ok(sqlx::query(
                    "INSERT INTO sealed_secrets (name, sealed, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(sealed)
                .bind(created_at)
                .execute(&self.pool)
                .await?
                .rows_affected()
                    == 1)
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

            async fn live_cards_signed_by(
                &self,
                kid: &str,
                now: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::CardRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT * FROM cards WHERE kid = $1 AND status <> 'revoked' AND expires_at > $2 \
                     ORDER BY card_id LIMIT $3",
                )
                .bind(kid)
                .bind(now)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn replace_tokens(
                &self,
                cards: &[$crate::store::CardRecord],
                old_kid: &str,
                audit: &[$crate::store::AuditEntry],
            ) -> Result<u64, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let mut replaced = 0;
                let mut audits = Vec::with_capacity(cards.len());
                let mut latest: std::collections::HashMap<&str, i64> = Default::default();
                for (card, a) in cards.iter().zip(audit) {
                    // The old kid in the WHERE makes a re-run (or a second replica) a no-op.
                    let done = sqlx::query(
                        "UPDATE cards SET token = $1, kid = $2, issued_at = $3, updated_at = $4 \
                         WHERE card_id = $5 AND kid = $6 AND status <> 'revoked'",
                    )
                    .bind(&card.token)
                    .bind(&card.kid)
                    .bind(card.issued_at)
                    .bind(card.updated_at)
                    .bind(&card.card_id)
                    .bind(old_kid)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if done {
                        replaced += 1;
                        audits.push(a.clone());
                        let e = latest.entry(card.kid.as_str()).or_default();
                        *e = (*e).max(card.expires_at);
                    }
                }
                for (kid, expiry) in latest {
                    Self::note_signed_until(&mut tx, kid, expiry).await?;
                }
                Self::append_in(&mut tx, &audits).await?;
                tx.commit().await?;
                Ok(replaced)
            }

            async fn sealed_records(
                &self,
            ) -> Result<Vec<$crate::store::SealedRecord>, $crate::store::StoreError> {
                let mut out = Vec::new();
                for c in $crate::store::sql::SEALED_COLUMNS {
                    let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(c.select)
                    .fetch_all(&self.pool)
                    .await?;
                    out.extend(rows.into_iter().map(|(name, label, sealed)| {
                        $crate::store::SealedRecord {
                            table: c.table,
                            name,
                            label,
                            sealed,
                        }
                    }));
                }
                Ok(out)
            }

            async fn reseal(
                &self,
                updates: &[($crate::store::SealedRecord, Vec<u8>)],
                audit: &$crate::store::AuditEntry,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                for (r, sealed) in updates {
                    let c = $crate::store::sql::SEALED_COLUMNS
                        .iter()
                        .find(|c| c.table == r.table)
                        .ok_or_else(|| {
                            $crate::store::StoreError::Corrupt(format!("no sealed table {}", r.table))
                        })?;
                    let done = sqlx::query(c.update)
                    .bind(sealed)
                    .bind(&r.name)
                    .bind(&r.sealed)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if done != 1 {
                        // Dropping the transaction rolls everything back.
                        return Err($crate::store::StoreError::Corrupt(format!(
                            "{} {} changed during the rewrap; nothing was written, run it again",
                            r.table, r.name
                        )));
                    }
                }
                Self::append_in(&mut tx, std::slice::from_ref(audit)).await?;
                tx.commit().await?;
                Ok(())
            }
        }
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

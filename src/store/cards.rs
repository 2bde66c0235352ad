//! Cards: issuing in batches under idempotency claims, status changes, renewal, and the
//! re-signing a revoked key calls for.

use super::{
    AuditEntry, CardRecord, IdempotencyClaim, IssueOutcome, NewCard, RenewOutcome, StatusChange,
    StoreError,
};
use async_trait::async_trait;

/// Issued cards.
#[async_trait]
pub trait CardStore: Send + Sync + 'static {
    /// Issues cards in one transaction, each under its optional idempotency claim.
    async fn issue_cards(
        &self,
        cards: &[(NewCard, Option<IdempotencyClaim>)],
        audit: &[AuditEntry],
    ) -> Result<Vec<IssueOutcome>, StoreError>;

    /// One card by number.
    async fn card(&self, card_id: &str) -> Result<Option<CardRecord>, StoreError>;

    /// Moves a card to a new status if its current status is one of `from`; bumps the sequence.
    /// Returns the card as it is afterwards, or None if no such card.
    async fn change_status(
        &self,
        change: &StatusChange,
        audit: &AuditEntry,
    ) -> Result<Option<(CardRecord, bool)>, StoreError>;

    /// Replaces a card's token (renewal) under an optional idempotency claim.
    async fn renew_card(
        &self,
        card: &CardRecord,
        claim: Option<&IdempotencyClaim>,
        audit: &AuditEntry,
    ) -> Result<RenewOutcome, StoreError>;

    /// `(status_index, status)` of every card, for the in-memory status list.
    async fn card_statuses(&self) -> Result<Vec<(i64, String)>, StoreError>;

    /// Cards not revoked and unexpired at `now` whose token `kid` signed, by number, at most
    /// `limit`.
    async fn live_cards_signed_by(
        &self,
        kid: &str,
        now: i64,
        limit: i64,
    ) -> Result<Vec<CardRecord>, StoreError>;

    /// Stores new tokens for cards whose token `old_kid` still signs (a card renewed
    /// meanwhile is left alone), in one transaction with an audit record each; how many.
    async fn replace_tokens(
        &self,
        cards: &[CardRecord],
        old_kid: &str,
        audit: &[AuditEntry],
    ) -> Result<u64, StoreError>;
}

/// Implements `CardStore` for a store with a `pool` and `sql::impl_sql_helpers`.
macro_rules! impl_card_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::CardStore for $store {
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

            async fn card_statuses(&self) -> Result<Vec<(i64, String)>, $crate::store::StoreError> {
                Ok(sqlx::query_as("SELECT status_index, status FROM cards")
                    .fetch_all(&self.pool)
                    .await?)
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
        }
    };
}

pub(crate) use impl_card_store;

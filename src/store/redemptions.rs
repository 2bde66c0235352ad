//! Redemptions, written in batches (group commit) and counted against allowances.

use super::{AuditEntry, RedeemOutcome, RedemptionRecord, StoreError};
use async_trait::async_trait;

/// Redemptions and the allowances they use.
#[async_trait]
pub trait RedemptionStore: Send + Sync + 'static {
    /// How many transactions may write at once to good effect (1 for SQLite).
    fn writers(&self) -> usize;

    /// Records redemptions in one transaction (group commit), each exactly once per
    /// (caller, key), counted against its allowance per (issuer, card, quota key, period)
    /// when given. A refused item leaves nothing behind; outcomes in order.
    async fn redeem_batch(
        &self,
        items: &[(RedemptionRecord, Option<i64>, AuditEntry)],
    ) -> Result<Vec<RedeemOutcome>, StoreError>;

    /// A card's redemptions, newest first.
    async fn redemptions(
        &self,
        card_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<RedemptionRecord>, StoreError>;

    /// What `r`'s card has used of `r`'s quota in `r`'s period (0 when nothing), to say what
    /// is left when a redemption was refused.
    async fn quota_used(&self, r: &RedemptionRecord) -> Result<i64, StoreError>;
}

/// Implements `RedemptionStore` for a store with a `pool` and `sql::impl_sql_helpers`.
macro_rules! impl_redemption_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::RedemptionStore for $store {
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
                         caller, idem_key, catalogue_version, redeemed_at, quota_key, remaining, period_end, unit, drawn) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING",
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
                    .bind(&r.unit)
                    .bind(r.drawn)
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
                                    && o.service_code == r.service_code
                                    && o.unit == r.unit
                                    && o.drawn == r.drawn =>
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

            async fn quota_used(
                &self,
                r: &$crate::store::RedemptionRecord,
            ) -> Result<i64, $crate::store::StoreError> {
                let used: Option<(i64,)> = sqlx::query_as(
                    "SELECT used FROM quota_usage WHERE issuer = $1 AND card_id = $2 \
                     AND quota_key = $3 AND period = $4",
                )
                .bind(&r.issuer)
                .bind(&r.card_id)
                .bind(&r.quota_key)
                .bind(&r.period)
                .fetch_optional(&self.pool)
                .await?;
                Ok(used.map_or(0, |(u,)| u))
            }
        }
    };
}

pub(crate) use impl_redemption_store;

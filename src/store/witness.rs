//! Witnessed audit checkpoints: our own signed checkpoints with the countersignatures
//! partners answered, and the partners' checkpoints we witnessed for them.

use super::StoreError;
use async_trait::async_trait;

/// An own checkpoint of the audit chain, as signed and kept.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OwnCheckpointRecord {
    /// The chain's last sequence when it was made.
    pub seq: i64,
    /// The chain's hash at `seq`.
    pub head: Vec<u8>,
    /// The signed checkpoint (typ audit-checkpoint+jwt).
    pub checkpoint: String,
    /// When it was made (unix seconds).
    pub created_at: i64,
}

/// A partner's checkpoint this gateway witnessed, with the countersignature it answered.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WitnessedCheckpointRecord {
    /// The partner whose chain it is.
    pub partner_id: String,
    /// Its chain's sequence.
    pub seq: i64,
    /// Its chain's hash at `seq`.
    pub head: Vec<u8>,
    /// The checkpoint as the partner signed it.
    pub checkpoint: String,
    /// Our countersignature (typ audit-countersignature+jwt).
    pub countersignature: String,
    /// When we witnessed it (unix seconds).
    pub witnessed_at: i64,
}

/// Witnessed audit checkpoints, both ways.
#[async_trait]
pub trait WitnessStore: Send + Sync + 'static {
    /// The newest own checkpoint.
    async fn last_own_checkpoint(&self) -> Result<Option<OwnCheckpointRecord>, StoreError>;

    /// Keeps an own checkpoint; false when one for its sequence exists already (another
    /// replica made it: the first stays).
    async fn insert_own_checkpoint(&self, c: &OwnCheckpointRecord) -> Result<bool, StoreError>;

    /// Own checkpoints after `after_seq`, oldest first, at most `limit`.
    async fn own_checkpoints(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<OwnCheckpointRecord>, StoreError>;

    /// Whether `partner_id` countersigned the own checkpoint at `seq`.
    async fn countersigned(&self, seq: i64, partner_id: &str) -> Result<bool, StoreError>;

    /// Keeps `partner_id`'s countersignature of the own checkpoint at `seq`.
    async fn insert_countersignature(
        &self,
        seq: i64,
        partner_id: &str,
        countersignature: &str,
        at: i64,
    ) -> Result<(), StoreError>;

    /// The newest checkpoint witnessed for `partner_id`.
    async fn last_witnessed(
        &self,
        partner_id: &str,
    ) -> Result<Option<WitnessedCheckpointRecord>, StoreError>;

    /// The checkpoint witnessed for `partner_id` at `seq`.
    async fn witnessed_at(
        &self,
        partner_id: &str,
        seq: i64,
    ) -> Result<Option<WitnessedCheckpointRecord>, StoreError>;

    /// Keeps a witnessed checkpoint; false when one for that partner and sequence exists
    /// already (the first stays).
    async fn insert_witnessed(&self, c: &WitnessedCheckpointRecord) -> Result<bool, StoreError>;

    /// Checkpoints witnessed for `partner_id` after `after_seq`, oldest first, at most `limit`.
    async fn witnessed_after(
        &self,
        partner_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<WitnessedCheckpointRecord>, StoreError>;
}

/// Implements `WitnessStore` for a store with a `pool`.
macro_rules! impl_witness_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::WitnessStore for $store {
            async fn last_own_checkpoint(
                &self,
            ) -> Result<Option<$crate::store::OwnCheckpointRecord>, $crate::store::StoreError>
            {
                Ok(
                    sqlx::query_as("SELECT * FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
                        .fetch_optional(&self.pool)
                        .await?,
                )
            }

            async fn insert_own_checkpoint(
                &self,
                c: &$crate::store::OwnCheckpointRecord,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO audit_checkpoints (seq, head, checkpoint, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING",
                )
                .bind(c.seq)
                .bind(&c.head)
                .bind(&c.checkpoint)
                .bind(c.created_at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn own_checkpoints(
                &self,
                after_seq: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::OwnCheckpointRecord>, $crate::store::StoreError>
            {
                Ok(sqlx::query_as(
                    "SELECT * FROM audit_checkpoints WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after_seq)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn countersigned(
                &self,
                seq: i64,
                partner_id: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let row: Option<(i64,)> = sqlx::query_as(
                    "SELECT seq FROM audit_checkpoint_witnesses WHERE seq = $1 AND partner_id = $2",
                )
                .bind(seq)
                .bind(partner_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.is_some())
            }

            async fn insert_countersignature(
                &self,
                seq: i64,
                partner_id: &str,
                countersignature: &str,
                at: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO audit_checkpoint_witnesses \
                     (seq, partner_id, countersignature, witnessed_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (seq, partner_id) DO NOTHING",
                )
                .bind(seq)
                .bind(partner_id)
                .bind(countersignature)
                .bind(at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn last_witnessed(
                &self,
                partner_id: &str,
            ) -> Result<Option<$crate::store::WitnessedCheckpointRecord>, $crate::store::StoreError>
            {
                Ok(sqlx::query_as(
                    "SELECT * FROM witnessed_checkpoints WHERE partner_id = $1 \
                     ORDER BY seq DESC LIMIT 1",
                )
                .bind(partner_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn witnessed_at(
                &self,
                partner_id: &str,
                seq: i64,
            ) -> Result<Option<$crate::store::WitnessedCheckpointRecord>, $crate::store::StoreError>
            {
                Ok(sqlx::query_as(
                    "SELECT * FROM witnessed_checkpoints WHERE partner_id = $1 AND seq = $2",
                )
                .bind(partner_id)
                .bind(seq)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn insert_witnessed(
                &self,
                c: &$crate::store::WitnessedCheckpointRecord,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO witnessed_checkpoints \
                     (partner_id, seq, head, checkpoint, countersignature, witnessed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (partner_id, seq) DO NOTHING",
                )
                .bind(&c.partner_id)
                .bind(c.seq)
                .bind(&c.head)
                .bind(&c.checkpoint)
                .bind(&c.countersignature)
                .bind(c.witnessed_at)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn witnessed_after(
                &self,
                partner_id: &str,
                after_seq: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::WitnessedCheckpointRecord>, $crate::store::StoreError>
            {
                Ok(sqlx::query_as(
                    "SELECT * FROM witnessed_checkpoints WHERE partner_id = $1 AND seq > $2 \
                     ORDER BY seq LIMIT $3",
                )
                .bind(partner_id)
                .bind(after_seq)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

pub(crate) use impl_witness_store;

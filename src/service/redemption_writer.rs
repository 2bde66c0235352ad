//! Group commit for redemptions: calls in flight are written in one transaction per batch, so
//! a durable write costs one commit (one fsync) per batch instead of per redemption.
//! Each caller is answered only after its batch committed.

use super::ServiceError;
use crate::store::{AuditEntry, RedeemOutcome, RedemptionRecord, Store};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

const QUEUE: usize = 4_096;
const BATCH: usize = 256;

type Reply = oneshot::Sender<Result<RedeemOutcome, ServiceError>>;
type Job = (RedemptionRecord, Option<i64>, AuditEntry, Reply);

/// Hands redemptions to the writer tasks.
#[derive(Clone)]
pub(crate) struct RedemptionWriter {
    tx: mpsc::Sender<Job>,
}

impl RedemptionWriter {
    /// Starts as many writer tasks as the store writes well with.
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel::<Job>(QUEUE);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..store.writers().max(1) {
            let (store, rx) = (store.clone(), rx.clone());
            tokio::spawn(async move {
                let mut jobs = Vec::with_capacity(BATCH);
                loop {
                    if rx.lock().await.recv_many(&mut jobs, BATCH).await == 0 {
                        break;
                    }
                    // One global order of locks (quota row, then key) across concurrent
                    // batches, so two writers never wait on each other in a cycle.
                    jobs.sort_by(|a, b| {
                        let key = |j: &Job| {
                            let r = &j.0;
                            (
                                r.issuer.clone(),
                                r.card_id.clone(),
                                r.quota_key.clone(),
                                r.period.clone(),
                                r.caller.clone(),
                                r.idem_key.clone(),
                            )
                        };
                        key(a).cmp(&key(b))
                    });
                    let items: Vec<_> = jobs
                        .iter()
                        .map(|(r, a, audit, _)| (r.clone(), *a, audit.clone()))
                        .collect();
                    let mut result = store.redeem_batch(&items).await;
                    for _ in 0..3 {
                        match &result {
                            Err(e) if e.is_retryable_conflict() => {
                                result = store.redeem_batch(&items).await;
                            }
                            _ => break,
                        }
                    }
                    match result {
                        Ok(outcomes) => {
                            for ((.., reply), outcome) in jobs.drain(..).zip(outcomes) {
                                let _ = reply.send(Ok(outcome));
                            }
                        }
                        Err(e) => {
                            // Nothing of the batch was committed: every caller may retry.
                            let e = ServiceError::from(e);
                            for (.., reply) in jobs.drain(..) {
                                let _ = reply.send(Err(match &e {
                                    ServiceError::Unavailable(m) => {
                                        ServiceError::Unavailable(m.clone())
                                    }
                                    other => ServiceError::Internal(other.to_string()),
                                }));
                            }
                        }
                    }
                }
            });
        }
        Self { tx }
    }

    /// Writes one redemption and waits for its batch to commit.
    pub(crate) async fn write(
        &self,
        record: RedemptionRecord,
        allowance: Option<i64>,
        audit: AuditEntry,
    ) -> Result<RedeemOutcome, ServiceError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((record, allowance, audit, reply))
            .await
            .map_err(|_| ServiceError::Unavailable("the redemption writer stopped".into()))?;
        answer
            .await
            .map_err(|_| ServiceError::Unavailable("the redemption writer stopped".into()))?
    }
}

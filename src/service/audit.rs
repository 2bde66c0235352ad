//! Audit without slowing the verify path: verdicts and refusals go through a bounded queue
//! that one task writes in batches. State changes are audited in their own transaction.

use crate::store::{AuditEntry, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

const QUEUE: usize = 16_384;
const BATCH: usize = 1_024;

/// Where request-path audit records go.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<AuditEntry>,
    dropped: Arc<AtomicU64>,
    /// Records queued, and records committed: a stop waits for the second to reach the first.
    queued: Arc<AtomicU64>,
    committed: Arc<AtomicU64>,
}

/// How long a stop waits for queued records to be committed (the database may be down).
const FLUSH_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

impl AuditSink {
    /// Starts the writer task over `store`.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (tx, mut rx) = mpsc::channel::<AuditEntry>(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let committed = Arc::new(AtomicU64::new(0));
        let written = committed.clone();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                // Retry while the database is down; the queue absorbs what fits meanwhile.
                let mut delay = std::time::Duration::from_millis(100);
                while let Err(e) = store.append_audit(&batch).await {
                    tracing::warn!(error = %e, pending = batch.len(), "audit write failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(5));
                }
                written.fetch_add(batch.len() as u64, Ordering::Release);
                batch.clear();
            }
        });
        Self {
            tx,
            dropped,
            queued: Arc::new(AtomicU64::new(0)),
            committed,
        }
    }

    /// Queues a record; when the queue is full the record is counted and logged as dropped.
    pub fn record(&self, entry: AuditEntry) {
        if self.tx.try_send(entry).is_ok() {
            self.queued.fetch_add(1, Ordering::Relaxed);
        } else {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::error!(dropped = n, "audit queue full: records dropped");
            }
        }
    }

    /// Queues a record for something that changed nothing (a refusal, a verdict), at now.
    pub fn event(&self, caller: &str, event: &str, object: &str, result: &str, detail: &str) {
        self.record(AuditEntry {
            at: super::now(),
            caller: caller.to_owned(),
            event: event.to_owned(),
            object: object.to_owned(),
            result: result.to_owned(),
            detail: detail.to_owned(),
        });
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until every record queued so far is committed (for shutdown: handed to the
    /// writer is not enough, a stop could end the process mid-transaction), or [`FLUSH_LIMIT`].
    pub async fn flush(&self) {
        let target = self.queued.load(Ordering::Relaxed);
        let start = std::time::Instant::now();
        while self.committed.load(Ordering::Acquire) < target {
            if start.elapsed() > FLUSH_LIMIT {
                tracing::error!(
                    uncommitted = target - self.committed.load(Ordering::Acquire),
                    "audit records not committed at the stop"
                );
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

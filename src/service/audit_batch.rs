//! Verdict audit records gathered and handed to the audit sink in batches (VerifyCard and
//! VerifyCards audit every verdict; one at a time they would be committed a few at a time).

use super::refusal_tally::RefusalTally;
use super::{AuditSink, Verdict, now};
use crate::domain::AuditEntry;
use crate::locks;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How long verdict audit records gather before they go to the audit sink together.
const AUDIT_LINGER: Duration = Duration::from_millis(100);

/// Records that go to the sink at once even before the linger is over (the sink's batch).
const AUDIT_BURST: usize = 1024;

/// Past this many gathered records the call that adds one hands them over itself.
const AUDIT_CEILING: usize = 8 * AUDIT_BURST;

/// Verdict audit records on their way to the audit sink. The sink's writer commits whatever
/// it finds queued in one transaction, and a commit costs far more than a row: handed over
/// one at a time, at thousands of verdicts a second, they would be committed a few at a
/// time. Gathered for up to [`AUDIT_LINGER`] (or [`AUDIT_BURST`] records) they are handed
/// over together by a task on the runtime the sink's writer runs on, and committed in
/// batches of hundreds. Every record keeps the time of its verdict; a stop hands over what
/// is left ([`VerifyAudit::flush`]).
pub struct VerifyAudit {
    sink: AuditSink,
    /// Refusals that name no card, counted instead of recorded one by one.
    tally: RefusalTally,
    pending: Mutex<Vec<AuditEntry>>,
    /// The flusher's own vector, swapped with `pending` so that neither is reallocated.
    spare: Mutex<Vec<AuditEntry>>,
    burst: Arc<Notify>,
}

impl VerifyAudit {
    /// The buffer in front of `sink`. Call inside the runtime the sink's writer runs on.
    pub(crate) fn new(sink: AuditSink) -> Arc<Self> {
        let audit = Arc::new(Self {
            sink,
            tally: RefusalTally::default(),
            pending: Mutex::new(Vec::with_capacity(AUDIT_BURST)),
            spare: Mutex::new(Vec::with_capacity(AUDIT_BURST)),
            burst: Arc::new(Notify::new()),
        });
        // Hands the records over every AUDIT_LINGER or AUDIT_BURST records, on the runtime
        // that built the service (the one the audit writer runs on), while the service exists.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&audit);
            let burst = audit.burst.clone();
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(AUDIT_LINGER);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        () = burst.notified() => {}
                    }
                    let Some(audit) = weak.upgrade() else { break };
                    audit.hand_over(false);
                }
            });
        }
        audit
    }

    /// Audits one verdict: a record of its own when it names a card, else a count.
    pub(crate) fn verdict(&self, caller: &str, v: &Verdict) {
        let at = now();
        if v.card_id.is_empty() {
            self.tally.count(at, caller, v.reason);
            return;
        }
        // PIPL Art. 23: a partner card verified here is a cross-region disclosure, with purpose.
        self.record(AuditEntry {
            at,
            caller: caller.to_owned(),
            event: "card.verify".to_owned(),
            object: v.card_id.clone(),
            result: v.reason.as_str().to_owned(),
            detail: format!(
                "issuer region {}; purpose: service eligibility check",
                v.issuer_region
            ),
        });
    }

    fn record(&self, entry: AuditEntry) {
        let gathered = {
            let mut pending = locks::lock(&self.pending);
            pending.push(entry);
            pending.len()
        };
        if gathered >= AUDIT_CEILING {
            self.flush();
        } else if gathered >= AUDIT_BURST {
            self.burst.notify_one();
        }
    }

    /// Hands every gathered record to the audit sink now, the counts of the current
    /// minute included (at a stop).
    pub fn flush(&self) {
        self.hand_over(true);
    }

    /// Hands the gathered records, and the counts of the minutes that ended (with
    /// `everything`, of the current one too), to the audit sink.
    fn hand_over(&self, everything: bool) {
        let mut batch = locks::lock(&self.spare);
        std::mem::swap(&mut *locks::lock(&self.pending), &mut *batch);
        for entry in batch.drain(..) {
            self.sink.record(entry);
        }
        for entry in self.tally.take(now(), everything) {
            self.sink.record(entry);
        }
    }
}

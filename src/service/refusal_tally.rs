//! Refusals that name no card (decided before any claim was read: garbage, an unknown
//! issuer or key, a bad signature) reveal nothing about anyone, and anyone can send them by
//! the thousand. They are counted, one audit record per caller, reason and minute
//! (`card.verify.tally`, the count first in its detail), instead of a record each: the
//! append-only log grows with the callers, not with a flood. Verdicts that name a card stay
//! one record each.

use crate::domain::AuditEntry;
use crate::domain::Reason;
use crate::locks;
use std::collections::HashMap;
use std::sync::Mutex;

/// The audit event of a tally record.
pub const TALLY_EVENT: &str = "card.verify.tally";

/// Past this many callers in one minute the counts go out early (a bound on memory).
const MOST_CALLERS: usize = 4096;

/// The counts of the current minute.
#[derive(Default)]
struct Minute {
    /// Unix minute (seconds / 60).
    minute: i64,
    counts: HashMap<String, HashMap<Reason, u64>>,
}

/// Refusals counted per caller, reason and minute.
#[derive(Default)]
pub(crate) struct RefusalTally {
    current: Mutex<Minute>,
    /// Records of minutes that ended, waiting to be handed over.
    ended: Mutex<Vec<AuditEntry>>,
}

impl Minute {
    fn records(&mut self) -> impl Iterator<Item = AuditEntry> + '_ {
        let at = self.minute * 60;
        self.counts.drain().flat_map(move |(caller, reasons)| {
            reasons.into_iter().map(move |(reason, n)| AuditEntry {
                at,
                caller: caller.clone(),
                event: TALLY_EVENT.to_owned(),
                object: String::new(),
                result: reason.as_str().to_owned(),
                detail: format!(
                    "{n} refusals in the minute from {at} (unix seconds), none naming a card; \
                     purpose: service eligibility check"
                ),
            })
        })
    }
}

impl RefusalTally {
    /// Counts one refusal by `caller` at `at` (unix seconds).
    pub(crate) fn count(&self, at: i64, caller: &str, reason: Reason) {
        let minute = at.div_euclid(60);
        let mut current = locks::lock(&self.current);
        if current.minute != minute || current.counts.len() >= MOST_CALLERS {
            locks::lock(&self.ended).extend(current.records());
            current.minute = minute;
        }
        match current.counts.get_mut(caller) {
            Some(reasons) => *reasons.entry(reason).or_default() += 1,
            None => {
                current
                    .counts
                    .insert(caller.to_owned(), HashMap::from([(reason, 1)]));
            }
        }
    }

    /// The records of minutes that ended before `at`; with `everything`, the current
    /// minute's too (at a stop).
    pub(crate) fn take(&self, at: i64, everything: bool) -> Vec<AuditEntry> {
        {
            let mut current = locks::lock(&self.current);
            if everything || current.minute < at.div_euclid(60) {
                locks::lock(&self.ended).extend(current.records());
            }
        }
        std::mem::take(&mut *locks::lock(&self.ended))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_record_per_caller_reason_and_minute() {
        let tally = RefusalTally::default();
        let t = 30_000_000 * 60;
        for _ in 0..1000 {
            tally.count(t + 5, "public", Reason::Malformed);
        }
        tally.count(t + 59, "public", Reason::BadSignature);
        tally.count(t + 7, "spiffe://cq.talent/counter/a", Reason::Malformed);
        assert!(
            tally.take(t + 30, false).is_empty(),
            "the minute is not over"
        );
        tally.count(t + 61, "public", Reason::Malformed);
        let mut records = tally.take(t + 61, false);
        records.sort_by(|a, b| (&a.caller, &a.result).cmp(&(&b.caller, &b.result)));
        let seen: Vec<(&str, &str, i64, &str)> = records
            .iter()
            .map(|r| {
                let n = r.detail.split(' ').next().unwrap_or_default();
                (r.caller.as_str(), r.result.as_str(), r.at, n)
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("public", "BAD_SIGNATURE", t, "1"),
                ("public", "MALFORMED", t, "1000"),
                ("spiffe://cq.talent/counter/a", "MALFORMED", t, "1"),
            ]
        );
        assert!(
            records
                .iter()
                .all(|r| r.event == TALLY_EVENT && r.object.is_empty())
        );
        // At a stop the current minute goes too.
        let last = tally.take(t + 62, true);
        assert_eq!(last.len(), 1);
        assert!(last[0].detail.starts_with("1 refusals"));
        assert!(tally.take(t + 200, true).is_empty());
    }
}

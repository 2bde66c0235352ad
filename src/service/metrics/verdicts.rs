//! Verification verdicts by reason code.

use crate::domain::Reason;
use std::sync::atomic::{AtomicU64, Ordering};

/// One counter per [`Reason`], indexed by [`Reason::index`]: no lock, no allocation.
#[derive(Debug, Default)]
pub struct VerdictCounts {
    by_reason: [AtomicU64; Reason::ALL.len()],
}

impl VerdictCounts {
    /// Counts one verdict.
    pub fn count(&self, reason: Reason) {
        self.by_reason[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Every reason with its count so far.
    pub fn snapshot(&self) -> impl Iterator<Item = (Reason, u64)> + '_ {
        Reason::ALL
            .iter()
            .zip(&self.by_reason)
            .map(|(r, c)| (*r, c.load(Ordering::Relaxed)))
    }
}

//! gRPC calls by method and status code, and their duration.

use super::Histogram;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// gRPC status code names, indexed by code.
pub const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The label of every path that is not a known method: callers choose paths, and a label
/// per path would let them grow the scrape without bound.
const OTHER: &str = "other";

struct Rpc {
    name: String,
    codes: [AtomicU64; CODE_NAMES.len()],
    duration: Histogram,
}

/// Counters for a fixed set of methods, looked up by path without allocating.
pub struct RequestMetrics {
    index: HashMap<String, usize>,
    rpcs: Vec<Rpc>,
}

impl RequestMetrics {
    /// Slots for `methods` (full paths, `/package.Service/Method`) and one for the rest.
    pub fn new<I: IntoIterator<Item = String>>(methods: I) -> Self {
        let mut names: Vec<String> = methods.into_iter().collect();
        names.sort();
        names.dedup();
        names.push(OTHER.to_owned());
        let index = names
            .iter()
            .take(names.len() - 1)
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let rpcs = names
            .into_iter()
            .map(|name| Rpc {
                name,
                codes: Default::default(),
                duration: Histogram::default(),
            })
            .collect();
        Self { index, rpcs }
    }

    /// The slot of a request path.
    pub fn slot(&self, path: &str) -> usize {
        self.index.get(path).copied().unwrap_or(self.rpcs.len() - 1)
    }

    /// Records a finished call; codes past the known ones count as UNKNOWN.
    pub fn record(&self, slot: usize, code: u32, elapsed: Duration) {
        let Some(rpc) = self.rpcs.get(slot) else {
            return;
        };
        let code = usize::try_from(code)
            .ok()
            .filter(|c| *c < CODE_NAMES.len())
            .unwrap_or(2);
        rpc.codes[code].fetch_add(1, Ordering::Relaxed);
        rpc.duration.observe(elapsed);
    }

    /// Per method: name, non-zero counts by code name, and the duration histogram.
    pub fn each(&self) -> impl Iterator<Item = (&str, Vec<(&'static str, u64)>, &Histogram)> {
        self.rpcs.iter().map(|r| {
            let codes = CODE_NAMES
                .iter()
                .zip(&r.codes)
                .map(|(n, c)| (*n, c.load(Ordering::Relaxed)))
                .filter(|(_, c)| *c > 0)
                .collect();
            (r.name.as_str(), codes, &r.duration)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_paths_share_one_slot() {
        let m = RequestMetrics::new(["/a.B/C".to_owned()]);
        assert_eq!(m.slot("/a.B/C"), 0);
        assert_eq!(m.slot("/x/y"), 1);
        assert_eq!(m.slot("/x/z"), 1);
        m.record(1, 99, Duration::ZERO);
        let other: Vec<_> = m.each().nth(1).map(|(_, c, _)| c).unwrap_or_default();
        assert_eq!(other, vec![("UNKNOWN", 1)]);
    }
}

//! gRPC calls by method and status code, and their duration.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

/// Upper bounds of the duration buckets, in seconds (`+Inf` is implied).
pub const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

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

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    rpc: String,
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabel {
    rpc: String,
}

type Durations = Family<RpcLabel, Histogram, fn() -> Histogram>;

/// One method's series, resolved in the families on its first call (so a scrape shows only
/// what happened) and kept here: after that a call costs no label hashing or family lock.
struct Rpc {
    name: String,
    codes: [OnceLock<Counter>; CODE_NAMES.len()],
    duration: OnceLock<Histogram>,
}

/// Counters for a fixed set of methods, looked up by path without allocating.
pub struct RequestMetrics {
    index: HashMap<String, usize>,
    rpcs: Vec<Rpc>,
    calls: Family<CallLabels, Counter>,
    durations: Durations,
    registry: Registry,
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
                duration: OnceLock::new(),
            })
            .collect();
        let calls = Family::<CallLabels, Counter>::default();
        let durations: Durations = Family::new_with_constructor(|| Histogram::new(BUCKETS));
        let mut registry = Registry::default();
        // Registered without `_total`: OpenMetrics adds it to the counter's samples.
        registry.register(
            "talent_gateway_requests",
            "gRPC calls by method and status code.",
            calls.clone(),
        );
        registry.register(
            "talent_gateway_request_duration_seconds",
            "gRPC call duration until the response body ends.",
            durations.clone(),
        );
        Self {
            index,
            rpcs,
            calls,
            durations,
            registry,
        }
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
        rpc.codes[code]
            .get_or_init(|| {
                self.calls.get_or_create_owned(&CallLabels {
                    rpc: rpc.name.clone(),
                    code: CODE_NAMES[code],
                })
            })
            .inc();
        rpc.duration
            .get_or_init(|| {
                self.durations.get_or_create_owned(&RpcLabel {
                    rpc: rpc.name.clone(),
                })
            })
            .observe(elapsed.as_secs_f64());
    }

    /// A method's non-zero counts by code name.
    #[cfg(test)]
    pub(crate) fn counts(&self, slot: usize) -> Vec<(&'static str, u64)> {
        let Some(rpc) = self.rpcs.get(slot) else {
            return Vec::new();
        };
        CODE_NAMES
            .iter()
            .zip(&rpc.codes)
            .filter_map(|(n, c)| Some((*n, c.get()?.get())))
            .collect()
    }

    /// The calls and durations, for the scrape.
    pub(super) fn registry(&self) -> &Registry {
        &self.registry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(m: &RequestMetrics) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, m.registry()).expect("encode");
        out
    }

    #[test]
    fn unknown_paths_share_one_slot() {
        let m = RequestMetrics::new(["/a.B/C".to_owned()]);
        assert_eq!(m.slot("/a.B/C"), 0);
        assert_eq!(m.slot("/x/y"), 1);
        assert_eq!(m.slot("/x/z"), 1);
        m.record(1, 99, Duration::ZERO);
        m.record(1, 99, Duration::ZERO);
        let text = text(&m);
        assert!(
            text.contains("talent_gateway_requests_total{rpc=\"other\",code=\"UNKNOWN\"} 2\n"),
            "{text}"
        );
        // Neither a code nor a method that never happened is in the scrape.
        assert!(!text.contains("code=\"OK\""), "{text}");
        assert!(!text.contains("/a.B/C"), "{text}");
    }
}

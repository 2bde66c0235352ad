//! Verification verdicts by reason code.

use crate::domain::Reason;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// One counter per [`Reason`], resolved at start-up and indexed by [`Reason::index`]: a
/// verdict costs one atomic add, no label lookup.
#[derive(Debug)]
pub struct VerdictCounts {
    by_reason: Vec<Counter>,
    registry: Registry,
}

impl Default for VerdictCounts {
    fn default() -> Self {
        let family = Family::<ReasonLabel, Counter>::default();
        // Every reason from the start, 0 included: a rate over a series that appears late
        // misses its first count.
        let by_reason = Reason::ALL
            .iter()
            .map(|r| family.get_or_create_owned(&ReasonLabel { reason: r.as_str() }))
            .collect();
        let mut registry = Registry::default();
        registry.register(
            "talent_gateway_verdicts",
            "Verification verdicts by reason code.",
            family,
        );
        Self {
            by_reason,
            registry,
        }
    }
}

impl VerdictCounts {
    /// Counts one verdict.
    pub fn count(&self, reason: Reason) {
        if let Some(c) = self.by_reason.get(reason.index()) {
            c.inc();
        }
    }

    /// The verdicts, for the scrape.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }
}

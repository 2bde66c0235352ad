//! Prometheus metrics with `prometheus-client`: series resolved ahead of the request path
//! (an atomic add or a short histogram lock per call), OpenMetrics text at scrape time.
//! Nothing here carries personal data: labels are RPC names, status codes, reason codes and
//! partner ids.

mod exposition;
mod requests;
mod verdicts;

pub use exposition::{CONTENT_TYPE, Scrape, render};
pub use requests::{BUCKETS, CODE_NAMES, RequestMetrics};
pub use verdicts::VerdictCounts;

use crate::service::Services;

/// The gauges read at scrape time: federation state (one database query), the pool and the
/// audit queue.
pub async fn scrape(services: &Services) -> Scrape {
    let partners = match services.federation.federation_status(None).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: federation status unavailable");
            Vec::new()
        }
    };
    Scrape {
        partners,
        pool: services.store.pool_state(),
        audit_dropped: services.audit.dropped(),
    }
}

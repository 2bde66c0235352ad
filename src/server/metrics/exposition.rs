//! The scrape in the OpenMetrics text format, encoded by `prometheus-client`.

use super::RequestMetrics;
use crate::service::PartnerFederationStatus;
use crate::service::VerdictCounts;
use crate::store::PoolState;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The media type of the scrape.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What is read at scrape time rather than counted as it happens.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    /// Per-partner federation state.
    pub partners: Vec<PartnerFederationStatus>,
    /// The database pool.
    pub pool: PoolState,
    /// Audit records dropped on a full queue.
    pub audit_dropped: u64,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartnerLabel {
    partner: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

impl Scrape {
    /// A registry of this scrape's values: built per scrape, so a partner no longer
    /// configured leaves no series behind.
    fn registry(&self) -> Registry {
        let mut r = Registry::default();
        let age = Family::<PartnerLabel, Gauge>::default();
        let sequence = Family::<PartnerLabel, Gauge>::default();
        let stale = Family::<PartnerLabel, Gauge>::default();
        for p in &self.partners {
            let label = PartnerLabel {
                partner: p.partner_id.clone(),
            };
            if p.last_refresh_ms.is_some() {
                age.get_or_create(&label).set(p.lag_seconds);
            }
            sequence.get_or_create(&label).set(p.sequence);
            stale.get_or_create(&label).set(i64::from(p.stale));
        }
        r.register(
            "talent_gateway_partner_bundle_age_seconds",
            "Age of the partner's trust data in force (absent before the first good refresh).",
            age,
        );
        r.register(
            "talent_gateway_partner_bundle_sequence",
            "The partner's change sequence at the last good refresh.",
            sequence,
        );
        r.register(
            "talent_gateway_partner_stale",
            "1 when the partner's trust data is past the staleness limit.",
            stale,
        );

        let pool = Family::<StateLabel, Gauge>::default();
        pool.get_or_create(&StateLabel { state: "idle" })
            .set(self.pool.idle.into());
        pool.get_or_create(&StateLabel { state: "in_use" })
            .set(self.pool.in_use.into());
        r.register(
            "talent_gateway_db_pool_connections",
            "Database pool connections by state.",
            pool,
        );
        let max = Gauge::<i64>::default();
        max.set(self.pool.max.into());
        r.register(
            "talent_gateway_db_pool_max",
            "Most connections the database pool opens.",
            max,
        );

        let dropped = Counter::<u64>::default();
        dropped.inc_by(self.audit_dropped);
        r.register(
            "talent_gateway_audit_dropped",
            "Audit records dropped because the audit queue was full.",
            dropped,
        );
        // An OpenMetrics info metric: exposed as `talent_gateway_build_info{version} 1`.
        r.register(
            "talent_gateway_build",
            "The running version.",
            Info::new(VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        r
    }
}

/// The whole scrape.
pub fn render(requests: &RequestMetrics, verdicts: &VerdictCounts, s: &Scrape) -> String {
    let mut out = String::with_capacity(16 * 1024);
    // Writing into a String cannot fail.
    let _ = encode_registry(&mut out, requests.registry())
        .and_then(|()| encode_registry(&mut out, verdicts.registry()))
        .and_then(|()| encode_registry(&mut out, &s.registry()))
        .and_then(|()| encode_eof(&mut out));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Reason;
    use std::time::Duration;

    #[test]
    fn exposition_format() {
        let requests = RequestMetrics::new(["/talentcard.v1.Verification/VerifyCard".to_owned()]);
        requests.record(0, 0, Duration::from_millis(2));
        requests.record(0, 3, Duration::from_millis(20));
        let verdicts = VerdictCounts::default();
        verdicts.count(Reason::Expired);
        let scrape = Scrape {
            partners: vec![PartnerFederationStatus {
                partner_id: "mian\"yang".into(),
                last_refresh_ms: Some(1),
                sequence: 7,
                lag_seconds: 12,
                last_error: String::new(),
                kids: Vec::new(),
                stale: false,
                catalogue_version: String::new(),
            }],
            pool: PoolState {
                idle: 3,
                in_use: 1,
                max: 8,
            },
            audit_dropped: 0,
        };
        let text = render(&requests, &verdicts, &scrape);
        let rpc = "rpc=\"/talentcard.v1.Verification/VerifyCard\"";
        for want in [
            "# TYPE talent_gateway_requests counter\n".to_owned(),
            format!("talent_gateway_requests_total{{{rpc},code=\"OK\"}} 1\n"),
            format!("talent_gateway_requests_total{{{rpc},code=\"INVALID_ARGUMENT\"}} 1\n"),
            "# TYPE talent_gateway_request_duration_seconds histogram\n".to_owned(),
            format!("talent_gateway_request_duration_seconds_bucket{{le=\"0.001\",{rpc}}} 0\n"),
            format!("talent_gateway_request_duration_seconds_bucket{{le=\"0.0025\",{rpc}}} 1\n"),
            format!("talent_gateway_request_duration_seconds_bucket{{le=\"+Inf\",{rpc}}} 2\n"),
            format!("talent_gateway_request_duration_seconds_count{{{rpc}}} 2\n"),
            format!("talent_gateway_request_duration_seconds_sum{{{rpc}}} 0.022\n"),
            "talent_gateway_verdicts_total{reason=\"EXPIRED\"} 1\n".to_owned(),
            "talent_gateway_verdicts_total{reason=\"OK\"} 0\n".to_owned(),
            "talent_gateway_partner_bundle_age_seconds{partner=\"mian\\\"yang\"} 12\n".to_owned(),
            "talent_gateway_partner_bundle_sequence{partner=\"mian\\\"yang\"} 7\n".to_owned(),
            "talent_gateway_partner_stale{partner=\"mian\\\"yang\"} 0\n".to_owned(),
            "talent_gateway_db_pool_connections{state=\"idle\"} 3\n".to_owned(),
            "talent_gateway_db_pool_connections{state=\"in_use\"} 1\n".to_owned(),
            "talent_gateway_db_pool_max 8\n".to_owned(),
            "talent_gateway_audit_dropped_total 0\n".to_owned(),
            format!(
                "talent_gateway_build_info{{version=\"{}\"}} 1\n",
                env!("CARGO_PKG_VERSION")
            ),
        ] {
            assert!(text.contains(&want), "missing {want:?} in\n{text}");
        }
        // The unused "other" slot has no samples; every line is a comment or a sample, and
        // the exposition ends with OpenMetrics' EOF marker.
        assert!(!text.contains("rpc=\"other\""));
        for l in text.lines() {
            assert!(
                l.starts_with("# HELP ")
                    || l.starts_with("# TYPE ")
                    || l == "# EOF"
                    || l.starts_with("talent_gateway_"),
                "{l}"
            );
        }
        assert!(text.ends_with("\n# EOF\n"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1);
    }
}

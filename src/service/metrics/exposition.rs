//! Prometheus text exposition format 0.0.4.

use super::{BUCKETS, RequestMetrics, VerdictCounts};
use crate::service::PartnerFederationStatus;
use crate::store::PoolState;
use std::fmt::Write;

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

/// The whole scrape.
pub fn render(requests: &RequestMetrics, verdicts: &VerdictCounts, s: &Scrape) -> String {
    let mut out = String::with_capacity(8 * 1024);
    let o = &mut out;

    header(
        o,
        "talent_gateway_requests_total",
        "counter",
        "gRPC calls by method and status code.",
    );
    for (rpc, codes, _) in requests.each() {
        for (code, n) in codes {
            line(
                o,
                "talent_gateway_requests_total",
                &[("rpc", rpc), ("code", code)],
                n,
            );
        }
    }

    let name = "talent_gateway_request_duration_seconds";
    header(
        o,
        name,
        "histogram",
        "gRPC call duration until the response body ends.",
    );
    for (rpc, _, h) in requests.each() {
        let (buckets, count, sum) = h.snapshot();
        if count == 0 {
            continue;
        }
        for (le, n) in BUCKETS.iter().zip(buckets) {
            let le = le.to_string();
            line(
                o,
                &format!("{name}_bucket"),
                &[("rpc", rpc), ("le", &le)],
                n,
            );
        }
        line(
            o,
            &format!("{name}_bucket"),
            &[("rpc", rpc), ("le", "+Inf")],
            count,
        );
        line(o, &format!("{name}_sum"), &[("rpc", rpc)], sum);
        line(o, &format!("{name}_count"), &[("rpc", rpc)], count);
    }

    header(
        o,
        "talent_gateway_verdicts_total",
        "counter",
        "Verification verdicts by reason code.",
    );
    for (reason, n) in verdicts.snapshot() {
        line(
            o,
            "talent_gateway_verdicts_total",
            &[("reason", reason.as_str())],
            n,
        );
    }

    let age = "talent_gateway_partner_bundle_age_seconds";
    header(
        o,
        age,
        "gauge",
        "Age of the partner's trust data in force (absent before the first good refresh).",
    );
    for p in &s.partners {
        if p.last_refresh_ms.is_some() {
            line(o, age, &[("partner", &p.partner_id)], p.lag_seconds);
        }
    }
    let seq = "talent_gateway_partner_bundle_sequence";
    header(
        o,
        seq,
        "gauge",
        "The partner's change sequence at the last good refresh.",
    );
    for p in &s.partners {
        line(o, seq, &[("partner", &p.partner_id)], p.sequence);
    }
    let stale = "talent_gateway_partner_stale";
    header(
        o,
        stale,
        "gauge",
        "1 when the partner's trust data is past the staleness limit.",
    );
    for p in &s.partners {
        line(o, stale, &[("partner", &p.partner_id)], u8::from(p.stale));
    }

    let pool = "talent_gateway_db_pool_connections";
    header(o, pool, "gauge", "Database pool connections by state.");
    line(o, pool, &[("state", "idle")], s.pool.idle);
    line(o, pool, &[("state", "in_use")], s.pool.in_use);
    let max = "talent_gateway_db_pool_max";
    header(o, max, "gauge", "Most connections the database pool opens.");
    line(o, max, &[], s.pool.max);

    let dropped = "talent_gateway_audit_dropped_total";
    header(
        o,
        dropped,
        "counter",
        "Audit records dropped because the audit queue was full.",
    );
    line(o, dropped, &[], s.audit_dropped);

    let build = "talent_gateway_build_info";
    header(o, build, "gauge", "The running version.");
    line(o, build, &[("version", env!("CARGO_PKG_VERSION"))], 1);
    out
}

fn header(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn line(o: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    o.push_str(name);
    if !labels.is_empty() {
        o.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push_str(k);
            o.push_str("=\"");
            escape(o, v);
            o.push('"');
        }
        o.push('}');
    }
    let _ = writeln!(o, " {value}");
}

/// Label values escape backslash, double quote and newline.
fn escape(o: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
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
            "# TYPE talent_gateway_requests_total counter\n".to_owned(),
            format!("talent_gateway_requests_total{{{rpc},code=\"OK\"}} 1\n"),
            format!("talent_gateway_requests_total{{{rpc},code=\"INVALID_ARGUMENT\"}} 1\n"),
            "# TYPE talent_gateway_request_duration_seconds histogram\n".to_owned(),
            format!("talent_gateway_request_duration_seconds_bucket{{{rpc},le=\"0.001\"}} 0\n"),
            format!("talent_gateway_request_duration_seconds_bucket{{{rpc},le=\"0.0025\"}} 1\n"),
            format!("talent_gateway_request_duration_seconds_bucket{{{rpc},le=\"+Inf\"}} 2\n"),
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
        // The unused "other" slot has no samples; every line is a comment or a sample.
        assert!(!text.contains("rpc=\"other\""));
        for l in text.lines() {
            assert!(
                l.starts_with("# HELP ")
                    || l.starts_with("# TYPE ")
                    || l.starts_with("talent_gateway_"),
                "{l}"
            );
        }
        assert!(text.ends_with('\n'));
    }
}

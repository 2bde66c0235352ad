//! Settings: defaults, then the TOML file, then `TALENT_GATEWAY_*` environment, then flags.

mod check;
mod federation;
mod holder_proof;
mod load;
mod overrides;
mod partner;
mod profiles;
mod rate_limits;
mod strict;

pub use check::{CheckReport, check};
pub use federation::FederationSettings;
pub use holder_proof::HolderProofConfig;
pub use overrides::Overrides;
pub use partner::PartnerConfig;
pub use rate_limits::RateLimitConfig;

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Notes a problem unless `cond` holds (validation lists every problem, not only the first).
macro_rules! require {
    ($problems:ident, $cond:expr, $($why:tt)+) => {
        if !$cond {
            $problems.push(format!($($why)+));
        }
    };
}

/// The longest an offline bundle may stay good: verifiers offline longer must not trust
/// revocations older than this.
const MAX_OFFLINE_BUNDLE_SECONDS: u64 = 30 * 86400;

/// Everything the gateway is configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address to serve gRPC on.
    pub listen: SocketAddr,
    /// Plain-HTTP address for Prometheus `GET /metrics`; off when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// Where the embedded database, dev certificates and local secrets live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; defaults to SQLite under `data_dir`.
    pub database_url: Option<String>,
    /// Server certificate chain (PEM).
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// CA that client certificates must chain to.
    pub client_ca: Option<PathBuf>,
    /// This gateway's region id.
    pub region: String,
    /// `iss` of the cards this gateway issues.
    pub issuer: String,
    /// Issuing district (GB/T 2260), the `district` claim.
    pub district: String,
    /// Pinned trust domain for operators and counters; any under the client CA when unset.
    pub trust_domain: Option<String>,
    /// Letters that prefix own card numbers.
    pub card_prefix: String,
    /// Tiers this region issues.
    pub tiers: Vec<String>,
    /// Longest validity a card may be issued for.
    pub max_valid_days: u32,
    /// Clock skew tolerated on `nbf`, `iat` and `exp`.
    pub clock_skew_seconds: i64,
    /// How long a next key is published before it signs.
    pub key_prepublish_seconds: i64,
    /// base64 of 32 bytes; when unset a 0600 file under `data_dir` is used, with a warning.
    pub key_encryption_key: Option<String>,
    /// Key-encryption keys with ids, `["ID:BASE64", ...]`: the first seals, every one
    /// opens (also `TALENT_GATEWAY_KEY_ENCRYPTION_KEYS`). Instead of `key_encryption_key`.
    pub key_encryption_keys: Vec<String>,
    /// What new own keys sign with: "EdDSA" (default) or "SM2" (also
    /// `TALENT_GATEWAY_SIGNING_ALGORITHM`); keys made earlier keep theirs.
    pub signing_algorithm: String,
    /// How new sealed keys are sealed: "ChaCha20-Poly1305" (default) or "SM4-GCM"; records
    /// sealed either way stay readable.
    pub key_sealing: String,
    /// base64 of 32 bytes for the keyed hash of ID numbers; same fallback as above.
    pub id_hash_secret: Option<String>,
    /// Entries of the status list (2 bits each).
    pub status_list_capacity: usize,
    /// How often replicas look at the change sequence.
    pub refresh_millis: u64,
    /// How often a signed checkpoint of the audit chain is made (when it moved) and sent to
    /// federated partners to witness; 0 turns checkpoints off.
    pub audit_checkpoint_seconds: u64,
    /// Largest request message, except where an RPC has its own limit.
    pub max_message_bytes: usize,
    /// HTTP/2 streams one connection may have open.
    pub max_concurrent_streams: u32,
    /// Deadline for any call.
    pub request_timeout_seconds: u64,
    /// How long a new connection has to finish its TLS handshake.
    pub tls_handshake_timeout_seconds: u64,
    /// Connections one address (IPv6: one /64) may hold open at once.
    pub max_connections_per_address: u32,
    /// How often an HTTP/2 PING checks that a connection's peer is still there.
    pub http2_keepalive_interval_seconds: u64,
    /// How long such a PING may go unanswered before the connection is closed.
    pub http2_keepalive_timeout_seconds: u64,
    /// A connection with no call in flight for this long is closed.
    pub connection_idle_timeout_seconds: u64,
    /// How long in-flight calls may finish after SIGTERM.
    pub shutdown_grace_seconds: u64,
    /// How long an offline bundle (Federation.GetOfflineBundle) is good for after it is
    /// made: its `exp` (also `TALENT_GATEWAY_OFFLINE_BUNDLE_SECONDS`).
    pub offline_bundle_seconds: u64,
    /// "text" or "json".
    pub log_format: String,
    /// Token profile own cards are issued in (profiles/*.toml).
    pub own_profile: String,
    /// A folder of token profiles (`*.toml`, the shipped format) beside the shipped ones.
    pub profiles_dir: Option<PathBuf>,
    /// Federation with partner gateways.
    pub federation: FederationSettings,
    /// Partner regions.
    pub partners: Vec<PartnerConfig>,
    /// Holder binding.
    pub holder_proof: HolderProofConfig,
    /// Per-caller rate limits.
    pub rate_limits: RateLimitConfig,
    /// Folder of the config file, for relative paths (not read from the file).
    #[serde(skip)]
    pub config_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            metrics_listen: None,
            data_dir: PathBuf::from("data"),
            database_url: None,
            tls_cert: None,
            tls_key: None,
            client_ca: None,
            region: "chongqing".into(),
            issuer: "urn:cn:500000:talent-card".into(),
            district: "500104".into(),
            trust_domain: None,
            card_prefix: "CQ".into(),
            tiers: ["A", "B", "C", "D", "E", "F"].map(String::from).to_vec(),
            max_valid_days: 3 * 365,
            clock_skew_seconds: 60,
            key_prepublish_seconds: 24 * 3600,
            key_encryption_key: None,
            key_encryption_keys: Vec::new(),
            signing_algorithm: "EdDSA".into(),
            key_sealing: "ChaCha20-Poly1305".into(),
            id_hash_secret: None,
            status_list_capacity: 1 << 20,
            refresh_millis: 1000,
            audit_checkpoint_seconds: 300,
            max_message_bytes: 64 * 1024,
            max_concurrent_streams: 256,
            request_timeout_seconds: 30,
            tls_handshake_timeout_seconds: 10,
            max_connections_per_address: 256,
            http2_keepalive_interval_seconds: 30,
            http2_keepalive_timeout_seconds: 10,
            connection_idle_timeout_seconds: 300,
            shutdown_grace_seconds: 20,
            offline_bundle_seconds: 86400,
            log_format: "text".into(),
            own_profile: "new-chongqing-talent-card-v1".into(),
            profiles_dir: None,
            federation: FederationSettings::default(),
            partners: Vec::new(),
            holder_proof: HolderProofConfig::default(),
            rate_limits: RateLimitConfig::default(),
            config_dir: None,
        }
    }
}

impl Settings {
    fn validate(&self) -> anyhow::Result<()> {
        let problems = self.problems();
        anyhow::ensure!(problems.is_empty(), "{}", problems.join("; "));
        Ok(())
    }

    /// Every setting that is wrong, each with what is wrong with it.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        require!(
            problems,
            !self.region.is_empty(),
            "region must not be empty"
        );
        require!(
            problems,
            !self.issuer.is_empty(),
            "issuer must not be empty"
        );
        require!(
            problems,
            self.card_prefix.len() >= 2
                && self.card_prefix.len() <= 4
                && self.card_prefix.bytes().all(|c| c.is_ascii_uppercase()),
            "card_prefix must be 2 to 4 capital letters"
        );
        require!(
            problems,
            self.tiers
                .iter()
                .all(|t| t.parse::<crate::domain::Tier>().is_ok()),
            "tiers must be single capital letters"
        );
        require!(
            problems,
            self.max_valid_days > 0,
            "max_valid_days must be positive"
        );
        require!(
            problems,
            self.status_list_capacity >= 1024 && self.status_list_capacity <= 1 << 24,
            "status_list_capacity must be between 1024 and 16777216"
        );
        require!(
            problems,
            self.tls_cert.is_some() == self.tls_key.is_some(),
            "--tls-cert and --tls-key go together"
        );
        require!(
            problems,
            (1..=3600).contains(&self.holder_proof.challenge_ttl_seconds),
            "holder_proof.challenge_ttl_seconds must be between 1 and 3600"
        );
        for c in &self.holder_proof.required_for_counters {
            require!(
                problems,
                c.parse::<crate::domain::SpiffeId>().is_ok(),
                "holder_proof.required_for_counters: {c:?} is not a SPIFFE ID \
                 (spiffe://TRUST_DOMAIN/counter/NAME)"
            );
        }
        for (class, rate, burst) in [
            (
                "identified",
                self.rate_limits.identified_per_second,
                self.rate_limits.identified_burst,
            ),
            (
                "public",
                self.rate_limits.public_per_second,
                self.rate_limits.public_burst,
            ),
            (
                "challenge",
                self.rate_limits.challenge_per_second,
                self.rate_limits.challenge_burst,
            ),
        ] {
            require!(
                problems,
                (rate == 0) == (burst == 0),
                "rate_limits.{class}_per_second and rate_limits.{class}_burst are 0 together \
                 (unlimited) or both positive"
            );
        }
        for (key, value) in [
            (
                "tls_handshake_timeout_seconds",
                self.tls_handshake_timeout_seconds,
            ),
            (
                "max_connections_per_address",
                u64::from(self.max_connections_per_address),
            ),
            (
                "http2_keepalive_interval_seconds",
                self.http2_keepalive_interval_seconds,
            ),
            (
                "http2_keepalive_timeout_seconds",
                self.http2_keepalive_timeout_seconds,
            ),
            (
                "connection_idle_timeout_seconds",
                self.connection_idle_timeout_seconds,
            ),
        ] {
            require!(problems, value > 0, "{key} must be positive");
        }
        require!(
            problems,
            (1..=MAX_OFFLINE_BUNDLE_SECONDS).contains(&self.offline_bundle_seconds),
            "offline_bundle_seconds must be between 1 and {MAX_OFFLINE_BUNDLE_SECONDS} (30 days)"
        );
        require!(
            problems,
            self.federation.refresh_hint_millis >= 100,
            "federation.refresh_hint_millis must be at least 100"
        );
        require!(
            problems,
            self.federation.staleness_seconds > 0,
            "federation.staleness_seconds must be positive"
        );
        require!(
            problems,
            self.audit_checkpoint_seconds <= 86_400,
            "audit_checkpoint_seconds must be 0 (off) to 86400 (a day)"
        );
        // A federated partner must see a new key before it signs: three of its polls at least.
        let federated = self
            .partners
            .iter()
            .any(|p| p.federation_endpoint.is_some());
        require!(
            problems,
            !federated
                || self.key_prepublish_seconds.saturating_mul(1000)
                    >= 3 * self.federation.refresh_hint_millis as i64,
            "key_prepublish_seconds must be at least three federation refresh intervals"
        );
        let mut ids = std::collections::HashSet::new();
        for p in &self.partners {
            require!(
                problems,
                ids.insert(&p.id),
                "partner {} is listed twice",
                p.id
            );
            require!(
                problems,
                p.jwks_file.is_some() || p.federation_endpoint.is_some(),
                "partner {} needs jwks_file or federation_endpoint",
                p.id
            );
            require!(
                problems,
                p.client_ca.is_none() || p.spiffe_id.is_some(),
                "partner {}: client_ca vouches only for a pinned spiffe_id; set one",
                p.id
            );
        }
        problems.extend(self.secret_problems());
        problems.extend(self.staleness_problems());
        if let Err(e) = self
            .signing_algorithm
            .parse::<crate::credential::SigningAlgorithm>()
        {
            problems.push(e.to_string());
        }
        if let Err(e) = self
            .key_sealing
            .parse::<crate::credential::SealingAlgorithm>()
        {
            problems.push(e.to_string());
        }
        problems.extend(self.profile_problems());
        problems
    }

    /// Secrets that are set must have the right shape (what they are is never shown).
    fn secret_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !self.key_encryption_keys.is_empty() {
            if self.key_encryption_key.is_some() {
                problems.push(
                    "key_encryption_key and key_encryption_keys are both set: give the old key \
                     as one entry of key_encryption_keys (\"default:BASE64\") instead"
                        .to_owned(),
                );
            }
            if let Err(e) = crate::credential::KeyEncryptionKeys::parse(&self.key_encryption_keys) {
                problems.push(e.to_string());
            }
        }
        for (key, value) in [
            ("key_encryption_key", &self.key_encryption_key),
            ("id_hash_secret", &self.id_hash_secret),
        ] {
            use base64::Engine;
            if let Some(v) = value {
                let ok = base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .is_ok_and(|b| b.len() == 32);
                require!(problems, ok, "{key} must be base64 of 32 bytes");
            }
        }
        problems
    }

    /// A per-service limit may only be stricter than the default one.
    fn staleness_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let default = self.federation.staleness_seconds;
        for (service, secs) in &self.federation.service_staleness_seconds {
            require!(
                problems,
                *secs > 0,
                "federation.service_staleness_seconds.{service} must be positive"
            );
            require!(
                problems,
                *secs <= default,
                "federation.service_staleness_seconds.{service} = {secs} is longer than \
                 federation.staleness_seconds = {default}: a service's limit may only be stricter \
                 than the default one"
            );
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every key of `file` is one the gateway read into `loaded` (figment ignores unknown
    /// keys, so a misspelt one would silently keep its default).
    fn known(file: &toml::Value, loaded: &toml::Value, at: &str) {
        match (file, loaded) {
            (toml::Value::Table(f), toml::Value::Table(l)) => {
                for (key, value) in f {
                    let Some(read) = l.get(key) else {
                        panic!("unknown key {at}{key}");
                    };
                    known(value, read, &format!("{at}{key}."));
                }
            }
            (toml::Value::Array(f), toml::Value::Array(l)) => {
                for (value, read) in f.iter().zip(l) {
                    known(value, read, at);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_production_example_loads_and_every_key_in_it_is_known() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/gateway.production.toml");
        let settings = Settings::load(Some(&path), &Overrides::default()).expect("it loads");
        assert_eq!(settings.log_format, "json");
        assert_eq!(settings.partners.len(), 1);
        let file: toml::Value =
            toml::from_str(&std::fs::read_to_string(&path).expect("read")).expect("TOML");
        known(
            &file,
            &toml::Value::try_from(&settings).expect("settings"),
            "",
        );
        // The check itself catches a misspelling.
        let typo: toml::Value = toml::from_str("log_fromat = \"json\"").expect("TOML");
        let caught = std::panic::catch_unwind(|| {
            known(
                &typo,
                &toml::Value::try_from(&settings).expect("settings"),
                "",
            );
        });
        assert!(caught.is_err());
    }

    #[test]
    fn connection_limits_are_positive() {
        assert!(Settings::default().validate().is_ok());
        let e = Settings {
            tls_handshake_timeout_seconds: 0,
            ..Default::default()
        }
        .validate()
        .expect_err("refused");
        assert!(
            e.to_string().contains("tls_handshake_timeout_seconds"),
            "{e}"
        );
        let e = Settings {
            max_connections_per_address: 0,
            ..Default::default()
        }
        .validate()
        .expect_err("refused");
        assert!(e.to_string().contains("max_connections_per_address"), "{e}");
    }

    #[test]
    fn an_offline_bundle_lives_a_second_to_thirty_days() {
        for ok in [1, 86400, 30 * 86400] {
            let s = Settings {
                offline_bundle_seconds: ok,
                ..Default::default()
            };
            assert!(s.validate().is_ok(), "{ok}");
        }
        for bad in [0, 30 * 86400 + 1] {
            let e = Settings {
                offline_bundle_seconds: bad,
                ..Default::default()
            }
            .validate()
            .expect_err("refused");
            assert!(e.to_string().contains("offline_bundle_seconds"), "{e}");
        }
    }

    #[test]
    fn a_rate_and_its_burst_are_zero_together() {
        let with = |rate_limits| Settings {
            rate_limits,
            ..Default::default()
        };
        assert!(with(RateLimitConfig::default()).validate().is_ok());
        let unlimited = RateLimitConfig {
            public_per_second: 0,
            public_burst: 0,
            ..Default::default()
        };
        assert!(with(unlimited).validate().is_ok());
        let half = RateLimitConfig {
            identified_burst: 0,
            ..Default::default()
        };
        let e = with(half).validate().expect_err("refused");
        assert!(
            e.to_string().contains("rate_limits.identified_burst"),
            "{e}"
        );
    }

    #[test]
    fn a_service_may_only_be_stricter_than_the_default_staleness() {
        let mut s = Settings::default();
        s.federation.staleness_seconds = 600;
        s.federation
            .service_staleness_seconds
            .insert("CQ05".into(), 60);
        assert!(s.validate().is_ok());
        s.federation
            .service_staleness_seconds
            .insert("CQ06".into(), 3600);
        let e = s.validate().expect_err("refused").to_string();
        assert!(
            e.contains("federation.service_staleness_seconds.CQ06 = 3600")
                && e.contains("federation.staleness_seconds = 600"),
            "{e}"
        );
        assert!(!e.contains("CQ05"), "{e}");
    }

    #[test]
    fn every_problem_is_listed_and_keys_are_checked_without_showing_them() {
        let k = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        let s = Settings {
            region: String::new(),
            max_valid_days: 0,
            key_encryption_key: Some(k.into()),
            key_encryption_keys: vec![format!("a:{k}"), "b:c2hvcnQ=".into()],
            id_hash_secret: Some("c2hvcnQ=".into()),
            ..Default::default()
        };
        let problems = s.problems();
        assert_eq!(problems.len(), 5, "{problems:?}");
        let all = problems.join("\n");
        for needed in [
            "region must not be empty",
            "max_valid_days must be positive",
            "key_encryption_key and key_encryption_keys are both set",
            "key `b` must be 32 bytes",
            "id_hash_secret must be base64 of 32 bytes",
        ] {
            assert!(all.contains(needed), "{needed:?} in {all}");
        }
        assert!(!all.contains(k) && !all.contains("c2hvcnQ="), "{all}");
    }
}

//! What the service's unit tests share: a gateway on an embedded database and test holders.

use super::{
    FederationSettings, GatewaySettings, HolderProofSettings, IssueRequest, IssuerPolicy, Services,
};
use std::sync::Arc;

/// A valid GB 11643 number: `base17` and its check character.
pub(crate) fn id_number(base17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = base17
        .bytes()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = "10X98765432".as_bytes()[(sum % 11) as usize] as char;
    format!("{base17}{check}")
}

/// A gateway with the default settings on SQLite under `dir`.
pub(crate) async fn gateway(dir: &std::path::Path) -> Arc<Services> {
    gateway_and_store(dir).await.0
}

/// As [`gateway`], and its store.
pub(crate) async fn gateway_and_store(
    dir: &std::path::Path,
) -> (Arc<Services>, Arc<dyn crate::store::Store>) {
    let url = format!("sqlite://{}", dir.join("gateway.db").display());
    let store = crate::store::connect(&url).await.expect("store");
    let gw = Services::start(settings(), store.clone())
        .await
        .expect("services");
    (Arc::new(gw), store)
}

/// The default settings (as the config file's defaults), with fresh secrets.
pub(crate) fn settings() -> GatewaySettings {
    let issuer = "urn:cn:500000:talent-card";
    GatewaySettings {
        issuer: IssuerPolicy {
            region: "chongqing".into(),
            issuer: issuer.into(),
            district: "500104".into(),
            card_prefix: "CQ".into(),
            tiers: ["A", "B", "C", "D", "E", "F"]
                .iter()
                .map(|t| t.parse().expect("tier"))
                .collect(),
            max_valid_days: 3 * 365,
            clock_skew: 60,
            prepublish: 24 * 3600,
            status_list_uri: format!("{issuer}:status-list:1"),
            refresh: std::time::Duration::from_millis(1000),
            signing_algorithm: crate::credential::SigningAlgorithm::EdDsa,
        },
        own_profile: "new-chongqing-talent-card-v1".into(),
        profiles: crate::trust::ProfileSet::shipped(),
        status_list_capacity: 1 << 20,
        partners: Vec::new(),
        holder: HolderProofSettings {
            challenge_ttl_seconds: 120,
            ..Default::default()
        },
        federation: FederationSettings {
            audit_checkpoint: None,
            refresh_hint: std::time::Duration::from_millis(60_000),
            staleness_seconds: 7 * 86_400,
            service_staleness_seconds: Default::default(),
            peers: Vec::new(),
            offline_bundle_seconds: 86_400,
        },
        kek: crate::credential::KeyEncryptionKeys::single(rand::random()),
        id_hash_secret: zeroize::Zeroizing::new(rand::random()),
    }
}

/// Issue request `n` (0 to 9) for a tier C holder of a year.
pub(crate) fn issue_request(n: u32) -> IssueRequest {
    IssueRequest {
        holder_name: "张三".parse().expect("name"),
        id_number: id_number(&format!("3405241980010100{n}"))
            .parse()
            .expect("id"),
        tier: "C".parse().expect("tier"),
        category: "other".parse().expect("category"),
        valid_days: 365,
        holder_key: None,
        idempotency_key: None,
    }
}

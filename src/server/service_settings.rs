//! The services' settings built from the config file's: secrets loaded (the key-encryption
//! keys, the ID-number hash secret), partner channels made, policies in the services' terms.
//! The one place that knows both shapes.

use crate::config::{HolderProofConfig, PartnerConfig, Settings};
use crate::credential::KeyEncryptionKeys;
use crate::service::{
    FederationSettings, GatewaySettings, HolderProofSettings, IssuerPolicy, PartnerDefinition,
    PeerChannel,
};
use std::time::Duration;
use zeroize::Zeroizing;

/// What the services start from, for `settings`; makes the single-machine secret files on a
/// first start.
pub fn service_settings(settings: &Settings) -> anyhow::Result<GatewaySettings> {
    let kek = load_keys(settings, true)?;
    let id_hash_secret = Zeroizing::new(crate::secret_file::secret_32(
        settings.id_hash_secret.as_deref(),
        &settings.data_dir.join("secrets").join("id-hash.key"),
        "ID number hash secret",
    )?);
    Ok(GatewaySettings {
        issuer: issuer_policy(settings)?,
        own_profile: settings.own_profile.clone(),
        profiles: crate::trust::ProfileSet::load(settings.profiles_dir.as_deref())
            .map_err(|p| anyhow::anyhow!("token profiles refused:\n  {}", p.join("\n  ")))?,
        status_list_capacity: settings.status_list_capacity,
        partners: settings.partners.iter().map(partner_definition).collect(),
        holder: holder_proof(&settings.holder_proof),
        federation: federation(settings)?,
        kek,
        id_hash_secret,
    })
}

fn issuer_policy(settings: &Settings) -> anyhow::Result<IssuerPolicy> {
    Ok(IssuerPolicy {
        region: settings.region.clone(),
        issuer: settings.issuer.clone(),
        district: settings.district.clone(),
        card_prefix: settings.card_prefix.clone(),
        tiers: settings
            .tiers
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect(),
        max_valid_days: settings.max_valid_days,
        clock_skew: settings.clock_skew_seconds,
        prepublish: settings.key_prepublish_seconds,
        status_list_uri: format!("{}:status-list:1", settings.issuer),
        refresh: Duration::from_millis(settings.refresh_millis.max(50)),
        signing_algorithm: settings.signing_algorithm.parse()?,
    })
}

fn partner_definition(p: &PartnerConfig) -> PartnerDefinition {
    PartnerDefinition {
        id: p.id.clone(),
        profile: p.profile.clone(),
        issuer: p.issuer.clone(),
        jwks_file: p.jwks_file.clone(),
        federation_endpoint: p.federation_endpoint.clone(),
        spiffe_id: p.spiffe_id.clone(),
    }
}

fn holder_proof(c: &HolderProofConfig) -> HolderProofSettings {
    HolderProofSettings {
        challenge_ttl_seconds: c.challenge_ttl_seconds,
        audience: c.audience.clone(),
        required_for_services: c.required_for_services.clone(),
        required_for_counters: c.required_for_counters.clone(),
    }
}

/// A client per configured partner with a federation endpoint (lazily connected: a partner
/// that is down at start is polled again later).
pub(crate) fn federation(settings: &Settings) -> anyhow::Result<FederationSettings> {
    let mut peers = Vec::new();
    for p in &settings.partners {
        let Some(endpoint) = &p.federation_endpoint else {
            continue;
        };
        peers.push(PeerChannel {
            id: p.id.clone(),
            issuer: p.issuer.clone(),
            endpoint: endpoint.clone(),
            spiffe_id: p.spiffe_id.clone(),
            published_profile: p.profile == crate::trust::PUBLISHED,
            channel: super::partner_channel::channel(settings, p, endpoint)?,
        });
    }
    let f = &settings.federation;
    Ok(FederationSettings {
        audit_checkpoint: (settings.audit_checkpoint_seconds > 0)
            .then(|| Duration::from_secs(settings.audit_checkpoint_seconds)),
        refresh_hint: Duration::from_millis(f.refresh_hint_millis),
        staleness_seconds: f.staleness_seconds,
        service_staleness_seconds: f.service_staleness_seconds.clone(),
        peers,
        offline_bundle_seconds: i64::try_from(settings.offline_bundle_seconds)?,
    })
}

/// Where the single-machine key-encryption key lives under the data folder.
pub fn key_file(settings: &Settings) -> std::path::PathBuf {
    settings.data_dir.join("secrets").join("key-encryption.key")
}

/// The ring from `key_encryption_keys`, else the one `key_encryption_key`, else the 0600 key
/// file under the data folder (made when `may_create` and missing: a first start).
pub fn load_keys(settings: &Settings, may_create: bool) -> anyhow::Result<KeyEncryptionKeys> {
    // New records are sealed with `key_sealing`; records sealed either way open.
    let sealing = settings.key_sealing.parse()?;
    Ok(load_ring(settings, may_create)?.sealing_with(sealing))
}

fn load_ring(settings: &Settings, may_create: bool) -> anyhow::Result<KeyEncryptionKeys> {
    if !settings.key_encryption_keys.is_empty() {
        anyhow::ensure!(
            settings.key_encryption_key.is_none(),
            "key_encryption_key and key_encryption_keys are both set: give the old key as one \
             entry of key_encryption_keys (\"default:BASE64\") and drop key_encryption_key"
        );
        return Ok(KeyEncryptionKeys::parse(&settings.key_encryption_keys)?);
    }
    let file = key_file(settings);
    anyhow::ensure!(
        may_create || settings.key_encryption_key.is_some() || file.exists(),
        "no key-encryption key: neither key_encryption_keys nor key_encryption_key is set, \
         and {} does not exist",
        file.display()
    );
    let bytes = crate::secret_file::secret_32(
        settings.key_encryption_key.as_deref(),
        &file,
        "key-encryption key",
    )?;
    Ok(KeyEncryptionKeys::single(bytes))
}

//! What the services are configured with, in their own terms. The config file's types stay in
//! `config`; `server::service_settings` builds these from them (secrets loaded, partner
//! channels made), so a service never reads the file's shape.

use crate::credential::KeyEncryptionKeys;
use crate::domain::Tier;
use crate::pb::federation_client::FederationClient;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use tonic::transport::Channel;
use zeroize::Zeroizing;

/// Everything the services start from.
pub struct GatewaySettings {
    /// The issuing side.
    pub issuer: IssuerPolicy,
    /// The token profile of own cards.
    pub own_profile: String,
    /// Every profile known by id: the shipped ones and `profiles_dir`'s.
    pub profiles: crate::trust::ProfileSet,
    /// Slots of the own status list.
    pub status_list_capacity: usize,
    /// Partners the configuration defines (applied to the store at every start).
    pub partners: Vec<PartnerDefinition>,
    /// Holder proofs.
    pub holder: HolderProofSettings,
    /// Federation with partner gateways.
    pub federation: FederationSettings,
    /// The key-encryption keys: the first seals, all unseal.
    pub kek: KeyEncryptionKeys,
    /// The HMAC secret for ID numbers.
    pub id_hash_secret: Zeroizing<[u8; 32]>,
}

/// A partner as the configuration defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerDefinition {
    /// Region id.
    pub id: String,
    /// Token profile id.
    pub profile: String,
    /// The partner's `iss`.
    pub issuer: String,
    /// A JWKS file to read its keys from.
    pub jwks_file: Option<PathBuf>,
    /// Its federation endpoint.
    pub federation_endpoint: Option<String>,
    /// Its pinned SPIFFE ID.
    pub spiffe_id: Option<String>,
}

/// Holder binding: how long a challenge lives, and where a bound card needs a proof.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolderProofSettings {
    /// Lifetime of a challenge nonce, seconds.
    pub challenge_ttl_seconds: i64,
    /// The `aud` proofs must name; the own issuer when unset.
    pub audience: Option<String>,
    /// Service codes whose redemption needs a proof from a bound card.
    pub required_for_services: Vec<String>,
    /// Counter SPIFFE IDs whose redemptions need a proof from a bound card.
    pub required_for_counters: Vec<String>,
}

/// How this gateway federates.
#[derive(Debug, Clone)]
pub struct FederationSettings {
    /// How often a checkpoint of the audit chain is signed and sent to partners to
    /// witness; never when None.
    pub audit_checkpoint: Option<Duration>,
    /// How often partners should poll us.
    pub refresh_hint: Duration,
    /// Age of a partner's trust data past which its cards get STALE_TRUST_DATA, seconds.
    pub staleness_seconds: i64,
    /// Stricter limits per host service code, seconds.
    pub service_staleness_seconds: BTreeMap<String, i64>,
    /// The partners polled, each with its channel (mutual TLS, pinned).
    pub peers: Vec<PeerChannel>,
    /// How long an offline bundle is good for after it is made, seconds.
    pub offline_bundle_seconds: i64,
}

/// A partner with a federation endpoint, and the channel to it.
#[derive(Debug, Clone)]
pub struct PeerChannel {
    /// Region id.
    pub id: String,
    /// Its `iss`.
    pub issuer: String,
    /// Its endpoint.
    pub endpoint: String,
    /// Its pinned SPIFFE ID.
    pub spiffe_id: Option<String>,
    /// Its cards are verified by the profile its bundle publishes (`profile = "published"`).
    pub published_profile: bool,
    /// A lazily connected channel.
    pub channel: Channel,
}

impl PeerChannel {
    pub(crate) fn client(&self) -> FederationClient<Channel> {
        FederationClient::new(self.channel.clone())
    }
}
/// What the issuing side is configured with.
#[derive(Debug, Clone)]
pub struct IssuerPolicy {
    /// The region this gateway serves.
    pub region: String,
    /// The `iss` of own cards.
    pub issuer: String,
    /// The district code in card numbers.
    pub district: String,
    /// The prefix of card numbers.
    pub card_prefix: String,
    /// Tiers this region issues.
    pub tiers: Vec<Tier>,
    /// Longest validity of a card, days.
    pub max_valid_days: u32,
    /// Clock skew tolerated, seconds.
    pub clock_skew: i64,
    /// How long a new key is published before it signs, seconds.
    pub prepublish: i64,
    /// The URI own tokens point to for their status.
    pub status_list_uri: String,
    /// How often the database is polled for changes.
    pub refresh: Duration,
    /// What new own keys sign with (`signing_algorithm`).
    pub signing_algorithm: crate::credential::SigningAlgorithm,
}

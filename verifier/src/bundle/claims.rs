//! The bundle's claims (DESIGN.md "Offline bundle"), as the gateway writes them and a verifier
//! reads them: one definition for both sides.

use serde::{Deserialize, Serialize};

/// The JWS `typ` of an offline bundle.
pub const BUNDLE_TYPE: &str = "trust-bundle+jwt";

/// The payload of an offline bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleClaims {
    /// The gateway that signed the bundle (its own issuer).
    pub iss: String,
    /// The region whose standard the verdicts apply (the signer's own region).
    pub region: String,
    /// When the bundle was made (Unix seconds).
    pub iat: i64,
    /// After this a verifier answers `STALE_TRUST_DATA` (Unix seconds).
    pub exp: i64,
    /// The clock skew the signer allows around a card's `exp`, `nbf` and `iat` (seconds):
    /// offline verdicts use the same.
    pub clock_skew_seconds: i64,
    /// Every issuer whose cards are decided here, the signer's own first.
    pub issuers: Vec<BundleIssuer>,
    /// The catalogue version in force at `iat`: the imported catalogue document (version,
    /// regions with their services, recognition rows, mappings) as JSON.
    pub catalogue: serde_json::Value,
}

/// One issuer in a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleIssuer {
    /// The `iss` its cards carry.
    pub issuer: String,
    /// Its region id in the catalogue.
    pub region: String,
    /// Its token profile's content (the fields of a `profiles_dir` file, as JSON).
    pub profile: serde_json::Value,
    /// Its published keys: an RFC 7517 JWK Set.
    pub jwks: serde_json::Value,
    /// Its revoked keys: never trusted again.
    #[serde(default)]
    pub revoked: Vec<BundleRevokedKey>,
    /// Its status list token (`statuslist+jwt`) exactly as it signed it; a verifier checks
    /// the signature itself. None for an issuer that publishes none (its profile says whether
    /// that is allowed).
    #[serde(default)]
    pub status_list: Option<String>,
    /// The partner is suspended under the agreement (its cards: `PARTNER_SUSPENDED`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// The partner's data was past the staleness limit when the bundle was made: its cards
    /// are `STALE_TRUST_DATA`, with this detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<String>,
}

/// A revoked key of an issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRevokedKey {
    pub kid: String,
    /// Unix seconds.
    pub revoked_at: i64,
    pub reason: String,
}

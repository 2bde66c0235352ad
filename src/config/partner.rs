//! A partner region as the config file names it.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A partner region under the agreement (`[[partners]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerConfig {
    /// Region id, e.g. "mianyang".
    pub id: String,
    /// Token profile, e.g. "science-city-card-v1".
    pub profile: String,
    /// The partner's `iss`.
    pub issuer: String,
    /// A JWKS file (relative to the config file).
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// The partner gateway, polled over mutual TLS.
    #[serde(default)]
    pub federation_endpoint: Option<String>,
    /// The partner's pinned SPIFFE ID.
    #[serde(default)]
    pub spiffe_id: Option<String>,
    /// The CA that vouches for the partner's identity.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

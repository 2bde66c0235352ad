//! Why an offline bundle or its trust anchor is not believed.

/// Why an offline bundle (or the anchor it is checked against) is refused. Each names the
/// reason, and the issuer or kid where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not a compact JWS, not base64url, not JSON, or a member missing or of the wrong type.
    #[error("malformed bundle: {0}")]
    Malformed(String),
    /// The JWS `typ` is not `trust-bundle+jwt`.
    #[error("wrong typ: a bundle's typ is trust-bundle+jwt, not {0:?}")]
    WrongType(String),
    /// The header's kid is not a key the anchor lists.
    #[error("unknown kid: the trust anchor lists no key {0:?}")]
    UnknownKid(String),
    /// The header's kid is revoked in the anchor.
    #[error("revoked kid: key {0:?} is revoked in the trust anchor")]
    RevokedKid(String),
    /// The header's `alg` is not the one the anchor's key is pinned to.
    #[error("algorithm mismatch: key {kid:?} is not an {alg:?} key")]
    AlgorithmMismatch { kid: String, alg: String },
    /// The signature does not verify under the anchor's key.
    #[error("bad signature: the bundle does not verify under key {0:?}")]
    BadSignature(String),
    /// `iss` is not the anchor's issuer, has no issuer entry, or its entry does not list the
    /// signing kid.
    #[error("issuer mismatch: {0}")]
    IssuerMismatch(String),
    /// One issuer's entry cannot be used (profile, keys).
    #[error("issuer {issuer}: {why}")]
    Issuer { issuer: String, why: String },
    /// An issuer's status list does not verify under its own keys.
    #[error("status list of {issuer} does not verify: {why}")]
    StatusList { issuer: String, why: String },
    /// The catalogue fails the checks of `catalogue import`.
    #[error("catalogue: {0}")]
    Catalogue(String),
    /// The trust anchor is neither a usable JWKS nor an earlier bundle.
    #[error("trust anchor: {0}")]
    Anchor(String),
}

impl BundleError {
    pub(super) fn malformed(why: impl Into<String>) -> Self {
        Self::Malformed(why.into())
    }

    pub(super) fn issuer(issuer: &str, why: impl std::fmt::Display) -> Self {
        Self::Issuer {
            issuer: issuer.to_owned(),
            why: why.to_string(),
        }
    }
}

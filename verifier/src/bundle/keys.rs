//! An issuer's keys as a bundle or a JWKS lists them: the usable ones by kid, and the revoked
//! kids (never trusted again).

use super::{BundleError, BundleIssuer};
use crate::trust::{PinnedKey, parse_jwks, revoked_in_jwks};
use std::collections::{HashMap, HashSet};

/// Usable keys by kid, and revoked kids.
pub(super) struct IssuerKeys {
    pub(super) keys: HashMap<String, PinnedKey>,
    pub(super) revoked: HashSet<String>,
}

impl IssuerKeys {
    /// A JWK Set's keys, its `revoked` member and `also_revoked` honoured. A key that cannot
    /// be read is left out (as the gateway leaves it out of a partner's bundle).
    pub(super) fn from_jwks<'a>(
        jwks: &str,
        also_revoked: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, String> {
        let (keys, _refused) = parse_jwks(jwks).map_err(|e| format!("jwks: {e}"))?;
        let mut revoked: HashSet<String> = revoked_in_jwks(jwks)
            .into_iter()
            .map(|(kid, _, _)| kid)
            .collect();
        revoked.extend(also_revoked.into_iter().map(str::to_owned));
        let keys = keys
            .into_iter()
            .filter(|k| !revoked.contains(k.kid()))
            .map(|k| (k.kid().to_owned(), k))
            .collect();
        Ok(Self { keys, revoked })
    }

    /// An issuer entry's keys: its `jwks` and its `revoked` list.
    pub(super) fn of(entry: &BundleIssuer) -> Result<Self, BundleError> {
        Self::from_jwks(
            &entry.jwks.to_string(),
            entry.revoked.iter().map(|r| r.kid.as_str()),
        )
        .map_err(|why| BundleError::issuer(&entry.issuer, why))
    }
}

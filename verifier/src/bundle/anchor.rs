//! What a verifier trusts at first: the keys that may sign a bundle.

use super::compact::Compact;
use super::keys::IssuerKeys;
use super::{BundleError, OfflineBundle};
use crate::trust::PinnedKey;

/// The keys a bundle's signer may use, from the gateway's published JWKS or from an earlier
/// bundle (then also the issuer a new bundle must have).
pub struct Anchor {
    /// The signer's issuer, when the anchor is an earlier bundle.
    issuer: Option<String>,
    keys: IssuerKeys,
}

impl Anchor {
    /// A JWKS (`{"keys":[...]}`, the gateway's published JWKS, `revoked` member honoured) or an
    /// earlier bundle (compact JWS; its own issuer's `jwks` are the anchor keys and its `iss`
    /// must match the new bundle's). Errors name what is wrong.
    pub fn parse(text: &str) -> Result<Anchor, BundleError> {
        let text = text.trim();
        if text.starts_with('{') {
            let keys = IssuerKeys::from_jwks(text, []).map_err(BundleError::Anchor)?;
            if keys.keys.is_empty() {
                return Err(BundleError::Anchor("the JWKS lists no usable key".into()));
            }
            return Ok(Self { issuer: None, keys });
        }
        let earlier = Compact::split(text)
            .map_err(|e| BundleError::Anchor(format!("neither a JWKS nor a bundle: {e}")))?;
        let claims = earlier
            .claims()
            .map_err(|e| BundleError::Anchor(format!("earlier bundle: {e}")))?;
        let own = OfflineBundle::own_entry(&claims)
            .map_err(|e| BundleError::Anchor(format!("earlier bundle: {e}")))?;
        let keys =
            IssuerKeys::of(own).map_err(|e| BundleError::Anchor(format!("earlier bundle: {e}")))?;
        // The earlier bundle was trusted when it was taken; it must still be what its own
        // keys signed (a copy damaged since is refused, not half-believed).
        let key = keys.keys.get(&earlier.kid).ok_or_else(|| {
            BundleError::Anchor(format!(
                "earlier bundle: its own jwks does not list its signing kid {:?}",
                earlier.kid
            ))
        })?;
        earlier
            .verify(key)
            .map_err(|e| BundleError::Anchor(format!("earlier bundle: {e}")))?;
        Ok(Self {
            issuer: Some(claims.iss),
            keys,
        })
    }

    /// The key that may sign a bundle under `kid`.
    pub(super) fn key(&self, kid: &str) -> Result<&PinnedKey, BundleError> {
        if self.keys.revoked.contains(kid) {
            return Err(BundleError::RevokedKid(kid.to_owned()));
        }
        self.keys
            .keys
            .get(kid)
            .ok_or_else(|| BundleError::UnknownKid(kid.to_owned()))
    }

    /// The issuer a bundle must have, when the anchor names one.
    pub(super) fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
}

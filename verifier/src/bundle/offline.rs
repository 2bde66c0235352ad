//! Opening an offline bundle against a trust anchor, and verdicts from it.

use super::compact::Compact;
use super::keys::IssuerKeys;
use super::trust::BundleTrust;
use super::{Anchor, BundleClaims, BundleError, BundleIssuer};
use crate::domain::Reason;
use crate::verification::{self, Verdict};

/// An offline bundle whose signature, issuers, keys, status lists and catalogue checked out.
pub struct OfflineBundle {
    claims: BundleClaims,
    trust: BundleTrust,
}

impl OfflineBundle {
    /// Checks the bundle's structure, `typ` == "trust-bundle+jwt", that its header `kid`
    /// names a key the anchor lists (and not revoked there), the signature under that key
    /// (EdDSA, ES256 or SM2, by the key's algorithm), and that `iss` has an entry in
    /// `issuers` whose jwks lists the signing kid. Does NOT check `exp` (a stale bundle still
    /// opens; its verdicts are STALE_TRUST_DATA). Then checks each issuer's status list under
    /// that issuer's own keys (a status list that does not verify is an error naming the
    /// issuer).
    pub fn open(bundle: &str, anchor: &Anchor) -> Result<OfflineBundle, BundleError> {
        let compact = Compact::split(bundle)?;
        compact.verify(anchor.key(&compact.kid)?)?;
        let claims = compact.claims()?;
        if let Some(expected) = anchor.issuer()
            && expected != claims.iss
        {
            return Err(BundleError::IssuerMismatch(format!(
                "the bundle's iss is {:?}, the earlier bundle's {expected:?}",
                claims.iss
            )));
        }
        let own = Self::own_entry(&claims)?;
        // Listed, readable and not revoked by the entry itself.
        if !IssuerKeys::of(own)?.keys.contains_key(&compact.kid) {
            return Err(BundleError::IssuerMismatch(format!(
                "the entry of {} does not list the signing kid {:?} as a usable key",
                claims.iss, compact.kid
            )));
        }
        let trust = BundleTrust::read(&claims, own)?;
        Ok(Self { claims, trust })
    }

    /// The signer's own issuer entry (the one whose `issuer` is `iss`), exactly once.
    pub(super) fn own_entry(claims: &BundleClaims) -> Result<&BundleIssuer, BundleError> {
        let mut own = claims.issuers.iter().filter(|e| e.issuer == claims.iss);
        match (own.next(), own.next()) {
            (Some(entry), None) => Ok(entry),
            (None, _) => Err(BundleError::IssuerMismatch(format!(
                "no issuer entry for iss {:?}",
                claims.iss
            ))),
            (Some(_), Some(_)) => Err(BundleError::malformed(format!(
                "issuer {} is listed twice",
                claims.iss
            ))),
        }
    }

    /// The bundle's claims.
    pub fn claims(&self) -> &BundleClaims {
        &self.claims
    }

    /// The same decision sequence and reasons as the gateway's VerifyCard (it is the same
    /// code), at Unix time `at`. `at` past the bundle's `exp`: STALE_TRUST_DATA (the detail
    /// says the bundle's exp). The issuer whose `issuer` is `iss` is "own" (region `region`).
    pub fn verify(&self, credential: &str, at: i64) -> Verdict {
        if at > self.claims.exp {
            return Verdict::refuse(
                Reason::StaleTrustData,
                format!(
                    "the offline bundle expired at {} (Unix seconds); fetch a new one",
                    self.claims.exp
                ),
            );
        }
        verification::verify(&self.trust, credential, at)
    }
}

//! The issuers of the vectors: this gateway (Chongqing), its partner Mianyang, and an issuer
//! nobody trusts; their keys, status lists, and the bundle the gateway signs over them.

use super::keys::{TestKey, seed};
use crate::credential::{StatusList, sign_status_list_token};
use crate::trust::ProfileSet;
use serde_json::{Value, json};
use talent_verifier::bundle::{BUNDLE_TYPE, BundleClaims, BundleIssuer, BundleRevokedKey};

/// The gateway's own issuer and region (the defaults of a Chongqing gateway).
pub(super) const OWN_ISSUER: &str = "urn:cn:500000:talent-card";
pub(super) const OWN_REGION: &str = "chongqing";
pub(super) const OWN_PROFILE: &str = "new-chongqing-talent-card-v1";
/// The partner: Mianyang's Science City cards.
pub(super) const PARTNER_ISSUER: &str = "urn:cn:510700:kjc-talent-card";
pub(super) const PARTNER_REGION: &str = "mianyang";
pub(super) const PARTNER_PROFILE: &str = "science-city-card-v1";
/// An issuer in no bundle.
pub(super) const STRANGER_ISSUER: &str = "urn:cn:510100:tianfu-talent-card";

/// How long the bundle is good for (the default `offline_bundle_seconds`).
pub(super) const BUNDLE_SECONDS: i64 = 86_400;
/// The clock skew a gateway allows by default (`clock_skew_seconds`).
pub(super) const CLOCK_SKEW: i64 = 60;
/// How long a status list token is valid (what the gateway signs its own with).
const STATUS_LIST_TTL: i64 = 300;
/// Entries in each status list: small, the vectors use a few.
const STATUS_LIST_ENTRIES: usize = 1024;

/// Status list values (IETF Token Status List, 2 bits).
pub(super) const REVOKED: u8 = 1;
pub(super) const SUSPENDED: u8 = 2;

/// The catalogue in force: the one the gateway ships.
pub(super) const CATALOGUE: &str = include_str!("../../../catalogue/catalogue.toml");

/// Every key of the vectors.
pub(super) struct Issuers {
    /// The gateway's current key: signs own cards, the own status list and the bundle.
    pub(super) own: TestKey,
    /// An earlier own key, revoked: cards it signed are KEY_REVOKED.
    pub(super) own_revoked: TestKey,
    /// Mianyang's keys, one per algorithm its profile allows; the Ed25519 one signs its
    /// status list.
    pub(super) partner_ed25519: TestKey,
    pub(super) partner_es256: TestKey,
    pub(super) partner_sm2: TestKey,
    /// The key of an issuer nobody trusts.
    pub(super) stranger: TestKey,
    /// A holder's device key (Ed25519), for the holder-bound card.
    pub(super) holder: ed25519_dalek::SigningKey,
}

impl Issuers {
    pub(super) fn new() -> Self {
        Self {
            own: TestKey::ed25519("chongqing own key 2"),
            own_revoked: TestKey::ed25519("chongqing own key 1 (revoked)"),
            partner_ed25519: TestKey::ed25519("mianyang ed25519"),
            partner_es256: TestKey::es256("mianyang p-256"),
            partner_sm2: TestKey::sm2("mianyang sm2"),
            stranger: TestKey::ed25519("tianfu (not trusted)"),
            holder: ed25519_dalek::SigningKey::from_bytes(&seed("holder device", 0)),
        }
    }

    /// The own key's revocation, as the JWKS and the bundle list it.
    fn own_revocation(&self, at: i64) -> BundleRevokedKey {
        BundleRevokedKey {
            kid: self.own_revoked.kid().to_owned(),
            revoked_at: at - 30 * 86_400,
            reason: "test vector: key compromise".to_owned(),
        }
    }

    /// The gateway's published JWK Set (the trust anchor): its current key, and its revoked
    /// key in the `revoked` member only, as `Keyring::jwks` publishes them.
    pub(super) fn own_jwks(&self, at: i64) -> Value {
        let r = self.own_revocation(at);
        json!({
            "keys": [self.own.public_jwk()],
            "revoked": [{"kid": r.kid, "revoked_at": r.revoked_at, "reason": r.reason}],
        })
    }

    fn partner_jwks(&self) -> Value {
        json!({"keys": [
            self.partner_ed25519.public_jwk(),
            self.partner_es256.public_jwk(),
            self.partner_sm2.public_jwk(),
        ]})
    }

    /// The bundle's claims at `at`: both issuers, their status lists with the `revoked` and
    /// `suspended` entries set, and the shipped catalogue.
    pub(super) fn bundle_claims(
        &self,
        at: i64,
        own_statuses: &[(usize, u8)],
        partner_statuses: &[(usize, u8)],
    ) -> anyhow::Result<BundleClaims> {
        let profiles = ProfileSet::shipped();
        let profile = |id: &str| -> anyhow::Result<Value> {
            let p = profiles
                .get(id)
                .ok_or_else(|| anyhow::anyhow!("the shipped profile {id} is missing"))?;
            Ok(serde_json::to_value(&*p)?)
        };
        let own_list = status_list_token(&self.own, OWN_ISSUER, own_statuses, at)?;
        let partner_list =
            status_list_token(&self.partner_ed25519, PARTNER_ISSUER, partner_statuses, at)?;
        let catalogue: Value = toml::from_str(CATALOGUE)?;
        Ok(BundleClaims {
            iss: OWN_ISSUER.to_owned(),
            region: OWN_REGION.to_owned(),
            iat: at,
            exp: at + BUNDLE_SECONDS,
            clock_skew_seconds: CLOCK_SKEW,
            issuers: vec![
                BundleIssuer {
                    issuer: OWN_ISSUER.to_owned(),
                    region: OWN_REGION.to_owned(),
                    profile: profile(OWN_PROFILE)?,
                    jwks: self.own_jwks(at),
                    revoked: vec![self.own_revocation(at)],
                    status_list: Some(own_list),
                    suspended: false,
                    stale: None,
                },
                BundleIssuer {
                    issuer: PARTNER_ISSUER.to_owned(),
                    region: PARTNER_REGION.to_owned(),
                    profile: profile(PARTNER_PROFILE)?,
                    jwks: self.partner_jwks(),
                    revoked: Vec::new(),
                    status_list: Some(partner_list),
                    suspended: false,
                    stale: None,
                },
            ],
            catalogue,
        })
    }

    /// The bundle: `claims` signed by the own key, as GetOfflineBundle signs it.
    pub(super) fn sign_bundle(&self, claims: &BundleClaims) -> anyhow::Result<String> {
        let key = self
            .own
            .own()
            .ok_or_else(|| anyhow::anyhow!("the own key signs bundles"))?;
        Ok(key.sign(BUNDLE_TYPE, claims)?)
    }
}

/// The status list URI `issuer`'s cards point to (as `service_settings` makes the own one).
pub(super) fn status_list_uri(issuer: &str) -> String {
    format!("{issuer}:status-list:1")
}

/// `issuer`'s signed status list (`statuslist+jwt`) at `at` with `entries` set, made by the
/// gateway's own status-list code.
fn status_list_token(
    key: &TestKey,
    issuer: &str,
    entries: &[(usize, u8)],
    at: i64,
) -> anyhow::Result<String> {
    let mut list = StatusList::new(STATUS_LIST_ENTRIES);
    for &(idx, value) in entries {
        list.set(idx, value);
    }
    let signer = key
        .own()
        .ok_or_else(|| anyhow::anyhow!("status lists are signed with Ed25519 or SM2 here"))?;
    Ok(sign_status_list_token(
        &list,
        &status_list_uri(issuer),
        issuer,
        at,
        STATUS_LIST_TTL,
        signer,
    )?)
}

/// The bundle with one byte of its signed payload changed (a digit of `exp`): it must be
/// refused, its signature no longer holds.
pub(super) fn tamper(bundle: &str) -> anyhow::Result<String> {
    let mut parts = bundle.split('.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        anyhow::bail!("the bundle is not a compact JWS");
    };
    let mut bytes = crate::credential::b64_decode(payload)?;
    let exp = bytes.windows(6).position(|w| w == b"\"exp\":");
    let digit = exp
        .and_then(|p| bytes.get_mut(p + 6))
        .ok_or_else(|| anyhow::anyhow!("the bundle has no exp"))?;
    *digit = if *digit == b'9' { b'1' } else { *digit + 1 };
    Ok(format!(
        "{header}.{}.{signature}",
        crate::credential::b64(bytes)
    ))
}

//! The New Chongqing Talent Card token: claims exactly as DOMAIN.md, nothing derived from the
//! resident ID number.

use super::jws::{b64, b64_decode};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

/// `typ` of our card tokens.
pub const OWN_TOKEN_TYPE: &str = "talent-card+jwt";

/// The holder's device key (RFC 7800 `cnf.jwk`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderKey {
    /// "OKP".
    pub kty: String,
    /// "Ed25519".
    pub crv: String,
    /// base64url public key.
    pub x: String,
}

impl HolderKey {
    /// The JWK of a raw Ed25519 public key; refuses bytes that are not a curve point.
    pub fn from_raw(raw: &[u8]) -> Option<Self> {
        let bytes: [u8; 32] = raw.try_into().ok()?;
        VerifyingKey::from_bytes(&bytes).ok()?;
        Some(Self {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: b64(bytes),
        })
    }

    /// The key for checking holder proofs.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return None;
        }
        let bytes: [u8; 32] = b64_decode(&self.x).ok()?.try_into().ok()?;
        VerifyingKey::from_bytes(&bytes).ok()
    }
}

/// `cnf` claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The holder key.
    pub jwk: HolderKey,
}

/// `status.status_list` reference (IETF Token Status List).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListRef {
    /// Index of this card in the list.
    pub idx: u64,
    /// The list's URI (the `sub` of the status list token).
    pub uri: String,
}

/// `status` claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusClaim {
    /// The list reference.
    pub status_list: StatusListRef,
}

/// Claims of a New Chongqing Talent Card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardClaims {
    /// Issuer, `urn:cn:500000:talent-card`.
    pub iss: String,
    /// Card number.
    pub sub: String,
    /// Issued at (seconds).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// Holder name.
    pub name: String,
    /// Tier letter.
    pub tier: String,
    /// Talent category.
    pub cat: String,
    /// Issuing district (GB/T 2260).
    pub district: String,
    /// Holder binding, when a device key was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// Where to look up revocation and suspension.
    pub status: StatusClaim,
}

impl CardClaims {
    /// The holder key, if the card is bound to one.
    pub fn holder_key(&self) -> Option<&HolderKey> {
        self.cnf.as_ref().map(|c| &c.jwk)
    }
}

//! Deciding whether a credential is genuine and current, with a precise reason.
//! Reads keys and status from memory only: no database round trip on this path.
//! Order of checks (DESIGN.md): size, structure, header, issuer and key, signature, time, status.

use super::{Gateway, now};
use crate::credential::{
    CardClaims, CompactJws, MAX_CREDENTIAL_BYTES, OWN_TOKEN_TYPE, strip_qr_prefix,
};
use crate::domain::{CardStatus, Reason};
use ed25519_dalek::Signature;
use serde::Deserialize;

/// The outcome of verifying one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The reason code; `Reason::Ok` when valid.
    pub reason: Reason,
    /// Plain-words explanation of a refusal.
    pub detail: String,
    /// Region of the issuer, when known.
    pub issuer_region: String,
    /// Card number, when the token could be read.
    pub card_id: String,
    /// Holder name, when the card verified.
    pub holder_name: String,
    /// Tier in the issuer's scheme.
    pub native_tier: String,
    /// Tier recognised in this region.
    pub recognised_tier: String,
    /// Expiry (unix seconds), 0 when unknown.
    pub expires_at: i64,
}

impl Verdict {
    fn refuse(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            issuer_region: String::new(),
            card_id: String::new(),
            holder_name: String::new(),
            native_tier: String::new(),
            recognised_tier: String::new(),
            expires_at: 0,
        }
    }

    /// True when the credential may be used.
    pub fn valid(&self) -> bool {
        self.reason == Reason::Ok
    }
}

/// Just enough of the payload to route the token to its issuer.
#[derive(Deserialize)]
struct Routing<'a> {
    #[serde(borrow)]
    iss: std::borrow::Cow<'a, str>,
}

impl Gateway {
    /// Verifies a token or QR payload. Never fails: every problem is a verdict.
    pub fn verify(&self, credential: &str) -> Verdict {
        let t = now();
        // 1. size, before any parsing
        if credential.len() > MAX_CREDENTIAL_BYTES {
            return Verdict::refuse(Reason::Malformed, "credential is larger than 8 KiB");
        }
        // 2. structure
        let token = strip_qr_prefix(credential);
        let jws = match CompactJws::parse(token) {
            Ok(j) => j,
            Err(e) => return Verdict::refuse(Reason::Malformed, e.to_string()),
        };
        let Ok(routing) = serde_json::from_slice::<Routing<'_>>(&jws.payload) else {
            return Verdict::refuse(Reason::Malformed, "payload is not a JSON object with iss");
        };
        // 3. header
        if jws.header.has_unsupported_fields() {
            return Verdict::refuse(
                Reason::UnsupportedHeader,
                "crit, jku, x5u, jwk and x5c headers are refused, never followed",
            );
        }
        if !matches!(jws.header.alg.as_str(), "EdDSA" | "Ed25519" | "ES256") {
            return Verdict::refuse(
                Reason::AlgorithmNotAllowed,
                format!("algorithm {:?} is not allowed", jws.header.alg),
            );
        }
        // 4. issuer and key
        if routing.iss != self.policy.issuer {
            return Verdict::refuse(
                Reason::UnknownIssuer,
                format!("issuer {:?} is not trusted here", routing.iss),
            );
        }
        self.verify_own(&jws, t)
    }

    fn verify_own(&self, jws: &CompactJws<'_>, t: i64) -> Verdict {
        if jws.header.typ.as_deref() != Some(OWN_TOKEN_TYPE) {
            return Verdict::refuse(Reason::WrongType, format!("typ must be {OWN_TOKEN_TYPE}"));
        }
        if !matches!(jws.header.alg.as_str(), "EdDSA" | "Ed25519") {
            return Verdict::refuse(
                Reason::AlgorithmNotAllowed,
                "own cards are signed with EdDSA only",
            );
        }
        let keys = self.keyring();
        let Some(key) = jws.header.kid.as_deref().and_then(|kid| keys.verifier(kid)) else {
            return Verdict::refuse(Reason::UnknownKey, "no own key with that kid");
        };
        // 5. signature
        let Ok(sig) = Signature::from_slice(&jws.signature) else {
            return Verdict::refuse(Reason::BadSignature, "signature has the wrong length");
        };
        if key
            .verify_strict(jws.signing_input.as_bytes(), &sig)
            .is_err()
        {
            return Verdict::refuse(Reason::BadSignature, "signature does not match");
        }
        let claims: CardClaims = match serde_json::from_slice(&jws.payload) {
            Ok(c) => c,
            Err(_) => {
                return Verdict::refuse(Reason::Malformed, "claims do not follow the card profile");
            }
        };
        let mut v = Verdict {
            reason: Reason::Ok,
            detail: String::new(),
            issuer_region: self.policy.region.clone(),
            card_id: claims.sub.clone(),
            holder_name: claims.name.clone(),
            native_tier: claims.tier.clone(),
            recognised_tier: claims.tier.clone(),
            expires_at: claims.exp,
        };
        // 6. time
        let skew = self.policy.clock_skew;
        if claims.exp <= claims.nbf || claims.iat > t + skew {
            return Verdict {
                reason: Reason::Malformed,
                detail: "exp, nbf or iat are inconsistent".into(),
                ..v
            };
        }
        if claims.exp + skew <= t {
            return Verdict {
                reason: Reason::Expired,
                detail: "the card has expired".into(),
                ..v
            };
        }
        if claims.nbf > t + skew {
            return Verdict {
                reason: Reason::NotYetValid,
                detail: "the card is not valid yet".into(),
                ..v
            };
        }
        // 7. status
        let status = self
            .status
            .read()
            .map(|b| b.status(claims.status.status_list.idx))
            .unwrap_or(CardStatus::Revoked);
        match status {
            CardStatus::Active => {}
            CardStatus::Suspended => {
                v.reason = Reason::Suspended;
                v.detail = "the card is suspended by its issuer".into();
            }
            CardStatus::Revoked => {
                v.reason = Reason::Revoked;
                v.detail = "the card is revoked by its issuer".into();
            }
        }
        v
    }
}

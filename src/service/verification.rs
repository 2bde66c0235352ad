//! Deciding whether a credential is genuine and current, and what its holder is recognised as
//! here. Reads keys, status and catalogue from memory only: no database round trip.
//! Order of checks (DESIGN.md): size, structure, header, issuer and key, signature, time,
//! status. Own and partner cards take the same path; a profile says where their claims are.

use super::catalogue::Recognition;
use super::{Gateway, now};
use crate::credential::{CompactJws, HolderKey, MAX_CREDENTIAL_BYTES, strip_qr_prefix};
use crate::domain::{CardNumber, CardStatus, Reason, Tier, TokenProfile};
use crate::trust::{Algorithm, PinnedKey};
use serde_json::{Map, Value};
use std::sync::Arc;

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
    /// Holder name, when the signature checked out.
    pub holder_name: String,
    /// Tier in the issuer's scheme.
    pub native_tier: String,
    /// Expiry (unix seconds), 0 when unknown.
    pub expires_at: i64,
    /// What the holder is recognised as here, and the services that go with it.
    pub recognition: Option<Arc<Recognition>>,
    /// The holder's device key, when the card is bound to one.
    pub holder_key: Option<HolderKey>,
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
            expires_at: 0,
            recognition: None,
            holder_key: None,
        }
    }

    fn with(mut self, reason: Reason, detail: &str) -> Self {
        self.reason = reason;
        self.detail = detail.to_owned();
        self
    }

    /// True when the credential may be used.
    pub fn valid(&self) -> bool {
        self.reason == Reason::Ok
    }

    /// The tier recognised here, when there is one.
    pub fn recognised_tier(&self) -> Option<Tier> {
        self.recognition.as_ref().map(|r| r.recognised_tier)
    }
}

/// Where a token's issuer was found.
enum Issuer<'a> {
    Own,
    Partner(&'a crate::trust::PartnerBundle),
}

fn int(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{name} is not an integer")),
    }
}

fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{name} is missing or not a string"))
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
        let jws = match CompactJws::parse(strip_qr_prefix(credential)) {
            Ok(j) => j,
            Err(e) => return Verdict::refuse(Reason::Malformed, e.to_string()),
        };
        let Ok(claims) = serde_json::from_slice::<Map<String, Value>>(&jws.payload) else {
            return Verdict::refuse(Reason::Malformed, "payload is not a JSON object");
        };
        let Some(iss) = claims.get("iss").and_then(Value::as_str) else {
            return Verdict::refuse(Reason::Malformed, "payload has no iss");
        };
        // 3. header
        if jws.header.has_unsupported_fields() {
            return Verdict::refuse(
                Reason::UnsupportedHeader,
                "crit, jku, x5u, jwk and x5c headers are refused, never followed",
            );
        }
        let Some(alg) = Algorithm::from_header(&jws.header.alg) else {
            return Verdict::refuse(
                Reason::AlgorithmNotAllowed,
                format!("algorithm {:?} is not allowed", jws.header.alg),
            );
        };
        // 4. issuer and key: own keys only for own cards, a partner's only for its cards
        let registry = self.registry();
        let keyring = self.keyring();
        let catalogue = self.catalogue();
        let (issuer, profile): (Issuer<'_>, &TokenProfile) = if iss == self.policy.issuer {
            (Issuer::Own, &self.own_profile)
        } else if let Some(p) = registry.partner(iss) {
            (Issuer::Partner(p), &p.profile)
        } else {
            return Verdict::refuse(
                Reason::UnknownIssuer,
                format!("issuer {iss:?} is not trusted here"),
            );
        };
        let region = catalogue
            .catalogue
            .region_of_issuer(iss)
            .map(|r| r.id.clone())
            .unwrap_or_else(|| match issuer {
                Issuer::Own => self.policy.region.clone(),
                Issuer::Partner(p) => p.id.clone(),
            });
        let mut v = Verdict::refuse(Reason::Ok, "");
        v.issuer_region = region;
        if let Issuer::Partner(p) = issuer
            && p.suspended
        {
            return v.with(
                Reason::PartnerSuspended,
                "the partner is suspended under the agreement",
            );
        }
        if jws.header.typ.as_deref() != Some(profile.typ.as_str()) {
            return v.with(Reason::WrongType, &format!("typ must be {}", profile.typ));
        }
        if !profile.algorithms.contains(&jws.header.alg) {
            return v.with(
                Reason::AlgorithmNotAllowed,
                "the profile does not allow this algorithm",
            );
        }
        let key: Option<&PinnedKey> = jws.header.kid.as_deref().and_then(|kid| match issuer {
            Issuer::Own => keyring.verifier(kid),
            Issuer::Partner(p) => p.keys.get(kid),
        });
        let Some(key) = key else {
            return v.with(Reason::UnknownKey, "no key with that kid for this issuer");
        };
        if key.algorithm() != alg {
            return v.with(
                Reason::AlgorithmNotAllowed,
                "the key is pinned to another algorithm",
            );
        }
        // 5. signature
        if !key.verify(jws.signing_input.as_bytes(), &jws.signature) {
            return v.with(Reason::BadSignature, "signature does not match");
        }
        // claims, now that they are known to be the issuer's
        let parsed = (|| -> Result<(String, String, Tier, i64, i64, i64), String> {
            let names = &profile.claims;
            let card = text(&claims, &names.card_number)?.to_owned();
            let ok_number = match (&issuer, &profile.card_number) {
                (Issuer::Own, _) => card.parse::<CardNumber>().is_ok(),
                (_, Some(shape)) => shape.matches(&card),
                (_, None) => card.len() <= 64,
            };
            if !ok_number {
                return Err(format!(
                    "{} is not a card number of this issuer",
                    names.card_number
                ));
            }
            let name = text(&claims, &names.holder_name)?.to_owned();
            let tier: Tier = text(&claims, &names.tier)?
                .parse()
                .map_err(|_| format!("{} is not a tier", names.tier))?;
            let exp = int(&claims, "exp")?.ok_or("exp is missing")?;
            let iat = int(&claims, "iat")?.ok_or("iat is missing")?;
            let nbf = match int(&claims, "nbf")? {
                Some(n) => n,
                None if names.nbf_required => return Err("nbf is missing".into()),
                None => iat,
            };
            Ok((card, name, tier, exp, iat, nbf))
        })();
        let (card, name, tier, exp, iat, nbf) = match parsed {
            Ok(p) => p,
            Err(e) => return v.with(Reason::Malformed, &e),
        };
        v.card_id = card;
        v.holder_name = name;
        v.native_tier = tier.as_str().to_owned();
        v.expires_at = exp;
        v.holder_key = claims
            .get("cnf")
            .and_then(|c| c.get("jwk"))
            .and_then(|j| serde_json::from_value::<HolderKey>(j.clone()).ok());
        // 6. time. A card past its expiry is EXPIRED and one before its start NOT_YET_VALID
        // whatever else is odd about it: that is what a counter needs to hear. A window that
        // cannot hold (exp <= nbf) or an iat in the future is MALFORMED.
        let skew = self.policy.clock_skew;
        if exp + skew <= t {
            return v.with(Reason::Expired, "the card has expired");
        }
        if nbf > t + skew {
            return v.with(Reason::NotYetValid, "the card is not valid yet");
        }
        if exp <= nbf || iat > t + skew {
            return v.with(Reason::Malformed, "exp, nbf or iat are inconsistent");
        }
        // 7. status
        if let Issuer::Own = issuer {
            let Some(idx) = claims
                .get("status")
                .and_then(|s| s.get("status_list"))
                .and_then(|s| s.get("idx"))
                .and_then(Value::as_u64)
            else {
                return v.with(Reason::Malformed, "status.status_list.idx is missing");
            };
            let status = self
                .status
                .read()
                .map(|b| b.status(idx))
                .unwrap_or(CardStatus::Revoked);
            match status {
                CardStatus::Active => {}
                CardStatus::Suspended => {
                    return v.with(Reason::Suspended, "the card is suspended by its issuer");
                }
                CardStatus::Revoked => {
                    return v.with(Reason::Revoked, "the card is revoked by its issuer");
                }
            }
        }
        // What the holder is recognised as here.
        match catalogue.here(&v.issuer_region, tier) {
            Some(r) => v.recognition = Some(r.clone()),
            None => {
                let detail = format!(
                    "tier {tier} is not a tier the agreement knows for {}",
                    v.issuer_region
                );
                return v.with(Reason::Malformed, &detail);
            }
        }
        v
    }
}

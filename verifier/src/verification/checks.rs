//! The decision sequence of one credential (DESIGN.md's order): size, structure, header,
//! issuer and key ([`check`]), then, once the signature is judged, claims, time, status and
//! recognition ([`conclude`]). Synchronous, memory only.

use super::{Issuer, MalformedClaims, Stage, Trust, Unverified, Verdict};
use crate::credential::{Claims, CompactJws, MAX_CREDENTIAL_BYTES, scan};
use crate::domain::{CardNumber, CardStatus, Reason, Tier, TokenProfile};
use crate::trust::{Algorithm, PinnedKey};

/// Steps 1 to 4: size, structure, header, issuer and key. `token` is `credential` without
/// its QR prefix; `buffer` is where it decodes (`CompactJws::buffer_len(token)` bytes).
#[inline]
pub fn check<'a, T: Trust>(
    trust: &'a T,
    credential: &str,
    token: &'a str,
    buffer: &'a mut [u8],
) -> Stage<'a> {
    // 1. size, before any parsing
    if credential.len() > MAX_CREDENTIAL_BYTES {
        return Stage::Done(Verdict::refuse(
            Reason::Malformed,
            "credential is larger than 8 KiB",
        ));
    }
    // 2. structure
    let jws = match CompactJws::parse(token, buffer) {
        Ok(j) => j,
        Err(e) => return Stage::Done(Verdict::refuse(Reason::Malformed, e.to_string())),
    };
    // Before the signature only what choosing the key needs is read: a linear, bounded
    // scan that finds `iss`.
    let payload = match scan(jws.payload) {
        Ok(p) => p,
        Err(e) => return Stage::Done(Verdict::refuse(Reason::Malformed, e.in_payload())),
    };
    let Some(issuer_name) = payload.str("iss") else {
        return Stage::Done(Verdict::refuse(Reason::Malformed, "payload has no iss"));
    };
    let iss = issuer_name.as_ref();
    // 3. header
    if jws.header.has_unsupported_fields() {
        return Stage::Done(Verdict::refuse(
            Reason::UnsupportedHeader,
            "crit, jku, x5u, jwk and x5c headers are refused, never followed",
        ));
    }
    let Some(alg) = Algorithm::from_header(&jws.header.alg) else {
        return Stage::Done(Verdict::refuse(
            Reason::AlgorithmNotAllowed,
            format!("algorithm {:?} is not allowed", jws.header.alg),
        ));
    };
    // 4. issuer and key: own keys only for own cards, a partner's only for its cards
    let (issuer, profile): (Issuer<'_>, &TokenProfile) = if iss == trust.own_issuer() {
        (Issuer::Own, trust.own_profile())
    } else if let Some(p) = trust.partner(iss) {
        (Issuer::Partner(p), &p.profile)
    } else {
        return Stage::Done(Verdict::refuse(
            Reason::UnknownIssuer,
            format!("issuer {iss:?} is not trusted here"),
        ));
    };
    let region = trust
        .catalogue()
        .catalogue
        .region_of_issuer(iss)
        .map(|r| r.id.clone())
        .unwrap_or_else(|| match issuer {
            Issuer::Own => trust.own_region().to_owned(),
            Issuer::Partner(p) => p.id.clone(),
        });
    let v = Verdict::ok_from(region);
    if let Issuer::Partner(p) = issuer
        && p.suspended
    {
        return Stage::Done(v.with(
            Reason::PartnerSuspended,
            "the partner is suspended under the agreement",
        ));
    }
    if let Issuer::Partner(p) = issuer
        && p.federated
        && let Some(detail) = trust.staleness(p)
    {
        return Stage::Done(v.with(Reason::StaleTrustData, &detail));
    }
    if jws.header.typ.as_deref() != Some(profile.typ.as_str()) {
        return Stage::Done(v.with(Reason::WrongType, &format!("typ must be {}", profile.typ)));
    }
    if !profile.algorithms.iter().any(|a| *a == jws.header.alg) {
        return Stage::Done(v.with(
            Reason::AlgorithmNotAllowed,
            "the profile does not allow this algorithm",
        ));
    }
    // A revoked kid is refused at lookup, before any signature work.
    let revoked = jws.header.kid.as_deref().is_some_and(|kid| match issuer {
        Issuer::Own => trust.own_key_revoked(kid),
        Issuer::Partner(p) => p.revoked.contains(kid),
    });
    if revoked {
        return Stage::Done(v.with(
            Reason::KeyRevoked,
            "the key that signed this token is revoked",
        ));
    }
    let key: Option<&PinnedKey> = jws.header.kid.as_deref().and_then(|kid| match issuer {
        Issuer::Own => trust.own_key(kid),
        Issuer::Partner(p) => p.keys.get(kid),
    });
    let Some(key) = key else {
        return Stage::Done(v.with(Reason::UnknownKey, "no key with that kid for this issuer"));
    };
    if key.algorithm() != alg {
        return Stage::Done(v.with(
            Reason::AlgorithmNotAllowed,
            "the key is pinned to another algorithm",
        ));
    }
    Stage::AwaitingSignature(Unverified {
        verdict: v,
        own: matches!(issuer, Issuer::Own),
        partner_statuses: match issuer {
            Issuer::Own => None,
            Issuer::Partner(p) => p.statuses.as_deref(),
        },
        profile,
        key,
        input: jws.signing_input.as_bytes(),
        signature: jws.signature,
        signature_b64: jws.signature_b64,
        payload,
    })
}

/// Step 5's outcome (`signature_ok`), then the claims, time (6) and status (7) at Unix time
/// `t`, and the recognition.
#[inline]
pub fn conclude<T: Trust>(trust: &T, s: Unverified<'_>, signature_ok: bool, t: i64) -> Verdict {
    let Unverified {
        verdict: v,
        own,
        partner_statuses,
        profile,
        payload,
        ..
    } = s;
    // 5. signature
    if !signature_ok {
        return v.with(Reason::BadSignature, "signature does not match");
    }
    let Some(claims) = Claims::read(&payload) else {
        return v.with(Reason::Malformed, "payload is not a JSON object");
    };
    // claims, now that they are known to be the issuer's
    let parsed = (|| -> Result<(String, String, Tier, i64, i64, i64), MalformedClaims> {
        let names = &profile.claims;
        let card = claims.text(&names.card_number)?;
        let ok_number = match (own, &profile.card_number) {
            (true, Some(shape)) => shape.matches(card),
            (true, None) => card.parse::<CardNumber>().is_ok(),
            (false, Some(shape)) => shape.matches(card),
            (false, None) => card.len() <= 64,
        };
        if !ok_number {
            return Err(MalformedClaims::NotACardNumber(names.card_number.clone()));
        }
        let name = claims.text(&names.holder_name)?;
        let tier: Tier = claims
            .text(&names.tier)?
            .parse()
            .map_err(|_| MalformedClaims::NotATier(names.tier.clone()))?;
        let exp = claims.int("exp")?.ok_or(MalformedClaims::Missing("exp"))?;
        let iat = claims.int("iat")?.ok_or(MalformedClaims::Missing("iat"))?;
        let nbf = match claims.int("nbf")? {
            Some(n) => n,
            None if names.nbf_required => return Err(MalformedClaims::Missing("nbf")),
            None => iat,
        };
        Ok((card.to_owned(), name.to_owned(), tier, exp, iat, nbf))
    })();
    let (card, name, tier, exp, iat, nbf) = match parsed {
        Ok(p) => p,
        Err(e) => return v.with(Reason::Malformed, &e.to_string()),
    };
    let mut v = v;
    v.card_id = card;
    v.holder_name = name;
    v.native_tier = tier.as_str().to_owned();
    v.expires_at = exp;
    let holder_key = claims.holder_key();
    // 6. time. A card past its expiry is EXPIRED and one before its start NOT_YET_VALID
    // whatever else is odd about it: that is what a counter needs to hear. A window that
    // cannot hold (exp <= nbf) or an iat in the future is MALFORMED.
    let skew = trust.clock_skew();
    if exp + skew <= t {
        return v.with(Reason::Expired, "the card has expired");
    }
    if nbf > t + skew {
        return v.with(Reason::NotYetValid, "the card is not valid yet");
    }
    if exp <= nbf || iat > t + skew {
        return v.with(Reason::Malformed, "exp, nbf or iat are inconsistent");
    }
    // 7. status: own cards from the board, a partner's from its last good list (its
    // profile makes the reference optional)
    let status = if own {
        let Some(idx) = claims.status_index() else {
            return v.with(Reason::Malformed, "status.status_list.idx is missing");
        };
        Some(trust.own_status(idx))
    } else {
        match (partner_statuses, claims.status_index()) {
            (Some(list), Some(idx)) => Some(match usize::try_from(idx) {
                Ok(i) if i < list.capacity() => CardStatus::from_list_value(list.get(i)),
                _ => CardStatus::Revoked,
            }),
            _ => None,
        }
    };
    if let Some(status) = status {
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
    // 8. holder binding: a cnf that is there but cannot be read is refused, never taken
    // for "not bound" (that would skip a required holder proof).
    match holder_key {
        Ok(k) => v.holder_key = k,
        Err(e) => return v.with(Reason::HolderProofInvalid, &e.to_string()),
    }
    // What the holder is recognised as here.
    match trust.catalogue().here(&v.issuer_region, tier) {
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

//! A partner's signed status list (typ statuslist+jwt), checked with the keys of its bundle
//! before any entry is believed.

use super::{Algorithm, PinnedKey};
use crate::credential::{StatusList, b64_decode};
use std::collections::HashMap;

/// Largest inflated list accepted from a partner (2^24 entries at 2 bits).
const MAX_LIST_BYTES: usize = 1 << 22;

/// Why a partner's status list is not believed.
#[derive(Debug, thiserror::Error)]
pub enum StatusListError {
    #[error("status list token is not a compact JWS")]
    NotCompact,
    #[error("status list header is not JSON")]
    HeaderNotJson,
    #[error("status list token's typ is not statuslist+jwt")]
    WrongType,
    #[error("status list token carries a {0} header")]
    RefusedHeader(&'static str),
    #[error("status list algorithm is not allowed")]
    AlgorithmNotAllowed,
    #[error("status list is signed with a key not in the bundle")]
    UnknownKey,
    #[error("status list key is pinned to another algorithm")]
    KeyPinnedElsewhere,
    #[error("status list signature is not base64url")]
    SignatureNotBase64,
    #[error("status list signature does not match the bundle's keys")]
    BadSignature,
    #[error("status list payload is not JSON")]
    PayloadNotJson,
    #[error("status list is not the partner issuer's")]
    OtherIssuer,
    #[error("status list token has expired")]
    Expired,
    #[error("status_list is missing")]
    ListMissing,
    #[error("only 2-bit status lists are understood")]
    NotTwoBits,
    #[error("status_list.lst is missing")]
    LstMissing,
    #[error("{0}")]
    Undecodable(String),
}

/// Verifies `token` as `issuer`'s status list signed by one of `keys`, current at `now`
/// (unix seconds), and decodes the list.
pub fn verify(
    token: &str,
    issuer: &str,
    keys: &HashMap<String, PinnedKey>,
    now: i64,
) -> Result<StatusList, StatusListError> {
    let mut parts = token.trim().splitn(4, '.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(StatusListError::NotCompact);
    };
    // The header is checked here: jsonwebtoken would take crit and key or URL headers
    // without refusing them; it checks the signature below.
    let header: serde_json::Value = b64_decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(StatusListError::HeaderNotJson)?;
    if header.get("typ").and_then(|v| v.as_str()) != Some("statuslist+jwt") {
        return Err(StatusListError::WrongType);
    }
    for refused in ["crit", "jku", "x5u", "jwk", "x5c"] {
        if header.get(refused).is_some() {
            return Err(StatusListError::RefusedHeader(refused));
        }
    }
    let alg = header
        .get("alg")
        .and_then(|v| v.as_str())
        .and_then(Algorithm::from_header)
        .ok_or(StatusListError::AlgorithmNotAllowed)?;
    let key = header
        .get("kid")
        .and_then(|v| v.as_str())
        .and_then(|kid| keys.get(kid))
        .ok_or(StatusListError::UnknownKey)?;
    if key.algorithm() != alg {
        return Err(StatusListError::KeyPinnedElsewhere);
    }
    let signature = b64_decode(s).map_err(|_| StatusListError::SignatureNotBase64)?;
    if !key.verify(
        &token.trim().as_bytes()[..h.len() + 1 + p.len()],
        &signature,
        s,
    ) {
        return Err(StatusListError::BadSignature);
    }
    let claims: serde_json::Value = b64_decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(StatusListError::PayloadNotJson)?;
    if claims.get("iss").and_then(|v| v.as_str()) != Some(issuer) {
        return Err(StatusListError::OtherIssuer);
    }
    if claims
        .get("exp")
        .and_then(|v| v.as_i64())
        .is_some_and(|exp| exp <= now)
    {
        return Err(StatusListError::Expired);
    }
    let list = claims
        .get("status_list")
        .ok_or(StatusListError::ListMissing)?;
    if list.get("bits").and_then(|v| v.as_u64()) != Some(2) {
        return Err(StatusListError::NotTwoBits);
    }
    let lst = list
        .get("lst")
        .and_then(|v| v.as_str())
        .ok_or(StatusListError::LstMissing)?;
    StatusList::decode(lst, MAX_LIST_BYTES).map_err(|e| StatusListError::Undecodable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{IssuerKey, sign_compact};
    use serde_json::json;

    const ISS: &str = "urn:cn:500000:talent-card";

    fn token(key: &IssuerKey, typ: &str, iss: &str, exp: i64, list: &StatusList) -> String {
        let header = json!({"alg": "EdDSA", "kid": key.kid(), "typ": typ});
        let claims =
            json!({"iss": iss, "exp": exp, "status_list": {"bits": 2, "lst": list.encode()}});
        sign_compact(&header, claims.to_string().as_bytes(), key.signing_key())
    }

    fn keys(key: &IssuerKey) -> HashMap<String, PinnedKey> {
        let k = PinnedKey::ed25519(key.kid().to_owned(), key.verifying_key());
        HashMap::from([(key.kid().to_owned(), k)])
    }

    #[test]
    fn a_list_signed_by_a_bundle_key_is_read_and_anything_else_refused() {
        let key = IssuerKey::generate();
        let mut list = StatusList::new(1024);
        list.set(7, 1);
        let good = token(&key, "statuslist+jwt", ISS, 2_000, &list);
        let read = verify(&good, ISS, &keys(&key), 1_000).expect("good list");
        assert_eq!((read.get(7), read.get(8)), (1, 0));

        let stranger = IssuerKey::generate();
        let cases = [
            (
                token(&stranger, "statuslist+jwt", ISS, 2_000, &list),
                "not in the bundle",
            ),
            (token(&key, "JWT", ISS, 2_000, &list), "typ"),
            (
                token(&key, "statuslist+jwt", "urn:other", 2_000, &list),
                "issuer",
            ),
            (token(&key, "statuslist+jwt", ISS, 999, &list), "expired"),
        ];
        for (t, why) in cases {
            let e = verify(&t, ISS, &keys(&key), 1_000).expect_err(why);
            assert!(e.to_string().contains(why), "{why}: {e}");
        }
        // A signature that does not match the payload.
        let (head, _) = good.rsplit_once('.').expect("three parts");
        let forged = format!("{head}.{}", crate::credential::b64([0u8; 64]));
        assert!(verify(&forged, ISS, &keys(&key), 1_000).is_err());
        // Stored lists are read past their expiry: staleness judges them then.
        let old = token(&key, "statuslist+jwt", ISS, 999, &list);
        assert!(verify(&old, ISS, &keys(&key), i64::MIN).is_ok());
    }
}

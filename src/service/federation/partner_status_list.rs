//! A partner's signed status list (typ statuslist+jwt), checked with the keys of its bundle
//! before any entry is believed.

use crate::credential::{StatusList, b64_decode};
use crate::trust::{Algorithm, PinnedKey};
use std::collections::HashMap;

/// Largest inflated list accepted from a partner (2^24 entries at 2 bits).
const MAX_LIST_BYTES: usize = 1 << 22;

/// Verifies `token` as `issuer`'s status list signed by one of `keys`, current at `now`
/// (unix seconds), and decodes the list.
pub(crate) fn verify(
    token: &str,
    issuer: &str,
    keys: &HashMap<String, PinnedKey>,
    now: i64,
) -> Result<StatusList, String> {
    let mut parts = token.trim().splitn(4, '.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("status list token is not a compact JWS".into());
    };
    let header: serde_json::Value = b64_decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("status list header is not JSON")?;
    if header.get("typ").and_then(|v| v.as_str()) != Some("statuslist+jwt") {
        return Err("status list token's typ is not statuslist+jwt".into());
    }
    for refused in ["crit", "jku", "x5u", "jwk", "x5c"] {
        if header.get(refused).is_some() {
            return Err(format!("status list token carries a {refused} header"));
        }
    }
    let alg = header
        .get("alg")
        .and_then(|v| v.as_str())
        .and_then(Algorithm::from_header)
        .ok_or("status list algorithm is not allowed")?;
    let key = header
        .get("kid")
        .and_then(|v| v.as_str())
        .and_then(|kid| keys.get(kid))
        .ok_or("status list is signed with a key not in the bundle")?;
    if key.algorithm() != alg {
        return Err("status list key is pinned to another algorithm".into());
    }
    let signature = b64_decode(s).map_err(|_| "status list signature is not base64url")?;
    if !key.verify(
        &token.trim().as_bytes()[..h.len() + 1 + p.len()],
        &signature,
    ) {
        return Err("status list signature does not match the bundle's keys".into());
    }
    let claims: serde_json::Value = b64_decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("status list payload is not JSON")?;
    if claims.get("iss").and_then(|v| v.as_str()) != Some(issuer) {
        return Err("status list is not the partner issuer's".into());
    }
    if claims
        .get("exp")
        .and_then(|v| v.as_i64())
        .is_some_and(|exp| exp <= now)
    {
        return Err("status list token has expired".into());
    }
    let list = claims.get("status_list").ok_or("status_list is missing")?;
    if list.get("bits").and_then(|v| v.as_u64()) != Some(2) {
        return Err("only 2-bit status lists are understood".into());
    }
    let lst = list
        .get("lst")
        .and_then(|v| v.as_str())
        .ok_or("status_list.lst is missing")?;
    StatusList::decode(lst, MAX_LIST_BYTES).map_err(|e| e.to_string())
}

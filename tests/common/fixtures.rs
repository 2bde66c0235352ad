//! Fixtures shared by the API tests and the benchmarks that start a gateway: ID numbers,
//! issue and redeem requests, holder device keys, the clock and base64url.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use talent_gateway::pb;

/// A valid GB 11643 ID number from its first 17 digits.
pub(crate) fn id_number(base17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = base17
        .bytes()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    format!(
        "{base17}{}",
        "10X98765432".as_bytes()[(sum % 11) as usize] as char
    )
}

/// A request for a card with sensible defaults.
pub(crate) fn issue_request(id: &str, tier: &str, key: &str) -> pb::IssueCardRequest {
    pb::IssueCardRequest {
        holder_name: "张政昊".into(),
        id_number: id.into(),
        tier: tier.into(),
        category: "scientific_research".into(),
        valid_days: 365,
        holder_public_key: Vec::new(),
        idempotency_key: key.into(),
    }
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Base64url without padding, as in JWTs.
pub(crate) fn b64(v: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

/// A RedeemService request without a holder proof.
pub(crate) fn redeem_request(credential: &str, code: &str, key: &str) -> pb::RedeemServiceRequest {
    pb::RedeemServiceRequest {
        credential: credential.into(),
        service_code: code.into(),
        idempotency_key: key.into(),
        holder_proof: String::new(),
    }
}

/// A holder proof (kb+jwt) over `token` by the device `key`, signed here with ed25519-dalek,
/// sha2 and serde_json directly, not with the gateway's code.
pub(crate) fn holder_proof(
    key: &ed25519_dalek::SigningKey,
    token: &str,
    nonce: &str,
    aud: &str,
    iat: i64,
) -> String {
    use ed25519_dalek::Signer as _;
    use sha2::Digest as _;
    let header = serde_json::json!({"alg": "EdDSA", "typ": "kb+jwt"});
    let claims = serde_json::json!({
        "nonce": nonce,
        "aud": aud,
        "iat": iat,
        "sd_hash": b64(sha2::Sha256::digest(token.as_bytes())),
    });
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    format!("{input}.{}", b64(key.sign(input.as_bytes()).to_bytes()))
}

/// A holder's device key, fresh each time.
pub(crate) fn device() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&rand::random())
}

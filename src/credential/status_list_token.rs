//! The own status list token: signed with the gateway's own key, so it lives here, beside
//! the key; the list itself and its reading are the verifier's.

use super::{OwnSigningKey, STATUS_BITS, StatusList, jose};

/// `list` as `issuer` publishes it at `uri`: a status list token (typ statuslist+jwt) issued
/// at `iat`, valid `ttl` seconds, signed by `signer`.
pub fn sign_status_list_token(
    list: &StatusList,
    uri: &str,
    issuer: &str,
    iat: i64,
    ttl: i64,
    signer: &OwnSigningKey,
) -> Result<String, jose::SignError> {
    let claims = serde_json::json!({
        "sub": uri,
        "iss": issuer,
        "iat": iat,
        "exp": iat + ttl,
        "ttl": ttl,
        "status_list": { "bits": STATUS_BITS, "lst": list.encode() },
    });
    // Ed25519 or SM2, as the key was made.
    signer.sign("statuslist+jwt", &claims)
}

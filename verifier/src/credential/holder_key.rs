//! Reading a card's `cnf` (RFC 7800) strictly: the only binding this gateway knows is
//! `cnf.jwk`, an Ed25519 OKP key. Anything else that is present says what is wrong, so the
//! verify path refuses the card rather than reading it as unbound.

use super::{HolderKey, b64_decode};
use serde_json::Value;

/// Why a present `cnf` names no holder key that can be used (the verdict's detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CnfError {
    #[error("cnf is not an object")]
    NotAnObject,
    #[error("cnf.jkt (a key thumbprint) cannot be checked here: the card must carry cnf.jwk")]
    ThumbprintOnly,
    #[error("cnf has no jwk (it has {0:?})")]
    NoJwk(Vec<String>),
    #[error("cnf.jwk is not a JWK object")]
    JwkNotAnObject,
    #[error("cnf.jwk kty {0:?} is not OKP")]
    KtyNotOkp(String),
    #[error("cnf.jwk has no kty")]
    NoKty,
    #[error("cnf.jwk crv {0:?} is not Ed25519")]
    CrvNotEd25519(String),
    #[error("cnf.jwk has no crv")]
    NoCrv,
    #[error("cnf.jwk carries a private key (d)")]
    PrivateKey,
    #[error("cnf.jwk has no x")]
    NoX,
    #[error("cnf.jwk x is not a base64url Ed25519 public key")]
    BadX,
}

/// The holder key `cnf` names, or why it names none that can be used.
pub(crate) fn from_cnf(cnf: &Value) -> Result<HolderKey, CnfError> {
    let Some(cnf) = cnf.as_object() else {
        return Err(CnfError::NotAnObject);
    };
    let Some(jwk) = cnf.get("jwk") else {
        return Err(if cnf.contains_key("jkt") {
            CnfError::ThumbprintOnly
        } else {
            CnfError::NoJwk(cnf.keys().cloned().collect())
        });
    };
    let Some(jwk) = jwk.as_object() else {
        return Err(CnfError::JwkNotAnObject);
    };
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    match member("kty") {
        Some("OKP") => {}
        Some(other) => return Err(CnfError::KtyNotOkp(other.to_owned())),
        None => return Err(CnfError::NoKty),
    }
    match member("crv") {
        Some("Ed25519") => {}
        Some(other) => return Err(CnfError::CrvNotEd25519(other.to_owned())),
        None => return Err(CnfError::NoCrv),
    }
    if jwk.contains_key("d") {
        return Err(CnfError::PrivateKey);
    }
    let x = member("x").ok_or(CnfError::NoX)?;
    b64_decode(x)
        .ok()
        .and_then(|raw| HolderKey::from_raw(&raw))
        .filter(|k| k.x == x)
        .ok_or(CnfError::BadX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::b64;
    use serde_json::json;

    fn point() -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        b64(key.verifying_key().as_bytes())
    }

    #[test]
    fn an_ed25519_jwk_reads() {
        let x = point();
        let k = from_cnf(&json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}})).expect("ok");
        assert_eq!(k.x, x);
        assert!(k.verifying_key().is_some());
    }

    #[test]
    fn anything_else_present_says_what_is_wrong() {
        let x = point();
        let cases = [
            (json!("none"), "not an object"),
            (json!({"jkt": "abc"}), "cnf.jkt"),
            (json!({}), "no jwk"),
            (json!({"jwk": ["OKP", "Ed25519", x]}), "not a JWK object"),
            (json!({"jwk": {"crv": "Ed25519", "x": x}}), "no kty"),
            (json!({"jwk": {"kty": "EC", "crv": "P-256", "x": x}}), "kty"),
            (
                json!({"jwk": {"kty": "OKP", "crv": "X25519", "x": x}}),
                "crv",
            ),
            (json!({"jwk": {"kty": "OKP", "crv": "Ed25519"}}), "no x"),
            (
                json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "!!"}}),
                "x is not",
            ),
            (
                json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64([1u8; 31])}}),
                "x is not",
            ),
            (
                json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": format!("{x}=")}}),
                "x is not",
            ),
            (
                json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": x, "d": "secret"}}),
                "private key",
            ),
        ];
        for (cnf, word) in cases {
            let e = from_cnf(&cnf).expect_err(&cnf.to_string()).to_string();
            assert!(e.contains(word), "{e:?} should name {word}");
        }
    }
}

//! Reading a card's `cnf` (RFC 7800) strictly: the only binding this gateway knows is
//! `cnf.jwk`, an Ed25519 OKP key. Anything else that is present says what is wrong, so the
//! verify path refuses the card rather than reading it as unbound.

use super::{HolderKey, b64_decode};
use serde_json::Value;

/// The holder key `cnf` names, or why it names none that can be used.
pub(crate) fn from_cnf(cnf: &Value) -> Result<HolderKey, String> {
    let Some(cnf) = cnf.as_object() else {
        return Err("cnf is not an object".into());
    };
    let Some(jwk) = cnf.get("jwk") else {
        let names: Vec<&str> = cnf.keys().map(String::as_str).collect();
        return Err(if cnf.contains_key("jkt") {
            "cnf.jkt (a key thumbprint) cannot be checked here: the card must carry cnf.jwk"
                .to_owned()
        } else {
            format!("cnf has no jwk (it has {names:?})")
        });
    };
    let Some(jwk) = jwk.as_object() else {
        return Err("cnf.jwk is not a JWK object".into());
    };
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    match member("kty") {
        Some("OKP") => {}
        Some(other) => return Err(format!("cnf.jwk kty {other:?} is not OKP")),
        None => return Err("cnf.jwk has no kty".into()),
    }
    match member("crv") {
        Some("Ed25519") => {}
        Some(other) => return Err(format!("cnf.jwk crv {other:?} is not Ed25519")),
        None => return Err("cnf.jwk has no crv".into()),
    }
    if jwk.contains_key("d") {
        return Err("cnf.jwk carries a private key (d)".into());
    }
    let x = member("x").ok_or("cnf.jwk has no x")?;
    b64_decode(x)
        .ok()
        .and_then(|raw| HolderKey::from_raw(&raw))
        .filter(|k| k.x == x)
        .ok_or_else(|| "cnf.jwk x is not a base64url Ed25519 public key".into())
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
            let e = from_cnf(&cnf).expect_err(&cnf.to_string());
            assert!(e.contains(word), "{e:?} should name {word}");
        }
    }
}

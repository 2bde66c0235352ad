//! Hostile partner tokens, made with ed25519-dalek, hmac and raw JSON (never the gateway's
//! own signing code), each with the reason it must be refused for. Shared by the attack
//! suite (tests/api/attacks.rs) and the cost benchmark (benches/hostile_tokens.rs).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer as _;
use hmac::Mac as _;
use serde_json::{Value, json};

pub(crate) fn b64(v: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

/// Signs header and payload exactly as given (raw JSON text, duplicates and all).
pub(crate) fn sign_raw(header: &str, payload: &[u8], key: &ed25519_dalek::SigningKey) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64(sig.to_bytes()))
}

/// The partner's header with its key id, and `extra` members.
pub(crate) fn header(extra: &str) -> String {
    format!(r#"{{"alg":"EdDSA","kid":"my-ed-1","typ":"JWT"{extra}}}"#)
}

/// The valid token: `claims` signed by the partner `key` (kid `my-ed-1`).
pub(crate) fn valid(claims: &Value, key: &ed25519_dalek::SigningKey) -> String {
    sign_raw(&header(""), claims.to_string().as_bytes(), key)
}

/// (what, token, the reason it is refused for). `claims` are valid claims that hold the name
/// 李雪 and the level B; `jwk` and `jwks` are the partner's published key texts.
pub(crate) fn hostile_tokens(
    claims: &Value,
    key: &ed25519_dalek::SigningKey,
    jwk: &str,
    jwks: &[u8],
) -> Vec<(&'static str, String, &'static str)> {
    let body = claims.to_string();
    let good = valid(claims, key);
    // HMAC keyed with what is public: the raw key, its JWK, the whole JWKS file.
    let public = key.verifying_key().to_bytes();
    let hmac_with = |secret: &[u8]| {
        let input = format!(
            "{}.{}",
            b64(r#"{"alg":"HS256","kid":"my-ed-1","typ":"JWT"}"#),
            b64(&body)
        );
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any length");
        mac.update(input.as_bytes());
        format!("{input}.{}", b64(mac.finalize().into_bytes()))
    };
    let nested = sign_raw(&header(r#","cty":"JWT""#), good.as_bytes(), key);
    let nested_string = sign_raw(&header(""), json!(good).to_string().as_bytes(), key);
    let level_twice = body.replacen(r#""level":"B""#, r#""level":"B","level":"A""#, 1);
    assert_ne!(level_twice, body, "the claims hold a level to give twice");
    let invalid_utf8 = {
        let mut p = body.clone().into_bytes();
        let at = body.find("李雪").expect("name in the claims");
        p[at] = 0xff;
        p
    };
    let with_exp = |exp: Value| {
        let mut c = claims.clone();
        c["exp"] = exp;
        c.to_string()
    };
    vec![
        (
            "HS256 keyed with the raw public key",
            hmac_with(&public),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "HS256 keyed with the JWK",
            hmac_with(jwk.as_bytes()),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "HS256 keyed with the JWKS file",
            hmac_with(jwks),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "alg none, empty signature",
            format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&body)),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "alg None",
            sign_raw(r#"{"alg":"None","kid":"my-ed-1"}"#, body.as_bytes(), key),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "unknown alg",
            sign_raw(r#"{"alg":"Ed448","kid":"my-ed-1"}"#, body.as_bytes(), key),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "RS256",
            sign_raw(r#"{"alg":"RS256","kid":"my-ed-1"}"#, body.as_bytes(), key),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "alg given twice",
            sign_raw(
                r#"{"alg":"EdDSA","alg":"none","kid":"my-ed-1","typ":"JWT"}"#,
                body.as_bytes(),
                key,
            ),
            "MALFORMED",
        ),
        (
            "kid path traversal",
            sign_raw(
                r#"{"alg":"EdDSA","kid":"../../../../etc/passwd","typ":"JWT"}"#,
                body.as_bytes(),
                key,
            ),
            "UNKNOWN_KEY",
        ),
        (
            "kid SQL injection",
            sign_raw(
                r#"{"alg":"EdDSA","kid":"x' OR '1'='1","typ":"JWT"}"#,
                body.as_bytes(),
                key,
            ),
            "UNKNOWN_KEY",
        ),
        (
            "kid with a NUL",
            sign_raw(
                r#"{"alg":"EdDSA","kid":"my-ed-1\u0000","typ":"JWT"}"#,
                body.as_bytes(),
                key,
            ),
            "UNKNOWN_KEY",
        ),
        (
            "kid not a string",
            sign_raw(
                r#"{"alg":"EdDSA","kid":["my-ed-1"],"typ":"JWT"}"#,
                body.as_bytes(),
                key,
            ),
            "MALFORMED",
        ),
        (
            "jku elsewhere",
            sign_raw(
                &header(r#","jku":"https://attacker.invalid/jwks""#),
                body.as_bytes(),
                key,
            ),
            "UNSUPPORTED_HEADER",
        ),
        (
            "x5u elsewhere",
            sign_raw(
                &header(r#","x5u":"https://attacker.invalid/cert""#),
                body.as_bytes(),
                key,
            ),
            "UNSUPPORTED_HEADER",
        ),
        (
            "x5c chain",
            sign_raw(&header(r#","x5c":["MIIB"]"#), body.as_bytes(), key),
            "UNSUPPORTED_HEADER",
        ),
        (
            "crit",
            sign_raw(
                &header(r#","crit":["b64"],"b64":false"#),
                body.as_bytes(),
                key,
            ),
            "UNSUPPORTED_HEADER",
        ),
        (
            "a claim given twice",
            sign_raw(&header(""), level_twice.as_bytes(), key),
            "MALFORMED",
        ),
        (
            "exp as a string",
            sign_raw(&header(""), with_exp(json!("9999999999")).as_bytes(), key),
            "MALFORMED",
        ),
        (
            "exp as a float",
            sign_raw(&header(""), with_exp(json!(1e12)).as_bytes(), key),
            "MALFORMED",
        ),
        ("nested JWS as the payload", nested, "MALFORMED"),
        ("nested JWS as a JSON string", nested_string, "MALFORMED"),
        (
            "payload not UTF-8",
            sign_raw(&header(""), &invalid_utf8, key),
            "MALFORMED",
        ),
        (
            "header not UTF-8",
            format!(
                "{}.{}.{}",
                b64([0x7b, 0xff, 0x7d]),
                b64(&body),
                b64([0; 64])
            ),
            "MALFORMED",
        ),
        (
            "huge kid within 8 KiB",
            sign_raw(
                &format!(
                    r#"{{"alg":"EdDSA","kid":"{}","typ":"JWT"}}"#,
                    "k".repeat(5000)
                ),
                body.as_bytes(),
                key,
            ),
            "UNKNOWN_KEY",
        ),
        (
            "huge header past 8 KiB",
            sign_raw(
                &header(&format!(r#","pad":"{}""#, "p".repeat(9000))),
                body.as_bytes(),
                key,
            ),
            "MALFORMED",
        ),
        (
            "deeply nested header",
            sign_raw(
                &format!(
                    r#"{{"alg":"EdDSA","kid":"my-ed-1","x":{}1{}}}"#,
                    "[".repeat(3000),
                    "]".repeat(3000)
                ),
                body.as_bytes(),
                key,
            ),
            "MALFORMED",
        ),
        (
            "signature too short",
            format!("{}.{}", good.rsplit_once('.').expect("dot").0, b64([1; 63])),
            "BAD_SIGNATURE",
        ),
        ("base64 with padding", format!("{}=", good), "MALFORMED"),
        (
            "base64 standard alphabet",
            good.replace('-', "+").replace('_', "/")
                + if good.contains(['-', '_']) { "" } else { "+" },
            "MALFORMED",
        ),
    ]
}

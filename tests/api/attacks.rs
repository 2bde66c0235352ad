//! Hostile tokens, made here with ed25519-dalek, hmac and raw JSON (never the gateway's own
//! signing code): each is refused with its reason, and the server keeps serving.

use crate::helpers::{Db, TestApp, issue_request, verify};
use crate::recognition::Mianyang;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer as _;
use hmac::Mac as _;
use serde_json::{Value, json};
use talent_gateway::pb;
use tonic::Code;

fn b64(v: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

/// Signs header and payload exactly as given (raw JSON text, duplicates and all).
fn sign_raw(header: &str, payload: &[u8], key: &ed25519_dalek::SigningKey) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64(sig.to_bytes()))
}

fn header(extra: &str) -> String {
    format!(r#"{{"alg":"EdDSA","kid":"my-ed-1","typ":"JWT"{extra}}}"#)
}

/// The payload of a compact token, decoded.
fn payload_of(token: &str) -> Value {
    let p = token.split('.').nth(1).expect("payload part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("b64")).expect("json")
}

#[tokio::test]
async fn hostile_partner_tokens_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let app = TestApp::spawn_with(Db::Sqlite, &my.config()).await;
    let claims = Mianyang::claims("B");
    let body = claims.to_string();
    let good = my.token(&claims);
    assert!(
        verify(&app, &good).await.valid,
        "the untampered token verifies"
    );

    // HMAC keyed with what is public: the raw key, its JWK, the whole JWKS file.
    let public = my.ed.verifying_key().to_bytes();
    let jwks = std::fs::read(dir.path().join("mianyang-jwks.json")).expect("jwks");
    let jwk = Mianyang::jwk_ed("my-ed-1", &my.ed).to_string();
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
    let nested = sign_raw(&header(r#","cty":"JWT""#), good.as_bytes(), &my.ed);
    let nested_string = sign_raw(&header(""), json!(good).to_string().as_bytes(), &my.ed);
    let level_twice = body.replacen(r#""level":"B""#, r#""level":"B","level":"A""#, 1);
    assert_ne!(level_twice, body, "the claims hold a level to give twice");
    let invalid_utf8 = {
        let mut p = body.clone().into_bytes();
        let at = body.find("李雪").expect("name in the claims");
        p[at] = 0xff;
        p
    };
    let cases: Vec<(&str, String, &str)> = vec![
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
            hmac_with(&jwks),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "alg none, empty signature",
            format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&body)),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "alg None",
            sign_raw(r#"{"alg":"None","kid":"my-ed-1"}"#, body.as_bytes(), &my.ed),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "unknown alg",
            sign_raw(
                r#"{"alg":"Ed448","kid":"my-ed-1"}"#,
                body.as_bytes(),
                &my.ed,
            ),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "RS256",
            sign_raw(
                r#"{"alg":"RS256","kid":"my-ed-1"}"#,
                body.as_bytes(),
                &my.ed,
            ),
            "ALGORITHM_NOT_ALLOWED",
        ),
        (
            "alg given twice",
            sign_raw(
                r#"{"alg":"EdDSA","alg":"none","kid":"my-ed-1","typ":"JWT"}"#,
                body.as_bytes(),
                &my.ed,
            ),
            "MALFORMED",
        ),
        (
            "kid path traversal",
            sign_raw(
                r#"{"alg":"EdDSA","kid":"../../../../etc/passwd","typ":"JWT"}"#,
                body.as_bytes(),
                &my.ed,
            ),
            "UNKNOWN_KEY",
        ),
        (
            "kid SQL injection",
            sign_raw(
                r#"{"alg":"EdDSA","kid":"x' OR '1'='1","typ":"JWT"}"#,
                body.as_bytes(),
                &my.ed,
            ),
            "UNKNOWN_KEY",
        ),
        (
            "kid with a NUL",
            sign_raw(
                r#"{"alg":"EdDSA","kid":"my-ed-1\u0000","typ":"JWT"}"#,
                body.as_bytes(),
                &my.ed,
            ),
            "UNKNOWN_KEY",
        ),
        (
            "kid not a string",
            sign_raw(
                r#"{"alg":"EdDSA","kid":["my-ed-1"],"typ":"JWT"}"#,
                body.as_bytes(),
                &my.ed,
            ),
            "MALFORMED",
        ),
        (
            "jku elsewhere",
            sign_raw(
                &header(r#","jku":"https://attacker.invalid/jwks""#),
                body.as_bytes(),
                &my.ed,
            ),
            "UNSUPPORTED_HEADER",
        ),
        (
            "x5u elsewhere",
            sign_raw(
                &header(r#","x5u":"https://attacker.invalid/cert""#),
                body.as_bytes(),
                &my.ed,
            ),
            "UNSUPPORTED_HEADER",
        ),
        (
            "x5c chain",
            sign_raw(&header(r#","x5c":["MIIB"]"#), body.as_bytes(), &my.ed),
            "UNSUPPORTED_HEADER",
        ),
        (
            "crit",
            sign_raw(
                &header(r#","crit":["b64"],"b64":false"#),
                body.as_bytes(),
                &my.ed,
            ),
            "UNSUPPORTED_HEADER",
        ),
        (
            "a claim given twice",
            sign_raw(&header(""), level_twice.as_bytes(), &my.ed),
            "MALFORMED",
        ),
        (
            "exp as a string",
            my.token(&{
                let mut c = claims.clone();
                c["exp"] = json!("9999999999");
                c
            }),
            "MALFORMED",
        ),
        (
            "exp as a float",
            my.token(&{
                let mut c = claims.clone();
                c["exp"] = json!(1e12);
                c
            }),
            "MALFORMED",
        ),
        ("nested JWS as the payload", nested, "MALFORMED"),
        ("nested JWS as a JSON string", nested_string, "MALFORMED"),
        (
            "payload not UTF-8",
            sign_raw(&header(""), &invalid_utf8, &my.ed),
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
                &my.ed,
            ),
            "UNKNOWN_KEY",
        ),
        (
            "huge header past 8 KiB",
            sign_raw(
                &header(&format!(r#","pad":"{}""#, "p".repeat(9000))),
                body.as_bytes(),
                &my.ed,
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
                &my.ed,
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
    ];
    for (name, token, want) in cases {
        let v = verify(&app, &token).await;
        assert!(!v.valid, "{name}: {v:?}");
        assert_eq!(v.reason, want, "{name}: {v:?}");
        assert!(!v.detail.is_empty(), "{name}: a refusal says why");
    }
    assert!(verify(&app, &good).await.valid, "still serving");
}

#[tokio::test]
async fn keys_never_vouch_across_issuers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let app = TestApp::spawn_with(Db::Sqlite, &my.config()).await;
    let card = app
        .issuance(Some("operator"))
        .await
        .issue_card(issue_request(
            &crate::helpers::id_number("11010519491231002"),
            "C",
            "attack-1",
        ))
        .await
        .expect("issued")
        .into_inner()
        .card
        .expect("card");
    let own = payload_of(&card.token);
    let own_kid = {
        let h = card.token.split('.').next().expect("header");
        let h: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).expect("b64")).expect("json");
        h["kid"].as_str().expect("kid").to_owned()
    };
    let own_header =
        |kid: &str| format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"talent-card+jwt"}}"#);
    // An own card re-signed by the partner: under the partner's kid no own key matches, under
    // the own kid the signature is wrong.
    let v = verify(
        &app,
        &sign_raw(&own_header("my-ed-1"), own.to_string().as_bytes(), &my.ed),
    )
    .await;
    assert_eq!(v.reason, "UNKNOWN_KEY", "{v:?}");
    let v = verify(
        &app,
        &sign_raw(&own_header(&own_kid), own.to_string().as_bytes(), &my.ed),
    )
    .await;
    assert_eq!(v.reason, "BAD_SIGNATURE", "{v:?}");
    // A partner token under the own kid (the partner claims our issuer's key id).
    let partner = Mianyang::claims("A");
    let v = verify(
        &app,
        &sign_raw(
            &header("").replace("my-ed-1", &own_kid),
            partner.to_string().as_bytes(),
            &my.ed,
        ),
    )
    .await;
    assert_eq!(v.reason, "UNKNOWN_KEY", "{v:?}");
    assert!(verify(&app, &card.token).await.valid);
}

/// Requests carrying raw bytes where the proto says string.
#[derive(Clone, PartialEq, prost::Message)]
struct RawVerifyCardRequest {
    #[prost(bytes = "vec", tag = "1")]
    credential: Vec<u8>,
}

#[tokio::test]
async fn transport_level_garbage_is_refused_before_it_is_read_whole() {
    let app = TestApp::spawn(Db::Sqlite).await;
    // A credential of several MiB: the transport refuses it by its declared length.
    for rpc in ["VerifyCard", "VerifyCards"] {
        let mut grpc = tonic::client::Grpc::new(app.channel(None).await);
        grpc.ready().await.expect("ready");
        let path = format!("/talentcard.v1.Verification/{rpc}");
        let err = grpc
            .unary::<_, pb::VerifyCardResponse, _>(
                tonic::Request::new(RawVerifyCardRequest {
                    credential: vec![b'a'; 4 << 20],
                }),
                path.parse().expect("path"),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .expect_err("several MiB");
        assert_eq!(err.code(), Code::ResourceExhausted, "{rpc}: {err:?}");
    }
    // A string field that is not UTF-8 is the caller's mistake, and says which field.
    let mut grpc = tonic::client::Grpc::new(app.channel(None).await);
    grpc.ready().await.expect("ready");
    let err = grpc
        .unary::<_, pb::VerifyCardResponse, _>(
            tonic::Request::new(RawVerifyCardRequest {
                credential: vec![0xff, 0xfe, b'.', b'x'],
            }),
            "/talentcard.v1.Verification/VerifyCard"
                .parse()
                .expect("path"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .expect_err("not UTF-8");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("credential"), "{err:?}");
    assert!(!verify(&app, "still serving").await.valid);
}

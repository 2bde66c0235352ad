//! Hostile tokens, made here with ed25519-dalek, hmac and raw JSON (never the gateway's own
//! signing code): each is refused with its reason, and the server keeps serving.

#[path = "../common/hostile_tokens.rs"]
mod hostile;

use crate::fixtures::issue_request;
use crate::helpers::{Db, TestApp, issued, verify};
use crate::mianyang::Mianyang;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hostile::{header, hostile_tokens, sign_raw};
use serde_json::{Value, json};
use talent_gateway::pb;
use tonic::Code;

/// The payload of a compact token, decoded.
fn payload_of(token: &str) -> Value {
    let p = token.split('.').nth(1).expect("payload part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("b64")).expect("json")
}

#[tokio::test]
async fn hostile_partner_tokens_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(&my.config())
        .spawn()
        .await;
    let claims = Mianyang::claims("B");
    let good = my.token(&claims);
    assert!(
        verify(&app, &good).await.valid,
        "the untampered token verifies"
    );

    let jwks = std::fs::read(dir.path().join("mianyang-jwks.json")).expect("jwks");
    let jwk = Mianyang::jwk_ed("my-ed-1", &my.ed).to_string();
    let cases = hostile_tokens(&claims, &my.ed, &jwk, &jwks);
    assert_eq!(cases.len(), 29);
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
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(&my.config())
        .spawn()
        .await;
    let card = issued(
        &app,
        issue_request(
            &crate::fixtures::id_number("11010519491231002"),
            "C",
            "attack-1",
        ),
    )
    .await;
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

/// A partner publishing a small-order Ed25519 key: under it, the signature R = identity,
/// s = 0 passes ed25519-dalek's plain `verify` (what jsonwebtoken's EdDSA calls) for any
/// message. The gateway checks partner signatures with jsonwebtoken and must still refuse it,
/// as `verify_strict` does.
#[tokio::test]
async fn a_small_order_partner_key_vouches_for_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let my = Mianyang::new(dir.path());
    let jwks_path = dir.path().join("mianyang-jwks.json");
    let mut jwks: Value =
        serde_json::from_slice(&std::fs::read(&jwks_path).expect("jwks")).expect("json");
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(identity),
        "kid": "my-weak", "alg": "EdDSA", "use": "sig"});
    jwks["keys"].as_array_mut().expect("keys").push(weak);
    std::fs::write(&jwks_path, jwks.to_string()).expect("write jwks");
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(&my.config())
        .spawn()
        .await;

    let claims = Mianyang::claims("B");
    let header = json!({"alg": "EdDSA", "kid": "my-weak", "typ": "JWT"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&identity);
    // The forgery is real: the plain check accepts it.
    let plain = ed25519_dalek::VerifyingKey::from_bytes(&identity).expect("a point");
    assert!(
        ed25519_dalek::Verifier::verify(
            &plain,
            input.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&signature)
        )
        .is_ok()
    );
    let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature));
    let v = verify(&app, &forged).await;
    assert_eq!(v.reason, "BAD_SIGNATURE", "{v:?}");
    assert!(!v.valid);
    // The partner's honest key still vouches for its cards.
    assert!(verify(&app, &my.token(&claims)).await.valid);
}

#[tokio::test]
async fn transport_level_garbage_is_refused_before_it_is_read_whole() {
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
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

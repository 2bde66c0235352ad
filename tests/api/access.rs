//! Who may call what, over every RPC of the contract (read from the descriptor set, so a new
//! RPC is covered without touching this test) and every kind of caller, on a gateway whose
//! partner brings its own CA: that CA vouches for the partner and for nobody else.

use crate::helpers::{Db, TestApp, counter_token, own_card, with_token};
use crate::web::{frame, http1, unframe};
use prost::Message;
use talent_gateway::api::access;
use talent_gateway::domain::Role;
use talent_gateway::pb;
use tonic::Code;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The partner's pinned identity, under its own CA.
const PARTNER: &str = "spiffe://my.talent/partner/mianyang";

/// A partner CA with the partner's certificate, and with certificates naming our own
/// operator and counter desk-1, which it may not vouch for.
fn partner_pki() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    talent_gateway::dev_certs::generate_clients(
        dir.path(),
        &[
            ("partner", PARTNER),
            ("operator", "spiffe://cq.talent/operator/dev"),
            ("counter", "spiffe://cq.talent/counter/desk-1"),
        ],
    )
    .expect("partner PKI");
    dir
}

/// Mianyang as a partner polled at an address where nobody answers, bound to its own CA.
fn config(partner_ca: &tempfile::TempDir, extra: &str) -> String {
    format!(
        "{extra}\n[[partners]]\nid = \"mianyang\"\nprofile = \"science-city-card-v1\"\n\
         issuer = \"urn:cn:510700:kjc-talent-card\"\nfederation_endpoint = \"https://127.0.0.1:9\"\n\
         client_ca = \"{}\"\nspiffe_id = \"{PARTNER}\"\n",
        partner_ca.path().join("ca.pem").display()
    )
}

/// Adds `authorization` when given.
#[derive(Clone)]
struct Authorization(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Authorization {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// What a caller is to the gateway.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Is {
    /// This role, and pinned where the configuration pins.
    Pinned(Role),
    /// A partner identity the configuration does not pin.
    Unpinned(Role),
    /// A certificate whose CA may not vouch for what it names.
    Unvouched,
}

struct Caller {
    name: &'static str,
    is: Is,
    channel: InterceptedService<Channel, Authorization>,
}

/// Calls `path` with an empty request message; the answer's code.
async fn call(channel: InterceptedService<Channel, Authorization>, path: &str) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::try_from(path).expect("path");
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    match grpc.unary(tonic::Request::new(()), path, codec).await {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

/// Every RPC of package talentcard.v1: (path, `Service.Method`).
fn rpcs() -> Vec<(String, String)> {
    let set = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).expect("set");
    let mut all = Vec::new();
    for file in set.file.iter().filter(|f| f.package() == "talentcard.v1") {
        for service in &file.service {
            for method in &service.method {
                all.push((
                    format!("/talentcard.v1.{}/{}", service.name(), method.name()),
                    format!("{}.{}", service.name(), method.name()),
                ));
            }
        }
    }
    all
}

/// The code `is` must get on `rpc`: None where it may call (any code but the refusals).
fn expected(rpc: &str, is: Is) -> Option<Code> {
    let roles = access::allowed(rpc);
    match is {
        Is::Unvouched => Some(Code::PermissionDenied),
        _ if roles.contains(&Role::Public) => None,
        Is::Pinned(Role::Public) => Some(Code::Unauthenticated),
        Is::Pinned(role) if roles.contains(&role) => None,
        Is::Pinned(_) | Is::Unpinned(_) => Some(Code::PermissionDenied),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_every_caller_as_the_access_table_says() {
    let partner = partner_pki();
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(&config(&partner, "trust_domain = \"cq.talent\""))
        .spawn()
        .await;
    let token = counter_token(&app, "desk-1", 12).await.token;
    let plain = |ch: Channel| InterceptedService::new(ch, Authorization(None));
    let bearer = format!("Bearer {token}").parse().expect("header");
    let theirs = |role| app.channel_with(Some(role), partner.path());
    let callers = vec![
        Caller {
            name: "public",
            is: Is::Pinned(Role::Public),
            channel: plain(app.channel(None).await),
        },
        Caller {
            name: "own operator",
            is: Is::Pinned(Role::Operator),
            channel: plain(app.channel(Some("operator")).await),
        },
        Caller {
            name: "own counter",
            is: Is::Pinned(Role::Counter),
            channel: plain(app.channel(Some("counter")).await),
        },
        Caller {
            name: "partner identity under the own CA, not the pinned one",
            is: Is::Unpinned(Role::Partner),
            channel: plain(app.channel(Some("partner")).await),
        },
        Caller {
            name: "counter token",
            is: Is::Pinned(Role::Counter),
            channel: InterceptedService::new(app.channel(None).await, Authorization(Some(bearer))),
        },
        Caller {
            name: "partner CA naming an own operator",
            is: Is::Unvouched,
            channel: plain(theirs("operator").await.expect("TLS accepts the chain")),
        },
        Caller {
            name: "partner CA naming counter desk-1",
            is: Is::Unvouched,
            channel: plain(theirs("counter").await.expect("TLS accepts the chain")),
        },
        Caller {
            name: "the partner under its CA",
            is: Is::Pinned(Role::Partner),
            channel: plain(theirs("partner").await.expect("connect")),
        },
    ];
    let rpcs = rpcs();
    assert!(rpcs.len() >= 25, "{} RPCs", rpcs.len());
    let mut wrong = Vec::new();
    for (path, rpc) in &rpcs {
        for caller in &callers {
            let got = call(caller.channel.clone(), path).await;
            let ok = match expected(rpc, caller.is) {
                Some(refusal) => got == refusal,
                None => !matches!(got, Code::PermissionDenied | Code::Unauthenticated),
            };
            if !ok {
                wrong.push(format!(
                    "{rpc} as {}: {got:?}, expected {:?}",
                    caller.name,
                    expected(rpc, caller.is).map_or("allowed".into(), |c| format!("{c:?}"))
                ));
            }
        }
    }
    // Health stays open to probes without certificates; a refused certificate is refused.
    for caller in &callers {
        let got = call(caller.channel.clone(), "/grpc.health.v1.Health/Check").await;
        let want = if caller.is == Is::Unvouched {
            Code::PermissionDenied
        } else {
            Code::Ok
        };
        if got != want {
            wrong.push(format!("health as {}: {got:?}", caller.name));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A partner's CA naming our counter desk-1 is refused even where the public may call, is
/// audited as what it is, and never spends desk-1's rate allowance (5 calls); the real
/// desk-1 (a counter token, over gRPC and over gRPC-Web as the counter page calls) verifies
/// and redeems.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_its_ca_may_not_vouch_for_is_nobody() {
    let partner = partner_pki();
    let limits = "[rate_limits]\nidentified_per_second = 1\nidentified_burst = 5\n";
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config(&config(&partner, limits))
        .spawn()
        .await;
    let card = own_card(&app, "11010519491231002", "B").await;
    let verify = || pb::VerifyCardRequest {
        credential: card.qr_payload.clone(),
        ..Default::default()
    };

    let mut impostor = pb::verification_client::VerificationClient::new(
        app.channel_with(Some("counter"), partner.path())
            .await
            .expect("TLS accepts the chain"),
    );
    for _ in 0..10 {
        let s = impostor.verify_card(verify()).await.expect_err("refused");
        assert_eq!(s.code(), Code::PermissionDenied, "{s:?}");
        assert!(s.message().contains("not vouched for"), "{s:?}");
    }

    let token = counter_token(&app, "desk-1", 12).await.token;
    let mut desk =
        pb::verification_client::VerificationClient::new(with_token(&app, None, &token).await);
    for _ in 0..3 {
        let v = desk
            .verify_card(verify())
            .await
            .expect("desk-1 verifies")
            .into_inner();
        assert!(v.valid, "{v:?}");
    }
    let done =
        pb::entitlements_client::EntitlementsClient::new(with_token(&app, None, &token).await)
            .redeem_service(pb::RedeemServiceRequest {
                credential: card.qr_payload.clone(),
                service_code: "CQ12".into(),
                idempotency_key: "desk-1-first".into(),
                holder_proof: String::new(),
                ..Default::default()
            })
            .await
            .expect("a counter token redeems where partners bring their own CAs")
            .into_inner();
    assert_eq!(done.remaining, 5);

    // The counter page's way: gRPC-Web over HTTP/1.1, the token as a bearer, no certificate.
    let bearer = format!("Bearer {token}");
    let res = http1(
        &app,
        "POST",
        "/talentcard.v1.Entitlements/RedeemService",
        &[
            ("Content-Type", "application/grpc-web+proto"),
            ("X-Grpc-Web", "1"),
            ("Authorization", &bearer),
        ],
        &frame(&pb::RedeemServiceRequest {
            credential: card.qr_payload.clone(),
            service_code: "CQ12".into(),
            idempotency_key: "desk-1-second".into(),
            holder_proof: String::new(),
            ..Default::default()
        }),
    );
    let (messages, trailers) = unframe(&res.body);
    assert!(
        trailers.contains("grpc-status:0"),
        "{trailers:?} {:?}",
        res.header("grpc-message")
    );
    let done = pb::RedeemServiceResponse::decode(messages.first().expect("a message").as_slice())
        .expect("decodes");
    assert_eq!(done.remaining, 4);

    // The audit names the refused certificate as unvouched, never as desk-1.
    use sqlx::Connection;
    let mut db = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .expect("database");
    let denied: Vec<String> = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT caller FROM audit_log WHERE result = 'denied' AND event = 'Verification.VerifyCard'",
            )
            .fetch_all(&mut db)
            .await
            .expect("audit");
            if rows.len() >= 10 {
                return rows;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("refusals audited");
    assert!(
        denied
            .iter()
            .all(|c| c == "unvouched:spiffe://cq.talent/counter/desk-1"),
        "{denied:?}"
    );
}

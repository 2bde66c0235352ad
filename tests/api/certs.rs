//! Enrolment with the binary alone: a counter makes its key and a CSR where the key stays,
//! the CA the gateway trusts for counters signs it for a role and name (never for what the
//! CSR asks), and the counter calls RedeemService with it. `certs inspect` shows the
//! identity the gateway sees; a tampered CSR is refused.

use crate::both_databases;
use crate::helpers::{Db, TestApp, cli, own_card};
use std::path::Path;
use talent_gateway::pb;
use tonic::Code;

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `certs sign-csr` as the holder of `ca_dir`'s key: (success, output).
fn sign(ca_dir: &Path, role: &str, name: &str, csr: &Path, out: &Path) -> (bool, String) {
    cli(&[
        "certs",
        "sign-csr",
        "--role",
        role,
        "--name",
        name,
        "--days",
        "30",
        "--ca-dir",
        path(ca_dir),
        "--out",
        path(out),
        path(csr),
    ])
}

/// A CSR, made with rcgen directly, whose own SAN claims an operator identity.
fn csr_claiming_operator(dir: &Path) -> std::path::PathBuf {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.subject_alt_names.push(rcgen::SanType::URI(
        "spiffe://cq.talent/operator/evil".try_into().expect("uri"),
    ));
    let csr = params.serialize_request(&key).expect("csr");
    std::fs::write(dir.join("greedy.key"), key.serialize_pem()).expect("key file");
    let file = dir.join("greedy.csr");
    std::fs::write(&file, csr.pem().expect("pem")).expect("csr file");
    file
}

/// `pem` with one byte of the signed request body changed (a letter of its subject).
fn tampered(pem: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut der = b64.decode(body).expect("base64");
    let at = der
        .windows(6)
        .position(|w| w == b"hall-1")
        .expect("the subject is in the request");
    der[at] = b'H';
    let text = b64.encode(der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        lines.join("\n")
    )
}

async fn a_counter_enrolled_by_csr_redeems_and_nothing_more(db: Db) {
    let app = TestApp::builder().db(db).spawn().await;
    let card = own_card(&app, "11010519491231012", "B").await;
    // The counter's machine: its key never leaves this folder.
    let desk = tempfile::tempdir().expect("tempdir");
    let (key, csr) = (
        desk.path().join("hall-1.key"),
        desk.path().join("hall-1.csr"),
    );
    let (ok, out) = cli(&[
        "certs",
        "csr",
        "--out-key",
        path(&key),
        "--out-csr",
        path(&csr),
        "--common-name",
        "hall-1",
    ]);
    assert!(ok, "{out}");
    // The CA the gateway trusts for counters (its client_ca) signs it.
    let signed = tempfile::tempdir().expect("tempdir");
    let cert = signed.path().join("hall-1.pem");
    let (ok, out) = sign(&app.certs, "counter", "hall-1", &csr, &cert);
    assert!(ok, "{out}");
    assert!(out.contains("spiffe://cq.talent/counter/hall-1"), "{out}");
    std::fs::copy(&cert, desk.path().join("hall-1.pem")).expect("certificate delivered");

    // What the gateway will see, for people and for scripts.
    let (ok, out) = cli(&["certs", "inspect", path(&cert)]);
    assert!(ok, "{out}");
    assert!(
        out.contains("identity    spiffe://cq.talent/counter/hall-1"),
        "{out}"
    );
    assert!(out.contains("role        counter"), "{out}");
    assert!(out.contains("talent-gateway development CA"), "{out}");
    let (ok, out) = cli(&["certs", "inspect", "--json", path(&cert)]);
    assert!(ok, "{out}");
    let j: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(j["identity"], "spiffe://cq.talent/counter/hall-1");
    assert_eq!(j["role"], "counter");
    assert_eq!(j["is_ca"], false);
    assert!(
        j["not_after"].as_str().expect("time").ends_with("+08:00"),
        "{j}"
    );

    // The counter redeems with it, and the redemption names it.
    let channel = app
        .channel_with(Some("hall-1"), desk.path())
        .await
        .expect("a handshake with the enrolled certificate");
    let mut entitlements = pb::entitlements_client::EntitlementsClient::new(channel.clone());
    let redeemed = entitlements
        .redeem_service(pb::RedeemServiceRequest {
            credential: card.token.clone(),
            service_code: "CQ01".into(),
            idempotency_key: "enrolled-1".into(),
            ..Default::default()
        })
        .await
        .expect("an enrolled counter redeems")
        .into_inner();
    assert!(!redeemed.redemption_id.is_empty());
    let listed = entitlements
        .list_redemptions(pb::ListRedemptionsRequest {
            card_id: card.card_id.clone(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner()
        .redemptions;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].counter, "spiffe://cq.talent/counter/hall-1");

    // A counter is not an operator.
    let e = pb::admin_client::AdminClient::new(channel)
        .list_keys(pb::ListKeysRequest {})
        .await
        .expect_err("a counter may not list keys");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");

    // A CSR asking to be an operator, signed for role counter, is a counter: what the CSR
    // names is never copied into the certificate.
    let greedy = csr_claiming_operator(desk.path());
    let greedy_cert = desk.path().join("greedy.pem");
    let (ok, out) = sign(&app.certs, "counter", "hall-2", &greedy, &greedy_cert);
    assert!(ok, "{out}");
    let (ok, out) = cli(&["certs", "inspect", "--json", path(&greedy_cert)]);
    assert!(ok, "{out}");
    let j: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(j["identity"], "spiffe://cq.talent/counter/hall-2");
    assert_eq!(
        j["uris"],
        serde_json::json!(["spiffe://cq.talent/counter/hall-2"])
    );
    let channel = app
        .channel_with(Some("greedy"), desk.path())
        .await
        .expect("handshake");
    let e = pb::admin_client::AdminClient::new(channel)
        .list_keys(pb::ListKeysRequest {})
        .await
        .expect_err("still a counter");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");

    // A request altered after it was signed is refused, and nothing is written.
    let bad = desk.path().join("tampered.csr");
    let original = std::fs::read_to_string(&csr).expect("csr");
    std::fs::write(&bad, tampered(&original)).expect("write");
    let bad_cert = desk.path().join("tampered.pem");
    let (ok, out) = sign(&app.certs, "counter", "hall-1", &bad, &bad_cert);
    assert!(!ok, "{out}");
    assert!(out.contains("signature does not verify"), "{out}");
    assert!(!bad_cert.exists());
}
both_databases!(a_counter_enrolled_by_csr_redeems_and_nothing_more);

#[test]
fn a_ca_made_by_init_ca_issues_certificates_for_its_trust_domain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca");
    let (ok, out) = cli(&[
        "certs",
        "init-ca",
        "--dir",
        path(&ca),
        "--trust-domain",
        "my.talent",
        "--days",
        "365",
    ]);
    assert!(ok, "{out}");
    // A second init-ca never replaces the key.
    let (ok, out) = cli(&["certs", "init-ca", "--dir", path(&ca)]);
    assert!(!ok && out.contains("exists"), "{out}");
    let out_dir = dir.path().join("out");
    let (ok, out) = cli(&[
        "certs",
        "issue",
        "--role",
        "partner",
        "--name",
        "mianyang",
        "--days",
        "30",
        "--ca-dir",
        path(&ca),
        "--out-dir",
        path(&out_dir),
    ]);
    assert!(ok, "{out}");
    let (ok, out) = cli(&[
        "certs",
        "inspect",
        path(&out_dir.join("partner-mianyang.pem")),
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("identity    spiffe://my.talent/partner/mianyang"),
        "{out}"
    );
    // Unknown roles and names that would not parse are refused by name.
    let (ok, out) = cli(&[
        "certs",
        "issue",
        "--role",
        "admin",
        "--name",
        "x",
        "--ca-dir",
        path(&ca),
    ]);
    assert!(!ok && out.contains("--role"), "{out}");
    let (ok, out) = cli(&[
        "certs",
        "issue",
        "--role",
        "counter",
        "--name",
        "a/b",
        "--ca-dir",
        path(&ca),
    ]);
    assert!(!ok && out.contains("--name"), "{out}");
}

#[test]
fn the_committed_partner_anchor_placeholder_stops_the_start_naming_itself() {
    let placeholder = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs/partners/mianyang-ca.pem");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[[partners]]\nid = \"mianyang\"\nprofile = \"science-city-card-v1\"\n\
             issuer = \"urn:cn:510700:kjc-talent-card\"\n\
             federation_endpoint = \"https://127.0.0.1:1\"\n\
             spiffe_id = \"spiffe://my.talent/partner/mianyang\"\nclient_ca = {:?}\n",
            path(&placeholder)
        ),
    )
    .expect("config");
    let data = dir.path().join("data");
    let (ok, out) = cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--config",
        path(&config),
        "--data-dir",
        path(&data),
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("mianyang-ca.pem holds no CA certificate"),
        "{out}"
    );
}

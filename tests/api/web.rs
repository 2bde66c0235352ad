//! The counter page and gRPC-Web on the gRPC port, spoken to as a browser would: plain
//! HTTP/1.1 over TLS.

use crate::helpers::{Db, TestApp, own_card};
use prost::Message;
use std::io::{Read, Write};
use std::sync::Arc;
use talent_gateway::pb;

/// A response: status line code, headers (lower-case names), body with chunking undone.
pub(crate) struct Http {
    status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Http {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over TLS (no ALPN, as an HTTP/1.1-only client), trusting the dev CA.
pub(crate) fn http1(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Http {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(app.certs.join("ca.pem")).expect("ca");
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = "localhost".try_into().expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("tls");
    let tcp = std::net::TcpStream::connect(&app.addr).expect("connect");
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    tls.write_all(req.as_bytes()).expect("write");
    tls.write_all(body).expect("write");
    let mut raw = Vec::new();
    // The server closes after the response (Connection: close); a TLS close without
    // close_notify still leaves everything read.
    let _ = tls.read_to_end(&mut raw);
    parse(&raw)
}

fn parse(raw: &[u8]) -> Http {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let mut out = Vec::new();
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("chunk size");
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..eol])
                    .split(';')
                    .next()
                    .expect("size")
                    .trim(),
                16,
            )
            .expect("hex size");
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        out
    } else {
        rest.to_vec()
    };
    Http {
        status,
        headers,
        body,
    }
}

/// gRPC-Web frames: the messages, and the trailer frame's text.
pub(crate) fn unframe(mut body: &[u8]) -> (Vec<Vec<u8>>, String) {
    let (mut messages, mut trailers) = (Vec::new(), String::new());
    while body.len() >= 5 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let payload = &body[5..5 + len];
        if body[0] & 0x80 != 0 {
            trailers.push_str(&String::from_utf8_lossy(payload));
        } else {
            messages.push(payload.to_vec());
        }
        body = &body[5 + len..];
    }
    (messages, trailers)
}

pub(crate) fn frame(msg: &impl Message) -> Vec<u8> {
    let bytes = msg.encode_to_vec();
    let mut out = vec![0];
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(&bytes);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counter_page_is_served_with_a_strict_policy() {
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
    let page = http1(&app, "GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .expect("type")
            .starts_with("text/html")
    );
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let html = String::from_utf8(page.body).expect("utf-8");
    assert!(html.contains(r#"<script type="module" src="/app.js"></script>"#));
    assert!(!html.contains("<script>"), "no inline script");
    assert!(!html.contains("style="), "no inline style");

    let js = http1(&app, "GET", "/app.js", &[], b"");
    assert_eq!(js.status, 200);
    assert!(
        js.header("content-type")
            .expect("type")
            .starts_with("text/javascript")
    );
    assert_eq!(http1(&app, "GET", "/vendor/jsQR.js", &[], b"").status, 200);
    // The offline verifier and every module it imports, the vendored SM2 among them.
    for path in [
        "/offline.js",
        "/offline/checks.js",
        "/offline/claims.js",
        "/offline/json.js",
        "/offline/keys.js",
        "/offline/profile.js",
        "/offline/recognition.js",
        "/offline/status_list.js",
        "/offline/store.js",
        "/vendor/sm2.js",
    ] {
        let module = http1(&app, "GET", path, &[], b"");
        assert_eq!(module.status, 200, "{path}");
        let text = String::from_utf8(module.body).expect("utf-8");
        for import in text.split("from '").skip(1) {
            let Some(relative) = import.split('\'').next().filter(|i| i.starts_with('.')) else {
                continue;
            };
            let dir = &path[..=path.rfind('/').expect("slash")];
            let resolved = match relative.strip_prefix("../") {
                Some(up) => format!(
                    "{}{up}",
                    &dir[..=dir[..dir.len() - 1].rfind('/').unwrap_or(0)]
                ),
                None => format!("{dir}{}", relative.trim_start_matches("./")),
            };
            assert_eq!(
                http1(&app, "GET", &resolved, &[], b"").status,
                200,
                "{path} imports {relative} ({resolved})"
            );
        }
    }
    // The protobuf messages and the gRPC-Web client, generated from proto/ (proto/check).
    let app_js = String::from_utf8(js.body).expect("utf-8");
    assert!(app_js.contains("from './gen/talentcard.js'"));
    let generated = http1(&app, "GET", "/gen/talentcard.js", &[], b"");
    assert_eq!(generated.status, 200);
    assert!(
        generated
            .header("content-type")
            .expect("type")
            .starts_with("text/javascript")
    );
    assert!(
        generated
            .body
            .starts_with("// Generated from proto/ by proto/check".as_bytes())
    );
    assert_eq!(http1(&app, "GET", "/gen/NOTICE", &[], b"").status, 200);
    assert_eq!(http1(&app, "GET", "/proto.js", &[], b"").status, 404);
    assert_eq!(http1(&app, "GET", "/../Cargo.toml", &[], b"").status, 404);
    assert_eq!(http1(&app, "GET", "/nothing-here", &[], b"").status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_over_http1_verifies_a_card() {
    let app = TestApp::builder().db(Db::Sqlite).spawn().await;
    let card = own_card(&app, "11010519491231005", "A").await;
    let req = pb::VerifyCardRequest {
        credential: card.qr_payload.clone(),
        language: "en".into(),
        ..Default::default()
    };
    let res = http1(
        &app,
        "POST",
        "/talentcard.v1.Verification/VerifyCard",
        &[
            ("Content-Type", "application/grpc-web+proto"),
            ("Accept", "application/grpc-web+proto"),
            ("X-Grpc-Web", "1"),
        ],
        &frame(&req),
    );
    assert_eq!(res.status, 200);
    assert!(
        res.header("content-type")
            .expect("type")
            .starts_with("application/grpc-web")
    );
    let (messages, trailers) = unframe(&res.body);
    assert!(trailers.contains("grpc-status:0"), "trailers: {trailers:?}");
    let verdict = pb::VerifyCardResponse::decode(messages.first().expect("a message").as_slice())
        .expect("decodes");
    assert!(verdict.valid, "{verdict:?}");
    assert_eq!(verdict.card_id, card.card_id);
    assert!(
        verdict
            .entitlements
            .iter()
            .any(|e| e.service_code == "CQ12")
    );

    // Redeeming needs an identity: without a token, UNAUTHENTICATED in the trailers.
    let res = http1(
        &app,
        "POST",
        "/talentcard.v1.Entitlements/RedeemService",
        &[
            ("Content-Type", "application/grpc-web+proto"),
            ("X-Grpc-Web", "1"),
        ],
        &frame(&pb::RedeemServiceRequest {
            credential: card.qr_payload,
            service_code: "CQ12".into(),
            idempotency_key: "web-1".into(),
            holder_proof: String::new(),
            ..Default::default()
        }),
    );
    let status = res
        .header("grpc-status")
        .map(str::to_owned)
        .unwrap_or_else(|| unframe(&res.body).1);
    assert!(status.contains("16"), "{status}");
}

//! Connection hygiene: a socket that never shakes hands, a host holding too many sockets, and
//! a TLS connection that never calls (silent, or only PINGing) are all closed; other
//! clients notice nothing.

use crate::helpers::{Db, TestApp};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use talent_gateway::pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A TCP connection from `local` (a loopback address) that sends nothing.
async fn silent_from(app: &TestApp, local: &str) -> TcpStream {
    let server: SocketAddr = app.addr.parse().expect("addr");
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(local.parse().expect("ip"), 0))
        .expect("bind");
    socket.connect(server).await.expect("TCP connects")
}

/// How long until the server closes `conn` (reads its end or a reset); panics past `within`.
async fn closed_after(
    conn: &mut (impl tokio::io::AsyncRead + Unpin),
    within: Duration,
) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(within, conn.read(&mut buf)).await {
            Err(_) => panic!("still open after {within:?}"),
            Ok(Ok(0) | Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

/// A TLS connection (ALPN h2) that has shaken hands and sent nothing yet.
async fn handshake(app: &TestApp) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(app.certs.join("ca.pem")).expect("ca");
    for cert in rustls_pemfile::certs(&mut ca.as_slice()) {
        roots.add(cert.expect("cert")).expect("root");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = silent_from(app, "127.0.0.1").await;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect("localhost".try_into().expect("name"), tcp)
        .await
        .expect("handshake")
}

/// A verdict over a new connection from `local`: the server serves that address.
async fn verdict_from(app: &TestApp, local: &str) -> pb::VerifyCardResponse {
    let channel = app
        .endpoint(None, &app.certs)
        .expect("endpoint")
        .local_address(Some(local.parse::<IpAddr>().expect("ip")))
        .connect()
        .await
        .expect("connect");
    pb::verification_client::VerificationClient::new(channel)
        .verify_card(pb::VerifyCardRequest {
            credential: "not-a-card".into(),
            ..Default::default()
        })
        .await
        .expect("a verdict")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_idle_connections_are_closed() {
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config("tls_handshake_timeout_seconds = 1\nconnection_idle_timeout_seconds = 3\n")
        .spawn()
        .await;

    // No ClientHello: closed at the handshake timeout.
    let mut silent = silent_from(&app, "127.0.0.1").await;
    let after = closed_after(&mut silent, Duration::from_secs(10)).await;
    assert!(after >= Duration::from_millis(800), "{after:?}");

    // A finished handshake and then no HTTP/2 preface: closed at the idle timeout.
    let mut tls = handshake(&app).await;
    let after = closed_after(&mut tls, Duration::from_secs(15)).await;
    assert!(
        (Duration::from_millis(2500)..Duration::from_secs(10)).contains(&after),
        "{after:?}: the idle timeout is 3 s"
    );

    // HTTP/2 that only PINGs (the server acks each): PINGs are no calls, so closed too.
    let (mut read, mut write) = tokio::io::split(handshake(&app).await);
    let pinger = tokio::spawn(async move {
        // The preface, an empty SETTINGS, then a PING every 500 ms.
        let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        out.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        for n in 0u64.. {
            out.extend_from_slice(&[0, 0, 8, 6, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&n.to_be_bytes());
            if write.write_all(&out).await.is_err() {
                break;
            }
            out.clear();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let after = closed_after(&mut read, Duration::from_secs(15)).await;
    pinger.abort();
    assert!(
        (Duration::from_millis(2500)..Duration::from_secs(10)).contains(&after),
        "{after:?}: PINGs do not keep a connection"
    );

    // A connection in use is not idle: calls 1 s apart over 5 s all go over one channel.
    let channel = app.channel(None).await;
    let mut client = pb::verification_client::VerificationClient::new(channel);
    for _ in 0..5 {
        client
            .verify_card(pb::VerifyCardRequest {
                credential: "not-a-card".into(),
                ..Default::default()
            })
            .await
            .expect("served");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_its_cap_and_others_are_served() {
    let app = TestApp::builder()
        .db(Db::Sqlite)
        .config("max_connections_per_address = 4\n")
        .spawn()
        .await;

    // Four silent sockets fill 127.0.0.1's places (the handshake timeout is 10 s)...
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(silent_from(&app, "127.0.0.1").await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ...so a fifth is closed at once, and more still.
    for _ in 0..3 {
        let mut over = silent_from(&app, "127.0.0.1").await;
        // Well under the 10 s handshake timeout, with room for a loaded machine.
        let after = closed_after(&mut over, Duration::from_secs(6)).await;
        assert!(after < Duration::from_secs(6), "{after:?}");
    }
    // Another address is served meanwhile.
    assert!(!verdict_from(&app, "127.0.0.2").await.valid);
    // A closed socket frees its place.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!verdict_from(&app, "127.0.0.1").await.valid);
}

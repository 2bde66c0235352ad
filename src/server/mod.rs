//! The gRPC server: TLS with optional client certificates, health, reflection, limits,
//! and a graceful stop on SIGTERM.

mod message_limits;
mod shutdown;
mod tls;

pub use message_limits::MessageLimits;

use crate::api::{
    AccessPolicy, AdminApi, CardIssuanceApi, Context, EntitlementsApi, FederationApi,
    VerificationApi,
};
use crate::config::Settings;
use crate::pb::{
    admin_server::AdminServer, card_issuance_server::CardIssuanceServer,
    entitlements_server::EntitlementsServer, federation_server::FederationServer,
    verification_server::VerificationServer,
};
use crate::service::Gateway;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;

/// Largest message any service decodes; the per-RPC limits sit below it.
const DECODE_CEILING: usize = 4 * 1024 * 1024;

/// Builds everything from settings and serves until SIGTERM or SIGINT.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let tls = tls::server_config(&settings)?;
    let store = crate::store::connect(&settings.database_url()).await?;
    tracing::info!(backend = store.backend(), "database ready");
    let gateway = Gateway::start(&settings, store).await?;
    let access = Arc::new(AccessPolicy {
        trust_domain: settings.trust_domain.clone(),
        partners: settings
            .partners
            .iter()
            .filter_map(|p| p.spiffe_id.clone())
            .collect(),
    });
    let ctx = Context {
        gateway: gateway.clone(),
        access,
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<CardIssuanceServer<CardIssuanceApi>>()
        .await;
    health
        .set_serving::<VerificationServer<VerificationApi>>()
        .await;
    health
        .set_serving::<EntitlementsServer<EntitlementsApi>>()
        .await;
    health
        .set_serving::<FederationServer<FederationApi>>()
        .await;
    health.set_serving::<AdminServer<AdminApi>>().await;
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;

    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let listener = TcpListener::bind(settings.listen).await?;
    let local = listener.local_addr()?;
    let grace = Duration::from_secs(settings.shutdown_grace_seconds);
    let stop = shutdown::Stop::new();

    let router = Server::builder()
        .tls_config(tls)?
        .max_concurrent_streams(settings.max_concurrent_streams)
        .timeout(Duration::from_secs(settings.request_timeout_seconds))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .layer(MessageLimits::new(settings.max_message_bytes))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(
            CardIssuanceServer::new(CardIssuanceApi(ctx.clone()))
                .max_decoding_message_size(DECODE_CEILING)
                .max_encoding_message_size(DECODE_CEILING * 4),
        )
        .add_service(
            VerificationServer::new(VerificationApi(ctx.clone()))
                .max_decoding_message_size(DECODE_CEILING)
                .max_encoding_message_size(DECODE_CEILING * 4),
        )
        .add_service(
            EntitlementsServer::new(EntitlementsApi(ctx.clone()))
                .max_decoding_message_size(DECODE_CEILING),
        )
        .add_service(
            FederationServer::new(FederationApi(ctx.clone()))
                .max_decoding_message_size(DECODE_CEILING)
                .max_encoding_message_size(DECODE_CEILING * 4),
        )
        .add_service(AdminServer::new(AdminApi(ctx)).max_decoding_message_size(DECODE_CEILING));

    tracing::info!(%local, "serving gRPC over TLS");
    // The contract's readiness line, on stdout: the listener is bound and accepting.
    println!("listening on {local}");
    let stopping = stop.clone();
    let signal = async move {
        shutdown::signal().await;
        tracing::info!("stopping: health NOT_SERVING, draining in-flight calls");
        health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        stopping.fire();
    };
    // Small responses must leave at once: Nagle's algorithm with delayed ACKs adds ~40 ms.
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        if let Ok(c) = &conn {
            let _ = c.set_nodelay(true);
        }
        conn
    });
    let server = router.serve_with_incoming_shutdown(incoming, signal);
    tokio::select! {
        r = server => r?,
        () = stop.after(grace) => {
            tracing::warn!(grace_seconds = grace.as_secs(), "grace period over; closing remaining connections");
        }
    }
    gateway.audit.flush().await;
    tracing::info!("stopped");
    Ok(())
}

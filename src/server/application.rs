//! The composition in one place: the services from settings, the layers every call passes,
//! one listener per core, and the drain at a stop.

use super::{
    MessageLimits, RateLimits, RequestIds, WebPages, accept, ca_binding, identity, idle, metrics,
    per_core, shutdown, tls,
};
use crate::api::{
    AccessPolicy, AdminApi, ApiContext, CardIssuanceApi, EntitlementsApi, FederationApi,
    VerificationApi,
};
use crate::config::Settings;
use crate::pb::{
    admin_server::AdminServer, card_issuance_server::CardIssuanceServer,
    entitlements_server::EntitlementsServer, federation_server::FederationServer,
    verification_server::VerificationServer,
};
use crate::service::{Services, VerifyAudit};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::Server;
use tonic_health::server::HealthReporter;

/// Largest message any service decodes; the per-RPC limits sit below it.
const DECODE_CEILING: usize = 4 * 1024 * 1024;

/// The gateway built from its settings and serving on every core; [`Self::run_until_stopped`]
/// announces it and waits for the stop.
pub struct Application {
    services: Arc<Services>,
    health: HealthReporter,
    verify_audit: Arc<VerifyAudit>,
    metrics_task: Option<JoinHandle<()>>,
    control: per_core::Control,
    runtimes: usize,
    local: SocketAddr,
    grace: Duration,
}

impl Application {
    /// Builds the services, the router and its layers, and starts one listener per core.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let (services, acceptor) = core(&settings).await?;
        let ctx = ApiContext {
            services: services.clone(),
            access: Arc::new(access_policy(&settings)),
        };
        let (health, health_service) = tonic_health::server::health_reporter();
        set_serving(&health).await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;
        let grace = Duration::from_secs(settings.shutdown_grace_seconds);
        let (call_metrics, metrics_task) = call_metrics(&settings, &services).await?;

        let verification = VerificationApi::new(ctx.clone());
        let verify_audit = verification.audit();
        // TLS is accepted in accept.rs (handshake timeout, per-address cap), not by tonic.
        let router = Server::builder()
            .max_concurrent_streams(settings.max_concurrent_streams)
            .timeout(Duration::from_secs(settings.request_timeout_seconds))
            .http2_keepalive_interval(Some(Duration::from_secs(
                settings.http2_keepalive_interval_seconds,
            )))
            .http2_keepalive_timeout(Some(Duration::from_secs(
                settings.http2_keepalive_timeout_seconds,
            )))
            // Browsers: the counter page on GET, and gRPC-Web (over HTTP/1.1 or h2) translated
            // to gRPC before the size limits see it.
            .accept_http1(true)
            // Outermost: every request, page or call, keeps its connection from being idle.
            .layer(idle::CallActivity)
            // Every call and every answer has its id.
            .layer(RequestIds)
            .layer(WebPages)
            .layer(tonic_web::GrpcWebLayer::new())
            // Inside gRPC-Web, so web calls count with their gRPC status; outside the identity
            // and the limits, so their refusals count too.
            .layer(metrics::CallMetrics(call_metrics))
            // Who calls, once: every later layer and service reads the caller it leaves
            // (gRPC-Web calls included). Refused certificates and bad counter tokens go on as
            // the public caller from their address as far as the limits.
            .layer(identity::Identities::new(services.counters.clone()))
            // Inside the metrics, so refusals count as RESOURCE_EXHAUSTED; after the identity,
            // so a bucket is the caller's own; before the size limits, so a refused call's
            // body is never read.
            .layer(RateLimits::new(&settings.rate_limits))
            // Refused identities are answered (and audited) here: a flood of them is charged
            // to its address first.
            .layer(identity::RefuseUnvouched::new(services.audit.clone()))
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
                VerificationServer::new(verification)
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

        // One current_thread runtime per core, each with its own listener on the address.
        let runtimes = per_core::runtimes();
        let listeners = per_core::bind(settings.listen, runtimes)?;
        let local = listeners[0].local_addr()?;
        let mut control = per_core::Control::new();
        for (i, listener) in listeners.into_iter().enumerate() {
            let router = router.clone();
            let acceptor = acceptor.clone();
            control.spawn(format!("grpc-{i}"), move |signals| async move {
                let listener = TcpListener::from_std(listener)?;
                let incoming = acceptor.incoming(listener, signals.clone().stopping());
                let server =
                    router.serve_with_incoming_shutdown(incoming, signals.clone().stopping());
                tokio::select! {
                    r = server => r?,
                    () = signals.forced() => {}
                }
                Ok(())
            })?;
        }
        control.started();
        Ok(Self {
            services,
            health,
            verify_audit,
            metrics_task,
            control,
            runtimes,
            local,
            grace,
        })
    }

    /// The address the listeners are bound to (port 0 in settings: the one the system chose).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Announces readiness, serves until SIGTERM or SIGINT (or a listener fails), then drains
    /// in-flight calls for the grace period and hands over what the audit has gathered.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self {
            services,
            health,
            verify_audit,
            metrics_task,
            mut control,
            runtimes,
            local,
            grace,
        } = self;
        let stop = shutdown::Stop::new();
        let mut running = control.threads();

        tracing::info!(%local, runtimes, "serving gRPC over TLS");
        // The contract's readiness line, on stdout: the listener is bound and accepting.
        println!("listening on {local}");
        let mut failure = None;
        let mut ended = |r: Option<anyhow::Result<()>>, running: &mut usize| match r {
            Some(Ok(())) => *running -= 1,
            Some(Err(e)) => {
                *running -= 1;
                failure.get_or_insert(e);
            }
            None => *running = 0,
        };
        tokio::select! {
            () = shutdown::signal() => {
                tracing::info!("stopping: health NOT_SERVING, draining in-flight calls");
                health
                    .set_service_status("", tonic_health::ServingStatus::NotServing)
                    .await;
            }
            r = control.done.recv() => ended(r, &mut running),
        }
        stop.fire();
        let _ = control.stop.send(true);
        let grace_over = stop.after(grace);
        tokio::pin!(grace_over);
        let mut forced = false;
        while running > 0 {
            tokio::select! {
                r = control.done.recv() => ended(r, &mut running),
                () = &mut grace_over, if !forced => {
                    tracing::warn!(grace_seconds = grace.as_secs(), "grace period over; closing remaining connections");
                    forced = true;
                    let _ = control.force.send(true);
                }
            }
        }
        if let Some(task) = metrics_task {
            task.abort();
        }
        verify_audit.flush();
        services.audit.flush().await;
        control.release().await;
        if let Some(e) = failure {
            return Err(e);
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// The services and the TLS acceptor: certificates, the CA binding, the database, the
/// use-case services.
async fn core(settings: &Settings) -> anyhow::Result<(Arc<Services>, accept::Acceptor)> {
    let (tls, own_ca) = tls::server_config(settings)?;
    let bound: Vec<(String, &std::path::Path)> = settings
        .partners
        .iter()
        .filter_map(|p| Some((p.spiffe_id.clone()?, p.client_ca.as_deref()?)))
        .collect();
    let ca_binding = ca_binding::CaBinding::new(&own_ca, &bound)?.map(Arc::new);
    let store = crate::store::connect(&settings.database_url()).await?;
    tracing::info!(backend = store.backend(), "database ready");
    let services = Arc::new(Services::start(super::service_settings(settings)?, store).await?);
    let acceptor = accept::Acceptor::new(accept::AcceptorSettings {
        tls,
        ca_binding,
        max_connections_per_address: settings.max_connections_per_address as usize,
        handshake_timeout: Duration::from_secs(settings.tls_handshake_timeout_seconds),
        idle_timeout: Duration::from_secs(settings.connection_idle_timeout_seconds),
    });
    Ok((services, acceptor))
}

/// Who may call what: the own trust domain and the partners' pinned identities.
fn access_policy(settings: &Settings) -> AccessPolicy {
    AccessPolicy {
        trust_domain: settings.trust_domain.clone(),
        partners: settings
            .partners
            .iter()
            .filter_map(|p| p.spiffe_id.clone())
            .collect(),
    }
}

/// Every service SERVING, and the server as a whole.
async fn set_serving(health: &HealthReporter) {
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
}

/// The per-call metrics, and the plain-HTTP endpoint that exposes them when one is set.
async fn call_metrics(
    settings: &Settings,
    services: &Arc<Services>,
) -> anyhow::Result<(Arc<metrics::RequestMetrics>, Option<JoinHandle<()>>)> {
    // Counted whether or not they are scraped: a few atomics per call.
    let call_metrics = Arc::new(metrics::RequestMetrics::new(metrics::grpc_methods(&[
        crate::pb::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ])));
    let metrics_task = match settings.metrics_listen {
        Some(addr) => {
            let (local, task) =
                metrics::serve_metrics(addr, call_metrics.clone(), services.clone()).await?;
            tracing::info!(%local, "serving Prometheus metrics over plain HTTP at /metrics");
            Some(task)
        }
        None => None,
    };
    Ok((call_metrics, metrics_task))
}

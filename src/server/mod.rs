//! The gRPC server: TLS with optional client certificates (accepted here, with handshake,
//! per-address and idle limits), health, reflection, limits, gRPC-Web and the counter page,
//! the caller resolved once, per-caller rate limits, and a graceful stop on SIGTERM.

mod accept;
mod application;
mod ca_binding;
mod coalesce;
mod connection;
mod identity;
mod idle;
mod message_limits;
pub mod metrics;
mod partner_channel;
mod peer;
mod per_address;
mod per_core;
mod rate_limit;
mod request_id;
mod service_settings;
mod shutdown;
mod tls;
mod web;

pub use application::Application;
pub use message_limits::MessageLimits;
pub use rate_limit::RateLimits;
pub use request_id::RequestIds;
pub(crate) use service_settings::federation as partner_channels;
pub use service_settings::{key_file, load_keys, service_settings};
pub use web::WebPages;

use crate::config::Settings;

/// Builds everything from settings and serves until SIGTERM or SIGINT.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await
}

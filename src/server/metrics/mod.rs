//! Prometheus metrics: the layer that counts gRPC calls and the plain-HTTP scrape endpoint.

mod endpoint;
mod layer;

pub use endpoint::serve_metrics;
pub use layer::{CallMetrics, grpc_methods};

//! Calls to a partner gateway carry the trace on. The channels themselves (mutual TLS, the
//! partner's CA as the only root, its certificate pinned to its SPIFFE ID) are made at start
//! (`server/partner_channel.rs`) and handed in with the settings.

use crate::trace_context::{TRACEPARENT, TraceContext};

/// A request to a partner carrying the current trace on, with a parent id of its own.
pub(crate) fn traced<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let traceparent = TraceContext::outgoing().to_string();
    if let Ok(value) = traceparent.parse() {
        request.metadata_mut().insert(TRACEPARENT, value);
    }
    request
}

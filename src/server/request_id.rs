//! A request id on every call. The caller's `x-request-id` is kept when it is a plain token
//! (a partner's own trace id), otherwise one is made here. It goes back in the response
//! headers (so in a refused call's metadata too) and is a field of every log line written
//! while the call runs (a span; verification, which logs nothing, goes without one), so an
//! operator finds a call by the id a counter or partner quotes.
//!
//! The call's W3C trace (the caller's `traceparent`, else a new one) is set here too: its
//! trace id is logged beside the request id, and partner calls made during the call carry it
//! on (`crate::trace_context`).
//!
//! Calls that end in a server-side code (INTERNAL, UNAVAILABLE, ...) are logged with their
//! id at warn; every call is logged at debug. Neither line carries request content.

use crate::trace_context::{TRACEPARENT, TraceContext, TraceId};
use http::{HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::instrument::Instrumented;

/// The header, in both directions.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller-chosen id kept; longer ones are replaced.
const MAX_LEN: usize = 64;

/// Calls that log nothing while they run: verification reads memory only and queues its
/// audit records. They get no span, which costs about 5 µs a call (measured: 15–20% of
/// VerifyCard's throughput on refused tokens); their outcome line names the id all the same.
const UNLOGGED: &[&str] = &[
    "/talentcard.v1.Verification/VerifyCard",
    "/talentcard.v1.Verification/VerifyCards",
];

/// The id of one call.
#[derive(Debug, Clone)]
struct RequestId(HeaderValue);

impl RequestId {
    /// The caller's id when it is 1–64 characters of `[A-Za-z0-9._:-]`, else a new one.
    fn of<B>(req: &Request<B>) -> Self {
        req.headers()
            .get(&REQUEST_ID)
            .filter(|v| {
                let b = v.as_bytes();
                !b.is_empty()
                    && b.len() <= MAX_LEN
                    && b.iter()
                        .all(|c| c.is_ascii_alphanumeric() || b"._:-".contains(c))
            })
            .map_or_else(Self::new, |v| Self(v.clone()))
    }

    /// 96 random bits, hex.
    fn new() -> Self {
        let bits: u128 = rand::random::<u128>() >> 32;
        let text = format!("{bits:024x}");
        Self(HeaderValue::from_str(&text).expect("hex is a valid header value"))
    }

    /// The id as text.
    fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

/// The layer: outermost, so it sees every call and every answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIds;

impl<S> Layer<S> for RequestIds {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService { inner }
    }
}

/// The service the layer wraps.
#[derive(Debug, Clone)]
pub struct RequestIdService<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for RequestIdService<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = RequestIdFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let id = RequestId::of(&req);
        let trace = TraceContext::continue_or_start(
            req.headers().get(TRACEPARENT).map(HeaderValue::as_bytes),
        );
        let trace_id = trace.trace_id();
        let path = req.uri().path();
        let span = if UNLOGGED.contains(&path) {
            tracing::Span::none()
        } else {
            tracing::info_span!("call", request_id = id.as_str(), trace_id = %trace_id, path)
        };
        let inner = span.in_scope(|| trace.sync_scope(|| self.inner.call(req)));
        RequestIdFuture {
            inner: trace.scope(inner).instrument(span),
            id: Some(id),
            trace_id,
            started: Instant::now(),
        }
    }
}

pin_project! {
    /// Answers with the id in the headers, and logs how the call ended.
    pub struct RequestIdFuture<F> {
        #[pin]
        inner: Instrumented<TaskLocalFuture<TraceContext, F>>,
        id: Option<RequestId>,
        trace_id: TraceId,
        started: Instant,
    }
}

impl<F, R, E> Future for RequestIdFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mut result = ready!(this.inner.as_mut().poll(cx));
        let _in_call = this.inner.span().enter();
        let micros = this.started.elapsed().as_micros() as u64;
        let id = this.id.take();
        let request_id = id.as_ref().map_or("", RequestId::as_str);
        let trace_id = *this.trace_id;
        match &mut result {
            Ok(response) => {
                // A call that fails at once answers "trailers only": its status is a header.
                let code = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map(tonic::Code::from_i32);
                match code {
                    Some(
                        c @ (tonic::Code::Unknown
                        | tonic::Code::DeadlineExceeded
                        | tonic::Code::Internal
                        | tonic::Code::Unavailable
                        | tonic::Code::DataLoss),
                    ) => tracing::warn!(request_id, %trace_id, code = ?c, micros, "call failed"),
                    c => tracing::debug!(
                        request_id,
                        %trace_id,
                        code = ?c.unwrap_or(tonic::Code::Ok),
                        micros,
                        "call"
                    ),
                }
                if let Some(id) = &id {
                    response.headers_mut().insert(REQUEST_ID, id.0.clone());
                }
            }
            Err(_) => tracing::warn!(request_id, %trace_id, micros, "call failed in transport"),
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(header: &str) -> Request<()> {
        Request::builder()
            .header("x-request-id", header)
            .body(())
            .expect("request")
    }

    #[test]
    fn a_plain_caller_id_is_kept() {
        assert_eq!(
            RequestId::of(&with("mianyang-7f3a:01.2")).as_str(),
            "mianyang-7f3a:01.2"
        );
    }

    #[test]
    fn odd_or_long_ids_are_replaced() {
        for bad in ["a b", "x".repeat(65).as_str(), "<script>", "id\u{7f}"] {
            let Ok(value) = HeaderValue::from_str(bad) else {
                continue;
            };
            let mut req = Request::new(());
            req.headers_mut().insert(REQUEST_ID, value);
            let id = RequestId::of(&req);
            assert_ne!(id.as_str(), bad);
            assert_eq!(id.as_str().len(), 24);
        }
    }

    #[test]
    fn new_ids_differ() {
        let a = RequestId::of(&Request::new(()));
        let b = RequestId::of(&Request::new(()));
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
    }
}

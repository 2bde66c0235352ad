//! Counts every gRPC call by method and status code, and times it until its body ends.
//! The status is in the headers of a trailers-only response, else in the body's trailers.

use super::RequestMetrics;
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tonic::body::Body;
use tower::{Layer, Service};

/// gRPC status code CANCELLED: the body was dropped before it ended.
const CANCELLED: u32 = 1;
/// UNKNOWN: the body ended without a status.
const UNKNOWN: u32 = 2;

/// Every method of the encoded file descriptor sets, as request paths.
pub fn grpc_methods(sets: &[&[u8]]) -> Vec<String> {
    use prost::Message;
    let mut out = Vec::new();
    for set in sets {
        let Ok(set) = prost_types::FileDescriptorSet::decode(*set) else {
            continue;
        };
        for file in set.file {
            let package = file.package();
            for service in &file.service {
                for method in &service.method {
                    let service = service.name();
                    let method = method.name();
                    out.push(if package.is_empty() {
                        format!("/{service}/{method}")
                    } else {
                        format!("/{package}.{service}/{method}")
                    });
                }
            }
        }
    }
    out
}

/// The layer, sharing one set of counters across every runtime's router.
#[derive(Clone)]
pub struct CallMetrics(pub Arc<RequestMetrics>);

impl<S> Layer<S> for CallMetrics {
    type Service = CallMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallMetricsService {
            metrics: self.0.clone(),
            inner,
        }
    }
}

/// The service the layer wraps around the router.
#[derive(Clone)]
pub struct CallMetricsService<S> {
    metrics: Arc<RequestMetrics>,
    inner: S,
}

impl<S> Service<http::Request<Body>> for CallMetricsService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let start = Instant::now();
        let slot = self.metrics.slot(req.uri().path());
        let metrics = self.metrics.clone();
        let call = self.inner.call(req);
        Box::pin(async move {
            let res = match call.await {
                Ok(res) => res,
                Err(e) => {
                    metrics.record(slot, UNKNOWN, start.elapsed());
                    return Err(e);
                }
            };
            // Trailers-only (every error tonic returns): the call is over with the headers.
            if let Some(code) = grpc_status(res.headers()) {
                metrics.record(slot, code, start.elapsed());
                return Ok(res);
            }
            Ok(res.map(|body| {
                Body::new(TimedBody {
                    inner: body,
                    open: Some(Open {
                        metrics,
                        slot,
                        start,
                    }),
                })
            }))
        })
    }
}

fn grpc_status(headers: &http::HeaderMap) -> Option<u32> {
    headers.get("grpc-status").map(|v| {
        std::str::from_utf8(v.as_bytes())
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(UNKNOWN)
    })
}

/// What a call still open needs to record itself.
struct Open {
    metrics: Arc<RequestMetrics>,
    slot: usize,
    start: Instant,
}

impl Open {
    fn record(self, code: u32) {
        self.metrics.record(self.slot, code, self.start.elapsed());
    }
}

/// A response body that records the call when its trailers pass, when it ends without
/// them, or when it is dropped early.
struct TimedBody<B> {
    inner: B,
    open: Option<Open>,
}

impl<B> HttpBody for TimedBody<B>
where
    B: HttpBody + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        // Recorded before the frame goes on, so a client that has the status sees it counted.
        let code = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame
                .trailers_ref()
                .map(|t| grpc_status(t).unwrap_or(UNKNOWN)),
            Poll::Ready(Some(Err(_))) => Some(UNKNOWN),
            Poll::Ready(None) => Some(UNKNOWN),
            Poll::Pending => None,
        };
        if let Some(code) = code
            && let Some(open) = self.open.take()
        {
            open.record(code);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for TimedBody<B> {
    fn drop(&mut self) {
        if let Some(open) = self.open.take() {
            open.record(CANCELLED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn metrics() -> Arc<RequestMetrics> {
        Arc::new(RequestMetrics::new(["/p.S/M".to_owned()]))
    }

    fn counts(m: &RequestMetrics) -> Vec<(&'static str, u64)> {
        m.counts(0)
    }

    fn timed(
        m: &Arc<RequestMetrics>,
        frames: Vec<Frame<tonic::codegen::Bytes>>,
    ) -> TimedBody<Body> {
        let stream = tokio_stream::iter(frames.into_iter().map(Ok::<_, std::convert::Infallible>));
        TimedBody {
            inner: Body::new(http_body_util::StreamBody::new(stream)),
            open: Some(Open {
                metrics: m.clone(),
                slot: 0,
                start: Instant::now(),
            }),
        }
    }

    #[tokio::test]
    async fn status_from_trailers() {
        let m = metrics();
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("5"));
        let body = timed(
            &m,
            vec![
                Frame::data(tonic::codegen::Bytes::from_static(b"x")),
                Frame::trailers(trailers),
            ],
        );
        let _ = body.collect().await;
        assert_eq!(counts(&m), vec![("NOT_FOUND", 1)]);
    }

    #[tokio::test]
    async fn dropped_body_is_cancelled_once() {
        let m = metrics();
        let body = timed(
            &m,
            vec![Frame::data(tonic::codegen::Bytes::from_static(b"x"))],
        );
        drop(body);
        assert_eq!(counts(&m), vec![("CANCELLED", 1)]);
    }

    #[test]
    fn methods_of_the_contract() {
        let methods = grpc_methods(&[crate::pb::FILE_DESCRIPTOR_SET]);
        assert!(methods.contains(&"/talentcard.v1.Verification/VerifyCard".to_owned()));
        assert!(methods.contains(&"/talentcard.v1.CardIssuance/IssueCard".to_owned()));
    }

    #[tokio::test]
    async fn layer_counts_trailers_only_responses() {
        let m = metrics();
        let mut svc =
            CallMetrics(m.clone()).layer(tower::service_fn(|_req: http::Request<Body>| async {
                Ok::<_, std::convert::Infallible>(
                    tonic::Status::permission_denied("no").into_http(),
                )
            }));
        let req = http::Request::builder()
            .uri("/p.S/M")
            .body(Body::empty())
            .expect("request");
        let res = svc.call(req).await.expect("response");
        drop(res);
        assert_eq!(counts(&m), vec![("PERMISSION_DENIED", 1)]);
    }
}

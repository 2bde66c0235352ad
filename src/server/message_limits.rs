//! Per-RPC request size limits. Past its limit a call gets RESOURCE_EXHAUSTED before the body
//! is read whole, and the connection keeps serving.

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

/// gRPC frame header: compression flag and length.
const FRAME_HEADER: usize = 5;

/// The limits by path, with a default for the rest.
#[derive(Clone)]
pub struct MessageLimits {
    default: usize,
    by_path: Arc<HashMap<&'static str, usize>>,
}

impl MessageLimits {
    /// The default for every RPC, and the larger limits of the batch RPCs.
    pub fn new(default: usize) -> Self {
        let by_path = HashMap::from([
            ("/talentcard.v1.Verification/VerifyCards", 2 * 1024 * 1024),
            ("/talentcard.v1.CardIssuance/IssueCards", 1024 * 1024),
            ("/talentcard.v1.Admin/ImportCatalogue", 1024 * 1024),
        ]);
        Self {
            default,
            by_path: Arc::new(by_path),
        }
    }

    fn limit(&self, path: &str) -> usize {
        self.by_path.get(path).copied().unwrap_or(self.default)
    }
}

impl<S> Layer<S> for MessageLimits {
    type Service = MessageLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MessageLimitService {
            limits: self.clone(),
            inner,
        }
    }
}

/// The service the layer wraps around the router.
#[derive(Clone)]
pub struct MessageLimitService<S> {
    limits: MessageLimits,
    inner: S,
}

impl<S> Service<http::Request<Body>> for MessageLimitService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let limit = self.limits.limit(req.uri().path());
        // The clone that was made ready serves this call; the fresh clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            match Limited::new(body, limit + FRAME_HEADER).collect().await {
                Ok(collected) => {
                    let body = Body::new(Full::new(collected.to_bytes()));
                    inner.call(http::Request::from_parts(parts, body)).await
                }
                Err(e) if e.is::<LengthLimitError>() => Ok(Status::resource_exhausted(format!(
                    "request message larger than the {limit} bytes allowed for {}",
                    parts.uri.path()
                ))
                .into_http()),
                Err(_) => Ok(Status::cancelled("request body was not received whole").into_http()),
            }
        })
    }
}

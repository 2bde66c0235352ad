//! Per-caller rate limits: a token bucket per certificate identity, and per address for
//! callers without one. Past its bucket a call gets RESOURCE_EXHAUSTED with the time to wait
//! (`retry-after-ms` and google.rpc.RetryInfo) before any service sees it; other callers'
//! buckets are untouched. Health and reflection are never limited.
//!
//! Calls are charged per unit of work (DESIGN.md): this layer takes one unit before the body
//! is read; a handler that finds more work in the decoded request (credentials, holder
//! proofs) takes the rest through the [`Charge`] left in the request's extensions.
//! CreateChallenge has buckets of its own.
//!
//! The buckets are `governor`'s keyed GCRA (`check_key_n` charges n units, all or none, and
//! a refusal writes nothing), one rate limiter per class, each over a store of our own that
//! bounds the number of callers it remembers (`BoundedStore`). The layer is cloned into every
//! per-core runtime; the state is shared, in shards behind short-held mutexes, so a call
//! costs one lock of one shard.

mod bucket;
mod limiter;
mod store;
#[cfg(test)]
mod tests;

use crate::api::Charge;
use crate::config::RateLimitConfig;
use bucket::{BucketOwner, Class, Rate};
use limiter::Limiter;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::body::Body;
use tower::{Layer, Service};

/// Callers one shard of a class keeps before it sweeps (16 shards: about 64 Ki callers, a
/// few MiB).
const SHARD_CAPACITY: usize = 4096;

/// Paths that are never limited: probes must always get through.
const EXEMPT: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Paths whose requests may carry more than one unit of work: the layer leaves them a
/// [`Charge`] for the rest.
const CHARGED: &[&str] = &[
    "/talentcard.v1.Verification/VerifyCard",
    "/talentcard.v1.Verification/VerifyCards",
    "/talentcard.v1.Entitlements/RedeemService",
    "/talentcard.v1.Federation/ReserveQuota",
];

/// CreateChallenge is charged to buckets of its own.
const CHALLENGE: &str = "/talentcard.v1.Verification/CreateChallenge";

/// The layer: one limiter shared by every clone.
#[derive(Debug, Clone)]
pub struct RateLimits {
    limiter: Option<Arc<Limiter>>,
}

impl RateLimits {
    /// The limits of the configuration; none when disabled.
    pub fn new(config: &RateLimitConfig) -> Self {
        let identified = Rate::new(config.identified_per_second, config.identified_burst);
        let public = Rate::new(config.public_per_second, config.public_burst);
        let challenge = Rate::new(config.challenge_per_second, config.challenge_burst);
        let on =
            config.enabled && (identified.is_some() || public.is_some() || challenge.is_some());
        Self {
            limiter: on
                .then(|| Arc::new(Limiter::new(identified, public, challenge, SHARD_CAPACITY))),
        }
    }
}

impl<S> Layer<S> for RateLimits {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            limiter: self.limiter.clone(),
            inner,
        }
    }
}

/// The service the layer wraps around the router.
#[derive(Debug, Clone)]
pub struct RateLimitService<S> {
    limiter: Option<Arc<Limiter>>,
    inner: S,
}

impl<S> Service<http::Request<Body>> for RateLimitService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        if let Some(limiter) = &self.limiter {
            let path = req.uri().path();
            if !EXEMPT.iter().any(|p| path.starts_with(p)) {
                let charged = CHARGED.contains(&path);
                let challenge = path == CHALLENGE;
                let key = BucketOwner::of(&req);
                let class = if challenge {
                    Class::Challenge
                } else {
                    key.class()
                };
                let rest = charged.then(|| key.clone());
                if let Err(refused) = limiter.charge(class, key, 1) {
                    // The inner service was made ready and is not called: it stays ready
                    // for the next call.
                    let refusal = limiter.refusal(class, 1, refused).into_http();
                    return Box::pin(std::future::ready(Ok(refusal)));
                }
                if let Some(key) = rest {
                    let limiter = limiter.clone();
                    req.extensions_mut().insert(Charge::new(move |units| {
                        let total = units + 1;
                        limiter
                            .charge(class, key.clone(), units)
                            .map_err(|r| limiter.refusal(class, total, r))
                    }));
                }
            }
        }
        Box::pin(self.inner.call(req))
    }
}

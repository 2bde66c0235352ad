//! Who calls, resolved once per call for every layer and service after this one: the
//! connection's certificate identity (resolved at the handshake, CA binding applied), else
//! the counter a valid `authorization: Bearer` counter token names (only without a
//! certificate), else the public. The `Caller` and the `ConnectionId` go into the request's
//! extensions.
//!
//! A certificate from a CA that may not vouch for the identity it names is PERMISSION_DENIED
//! on every call, health and reflection included (a probe has no certificate), and a counter
//! token that does not verify is UNAUTHENTICATED: both audited, and neither is ever that
//! identity for a later layer, so no one drains another's rate bucket or appears as them.
//! Such a call goes on as the public caller from its address as far as the rate limiter, so
//! that a flood of bad tokens is charged to the address that sends it (and its audit records
//! are bounded by that address's limit); [`RefuseUnvouched`], after the limiter, answers it.

use super::connection::ConnectionInfo;
use super::peer::Peer;
use crate::api::access::rpc_name;
use crate::domain::Caller;
use crate::service::{AuditSink, Counters, ServiceError};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

/// The layer; counter tokens are checked by [`Counters`].
#[derive(Clone)]
pub(crate) struct Identities {
    counters: Arc<Counters>,
}

impl Identities {
    /// Resolves callers, counter tokens checked by `counters`.
    pub(crate) fn new(counters: Arc<Counters>) -> Self {
        Self { counters }
    }
}

impl<S> Layer<S> for Identities {
    type Service = IdentityService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        IdentityService {
            counters: self.counters.clone(),
            inner,
        }
    }
}

/// The service the layer wraps.
#[derive(Clone)]
pub(crate) struct IdentityService<S> {
    counters: Arc<Counters>,
    inner: S,
}

/// A call whose identity was refused: who it is recorded as, and the answer it gets.
#[derive(Clone)]
pub(crate) struct Unvouched {
    who: String,
    status: Status,
}

impl<S> IdentityService<S> {
    /// The caller of `req`, or its refusal.
    fn caller(&self, req: &http::Request<Body>, peer: &Peer) -> Result<Caller, Unvouched> {
        let refusal = match peer {
            Peer::Certified(caller) => return Ok(caller.clone()),
            Peer::Anonymous => match req.headers().get(http::header::AUTHORIZATION) {
                None => return Ok(Caller::Public),
                Some(header) => match self.counter(header) {
                    Ok(caller) => return Ok(caller),
                    Err(status) => ("public".to_owned(), status),
                },
            },
            // Recorded as what it is, never as the identity it names.
            Peer::Refused(claimed) => (
                format!("unvouched:{claimed}"),
                Status::permission_denied(format!(
                    "{claimed} is not vouched for by the CA bound to its trust domain"
                )),
            ),
        };
        let (who, status) = refusal;
        Err(Unvouched { who, status })
    }

    /// The counter a bearer counter token names.
    fn counter(&self, header: &http::HeaderValue) -> Result<Caller, Status> {
        // The scheme is case-insensitive (RFC 9110).
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                ServiceError::Unauthenticated(
                    "authorization must be \"Bearer <counter token>\"".into(),
                )
            })?;
        Ok(Caller::Identified(self.counters.counter_of(token)?))
    }
}

impl<S> Service<http::Request<Body>> for IdentityService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        let connection = req.extensions().get::<ConnectionInfo>().cloned();
        let peer = connection.as_ref().map_or(&Peer::Anonymous, |c| &*c.peer);
        let caller = match self.caller(&req, peer) {
            Ok(caller) => caller,
            Err(refused) => {
                req.extensions_mut().insert(refused);
                Caller::Public
            }
        };
        let ext = req.extensions_mut();
        ext.insert(caller);
        if let Some(c) = connection {
            ext.insert(c.id);
        }
        self.inner.call(req)
    }
}

/// Answers the calls whose identity was refused, after the rate limiter charged them to
/// their address; audits each.
#[derive(Clone)]
pub(crate) struct RefuseUnvouched {
    audit: AuditSink,
}

impl RefuseUnvouched {
    /// Audits refusals into `audit`.
    pub(crate) fn new(audit: AuditSink) -> Self {
        Self { audit }
    }
}

impl<S> Layer<S> for RefuseUnvouched {
    type Service = RefuseUnvouchedService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RefuseUnvouchedService {
            audit: self.audit.clone(),
            inner,
        }
    }
}

/// The service [`RefuseUnvouched`] wraps.
#[derive(Clone)]
pub(crate) struct RefuseUnvouchedService<S> {
    audit: AuditSink,
    inner: S,
}

impl<S> Service<http::Request<Body>> for RefuseUnvouchedService<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Resolved<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let Some(Unvouched { who, status }) = req.extensions().get::<Unvouched>().cloned() else {
            return Resolved::Call {
                inner: self.inner.call(req),
            };
        };
        let rpc = rpc_name(req.uri().path());
        self.audit.event(&who, &rpc, "", "denied", status.message());
        // The inner service was made ready and is not called: it stays ready.
        Resolved::Refused {
            answer: Some(Ok(status.into_http())),
        }
    }
}

pin_project! {
    /// The inner call, or the refusal.
    #[project = ResolvedProj]
    pub(crate) enum Resolved<F, E> {
        /// Resolved: the call goes on.
        Call { #[pin] inner: F },
        /// Refused before anything else saw it.
        Refused { answer: Option<Result<http::Response<Body>, E>> },
    }
}

impl<F, E> Future for Resolved<F, E>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ResolvedProj::Call { inner } => inner.poll(cx),
            ResolvedProj::Refused { answer } => {
                Poll::Ready(answer.take().expect("a refusal is answered once"))
            }
        }
    }
}

//! The counter page: static files compiled into the binary and served on GET beside gRPC on
//! the same port. gRPC (and gRPC-Web) calls are always POST, so GET and HEAD stop here.

use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::codegen::Bytes;
use tower::{Layer, Service};

/// Path, media type, contents.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_bytes!("../../web/index.html"),
    ),
    (
        "/index.html",
        "text/html; charset=utf-8",
        include_bytes!("../../web/index.html"),
    ),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../web/style.css"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/app.js"),
    ),
    (
        "/i18n.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/i18n.js"),
    ),
    // Generated from proto/ by proto/check: the messages and the gRPC-Web client.
    (
        "/gen/talentcard.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/gen/talentcard.js"),
    ),
    (
        "/gen/NOTICE",
        "text/plain; charset=utf-8",
        include_bytes!("../../web/gen/NOTICE"),
    ),
    (
        "/scan.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/scan.js"),
    ),
    // The offline verifier (offline.js and its modules) and the SM2 it uses (vendored).
    (
        "/offline.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/offline.js"),
    ),
    (
        "/offline/checks.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/offline/checks.js"),
    ),
    (
        "/offline/claims.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/offline/claims.js"),
    ),
    (
        "/offline/json.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/offline/json.js"),
    ),
    (
        "/offline/keys.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/offline/keys.js"),
    ),
    (
        "/offline/profile.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/offline/profile.js"),
    ),
    (
        "/offline/recognition.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/offline/recognition.js"),
    ),
    (
        "/offline/status_list.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/offline/status_list.js"),
    ),
    (
        "/offline/store.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/offline/store.js"),
    ),
    (
        "/vendor/sm2.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/vendor/sm2.js"),
    ),
    (
        "/vendor/NOTICE",
        "text/plain; charset=utf-8",
        include_bytes!("../../web/vendor/NOTICE"),
    ),
    (
        "/favicon.svg",
        "image/svg+xml",
        include_bytes!("../../web/favicon.svg"),
    ),
    (
        "/vendor/jsQR.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/vendor/jsQR.js"),
    ),
];

/// Own origin only, no inline script or style; the camera may be used by this page alone.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Serves the page in front of the gRPC router.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebPages;

impl<S> Layer<S> for WebPages {
    type Service = WebPagesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WebPagesService { inner }
    }
}

/// The service the layer wraps around the router.
#[derive(Debug, Clone)]
pub struct WebPagesService<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for WebPagesService<S>
where
    S: Service<http::Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let head = req.method() == Method::HEAD;
        if req.method() == Method::GET || head {
            let res = page(req.uri().path(), head);
            return Box::pin(std::future::ready(Ok(res)));
        }
        Box::pin(self.inner.call(req))
    }
}

/// The file at `path` with the page's security headers, or 404.
fn page(path: &str, head: bool) -> Response<Body> {
    let found = FILES.iter().find(|(p, _, _)| *p == path);
    let (status, media, bytes): (_, _, &'static [u8]) = match found {
        Some((_, media, bytes)) => (StatusCode::OK, *media, bytes),
        None => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            b"not found\n",
        ),
    };
    let body = if head {
        Bytes::new()
    } else {
        Bytes::from_static(bytes)
    };
    let mut res = Response::new(Body::new(Full::new(body)));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        http::HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
    );
    // The page is small and changes with the binary: always revalidate.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

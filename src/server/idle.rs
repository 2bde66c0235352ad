//! Idle connections are closed: one with no call in flight for the idle timeout ends, even
//! one that finished its handshake and never spoke HTTP at all. A layer counts each
//! connection's calls in flight; the connection's reads look at the clock (connection.rs).
//! HTTP/2 PINGs and their acks are no calls, so a keepalive does not keep a connection.

use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

/// One connection's calls: how many are in flight, and when the last one ended.
#[derive(Debug)]
pub(crate) struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Since `opened`, when the count last dropped to zero.
    idle_since_ms: AtomicU64,
}

impl Activity {
    /// A connection opened now, idle from now.
    pub(crate) fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
        }
    }

    /// Since when the connection has had no call in flight; None while one is.
    fn idle_since(&self) -> Option<Instant> {
        (self.in_flight.load(Ordering::Acquire) == 0).then(|| {
            self.opened + Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire))
        })
    }

    fn begin(self: &Arc<Self>) -> CallInFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        CallInFlight(self.clone())
    }
}

/// A call in flight on its connection until dropped.
#[derive(Debug)]
struct CallInFlight(Arc<Activity>);

impl Drop for CallInFlight {
    fn drop(&mut self) {
        let a = &self.0;
        // The time first: whoever sees the count at zero sees when it got there.
        let ms = a.opened.elapsed().as_millis() as u64;
        a.idle_since_ms.store(ms, Ordering::Release);
        a.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The clock of one connection, polled from its reads.
#[derive(Debug)]
pub(crate) struct IdleTimer {
    limit: Duration,
    sleep: Pin<Box<Sleep>>,
}

impl IdleTimer {
    /// Closes after `limit` without a call.
    pub(crate) fn new(limit: Duration) -> Self {
        Self {
            limit,
            sleep: Box::pin(tokio::time::sleep(limit)),
        }
    }

    /// True once the connection has had no call in flight for the limit; otherwise the
    /// task is woken by then (a call ending re-arms the timer through the connection's next
    /// read, which follows every response).
    pub(crate) fn expired(&mut self, activity: &Activity, cx: &mut Context<'_>) -> bool {
        let Some(since) = activity.idle_since() else {
            return false;
        };
        let deadline = since + self.limit;
        // Calls do not move the timer (that would cost a timer update per call): it only
        // ever runs early, and is moved on to the deadline when it does.
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return false;
            }
            if Instant::now() >= deadline {
                return true;
            }
            self.sleep.as_mut().reset(deadline);
        }
    }
}

/// The layer counting calls in flight per connection (outermost: every call counts).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallActivity;

impl<S> Layer<S> for CallActivity {
    type Service = CallActivityService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallActivityService { inner }
    }
}

/// The service the layer wraps.
#[derive(Debug, Clone)]
pub(crate) struct CallActivityService<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for CallActivityService<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Counted<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let call = req
            .extensions()
            .get::<super::connection::ConnectionInfo>()
            .map(|c| c.activity.begin());
        Counted {
            inner: self.inner.call(req),
            call,
        }
    }
}

pin_project! {
    /// A call's future, in flight until its response is ready. The contract's RPCs are
    /// unary: their bodies follow at once.
    pub(crate) struct Counted<F> {
        #[pin]
        inner: F,
        call: Option<CallInFlight>,
    }
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = std::task::ready!(this.inner.poll(cx));
        this.call.take();
        Poll::Ready(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_only_without_calls_and_from_when_the_last_ended() {
        let ms = Duration::from_millis;
        let activity = Arc::new(Activity::new());
        let mut timer = IdleTimer::new(ms(200));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let call = activity.begin();
        tokio::time::sleep(ms(300)).await;
        assert!(!timer.expired(&activity, &mut cx), "a call is in flight");
        drop(call);
        assert!(
            !timer.expired(&activity, &mut cx),
            "idle from when the call ended"
        );
        tokio::time::sleep(ms(250)).await;
        assert!(timer.expired(&activity, &mut cx));
    }
}

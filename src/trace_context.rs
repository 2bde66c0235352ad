//! W3C Trace Context: the `traceparent` a caller sends is continued, passed on to partner
//! calls (bundle polls, ReserveQuota) with a new parent id each, and its trace id is logged
//! beside the request id, so one redemption across two gateways can be followed in both logs.
//! A missing or malformed `traceparent` is never an error: a new trace starts here.

use std::fmt;
use std::future::Future;

/// The header and gRPC metadata key.
pub const TRACEPARENT: &str = "traceparent";

/// `00-` + 32 hex + `-` + 16 hex + `-` + 2 hex.
const LEN: usize = 55;

tokio::task_local! {
    /// The trace of the call (or poll) this task is running.
    static CURRENT: TraceContext;
}

/// One position in a trace: the trace, the span that calls next, and the trace flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: u128,
    parent_id: u64,
    flags: u8,
}

/// A trace id, printed as the 32 lowercase hex digits every log line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceId(u128);

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl TraceContext {
    /// A `traceparent` of version 00, strictly: lowercase hex, neither id all zeros. Other
    /// versions are refused too: their fields are not ours to guess.
    pub fn parse(value: &[u8]) -> Option<Self> {
        if value.len() != LEN
            || !value.starts_with(b"00-")
            || value[35] != b'-'
            || value[52] != b'-'
        {
            return None;
        }
        let trace_id = hex(&value[3..35])?;
        let parent_id = u64::try_from(hex(&value[36..52])?).ok()?;
        let flags = u8::try_from(hex(&value[53..55])?).ok()?;
        (trace_id != 0 && parent_id != 0).then_some(Self {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// A new trace (random trace id, not sampled: nothing here records spans).
    pub fn start() -> Self {
        Self {
            trace_id: random_id(),
            parent_id: random_parent_id(),
            flags: 0,
        }
    }

    /// The caller's trace when its `traceparent` is well-formed, else a new one.
    pub fn continue_or_start(traceparent: Option<&[u8]>) -> Self {
        traceparent
            .and_then(Self::parse)
            .unwrap_or_else(Self::start)
    }

    /// The context for one outgoing call: the same trace and flags, a new parent id.
    pub fn child(&self) -> Self {
        Self {
            parent_id: random_parent_id(),
            ..*self
        }
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        TraceId(self.trace_id)
    }

    /// Runs `f` with this as the current trace of the task.
    pub fn scope<F: Future>(self, f: F) -> tokio::task::futures::TaskLocalFuture<Self, F> {
        CURRENT.scope(self, f)
    }

    /// Runs `f` with this as the current trace, synchronously.
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(self, f)
    }

    /// The context for a call to a partner made now: a child of the current trace, or a new
    /// trace outside any.
    pub fn outgoing() -> Self {
        CURRENT
            .try_with(Self::child)
            .unwrap_or_else(|_| Self::start())
    }
}

/// `00-<trace id>-<parent id>-<flags>`.
impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id, self.parent_id, self.flags
        )
    }
}

/// Lowercase hex digits only (as the recommendation writes them), at most 32.
fn hex(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |n, d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        Some(n << 4 | u128::from(v))
    })
}

/// Zero means "no id" in a traceparent: a random zero becomes 1.
fn random_id() -> u128 {
    rand::random::<u128>().max(1)
}

fn random_parent_id() -> u64 {
    rand::random::<u64>().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_read_and_written_back() {
        let t = TraceContext::parse(VALID.as_bytes()).expect("valid");
        assert_eq!(t.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.to_string(), VALID);
        let unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        assert!(TraceContext::parse(unsampled.as_bytes()).is_some());
    }

    #[test]
    fn every_malformed_shape_is_refused() {
        for bad in [
            "",
            // Other versions, and the reserved ff.
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            // All-zero trace id, all-zero parent id.
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            // Uppercase and non-hex digits.
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
            // Short and long fields, wrong separators, trailing data, a version-00 extension.
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47361-00f067aa0ba902b-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::parse(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn an_invalid_or_missing_traceparent_starts_a_new_trace() {
        let a = TraceContext::continue_or_start(Some(b"00-zz"));
        let b = TraceContext::continue_or_start(None);
        assert_ne!(a.trace_id(), b.trace_id());
        for t in [a, b] {
            // What a new trace sends is itself valid.
            assert_eq!(TraceContext::parse(t.to_string().as_bytes()), Some(t));
        }
        let kept = TraceContext::continue_or_start(Some(VALID.as_bytes()));
        assert_eq!(kept.to_string(), VALID);
    }

    #[tokio::test]
    async fn outgoing_calls_keep_the_trace_with_a_new_parent_id_each() {
        let caller = TraceContext::parse(VALID.as_bytes()).expect("valid");
        let (one, two) = caller
            .scope(async { (TraceContext::outgoing(), TraceContext::outgoing()) })
            .await;
        for t in [one, two] {
            assert_eq!(t.trace_id(), caller.trace_id());
            assert_eq!(t.flags, caller.flags);
            assert_ne!(t.parent_id, caller.parent_id);
        }
        assert_ne!(one.parent_id, two.parent_id);
        // Outside any call: a trace of its own.
        assert_ne!(TraceContext::outgoing().trace_id(), caller.trace_id());
    }
}

//! A TCP stream that writes the responses of many calls in one system call.
//!
//! h2 flushes before it queues a DATA frame larger than 256 bytes, so each VerifyCard answer
//! (about 1.2 KiB with its entitlements) would cost its own `writev`: at tens of thousands of
//! answers a second that is most of the kernel time of a call. Under TLS this stream holds
//! what was flushed until the connection task next reads (which it does first thing when it
//! is polled again) or is polled again at all, and asks for that poll right away. The
//! answers the call tasks finish meanwhile go out together; a lone answer leaves one task
//! poll later, without waiting for anything.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Past this much held data, writes wait for the socket (back-pressure).
const HIGH_WATER: usize = 256 * 1024;

/// A flush with this much held goes out at once: a few answers per write keep the client
/// busy while the rest are being made (a whole round at once leaves both sides waiting).
const FLUSH_AT: usize = 8 * 1024;

/// A TCP stream whose flushes are held for one task poll.
pub(crate) struct CoalescingStream {
    io: TcpStream,
    held: Vec<u8>,
    /// Bytes of `held` already written.
    sent: usize,
    /// A flush was asked for and is held.
    flush_held: bool,
}

impl CoalescingStream {
    pub(crate) fn new(io: TcpStream) -> Self {
        Self {
            io,
            held: Vec::with_capacity(16 * 1024),
            sent: 0,
            flush_held: false,
        }
    }

    /// Writes what is held; Pending (with the waker registered) while the socket is full.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.held.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.held[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.held.clear();
        self.sent = 0;
        self.flush_held = false;
        Poll::Ready(Ok(()))
    }

    fn pending(&self) -> usize {
        self.held.len() - self.sent
    }
}

impl AsyncRead for CoalescingStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // The held flush goes out now. A full socket does not stop reading: the waker is
        // registered and the rest goes out when it drains.
        if this.flush_held
            && let Poll::Ready(Err(e)) = this.poll_drain(cx)
        {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for CoalescingStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending() >= HIGH_WATER {
            ready!(this.poll_drain(cx))?;
        }
        this.held.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending() >= HIGH_WATER {
            ready!(this.poll_drain(cx))?;
        }
        let mut n = 0;
        for b in bufs {
            this.held.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pending() == 0 {
            return Poll::Ready(Ok(()));
        }
        if this.pending() >= FLUSH_AT {
            return this.poll_drain(cx);
        }
        if !this.flush_held {
            // Held until the next read or poll of this task, which is asked for now.
            this.flush_held = true;
            cx.waker().wake_by_ref();
            return Poll::Ready(Ok(()));
        }
        // Flushed again before the task was polled anew: already held, and asked for.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

//! One accepted connection after its TLS handshake: the TLS stream over the coalescing TCP
//! stream, what is known of its peer (for every call on it), its idle clock, and its place
//! under the per-address cap (freed when hyper drops it, i.e. when the connection closes).

use super::coalesce::CoalescingStream;
use super::idle::{Activity, IdleTimer};
use super::peer::Peer;
use super::per_address::AddressPermit;
use crate::domain::ConnectionId;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::server::TlsStream;
use tonic::transport::server::Connected;

/// What every call on a connection is told of it (tonic puts it in the request extensions).
#[derive(Debug, Clone)]
pub(crate) struct ConnectionInfo {
    /// Unique per accepted connection.
    pub(crate) id: ConnectionId,
    /// The client's address.
    pub(crate) remote: SocketAddr,
    /// Its certificate's identity, resolved once.
    pub(crate) peer: Arc<Peer>,
    /// Its calls in flight.
    pub(crate) activity: Arc<Activity>,
}

/// A served connection.
pub(crate) struct Connection {
    tls: TlsStream<CoalescingStream>,
    info: ConnectionInfo,
    idle: IdleTimer,
    _counted: AddressPermit,
}

impl Connection {
    pub(crate) fn new(
        tls: TlsStream<CoalescingStream>,
        info: ConnectionInfo,
        idle: IdleTimer,
        counted: AddressPermit,
    ) -> Self {
        Self {
            tls,
            info,
            idle,
            _counted: counted,
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // The connection task reads whenever it waits, so this is where an idle one learns
        // its time is up: it reads the end, and hyper closes it.
        if this.idle.expired(&this.info.activity, cx) {
            tracing::debug!(connection = this.info.id.0, remote = %this.info.remote, "idle connection closed");
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tls).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tls).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_shutdown(cx)
    }
}

impl Connected for Connection {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

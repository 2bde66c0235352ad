//! Accepting connections: each is counted against its address's cap at once (past it the
//! socket is closed), then shakes hands as its own task within the handshake timeout, so a
//! silent or slow client never holds up the others nor keeps its socket. Only finished
//! handshakes reach the server, each with its peer resolved (peer.rs).

use super::ca_binding::CaBinding;
use super::coalesce::CoalescingStream;
use super::connection::{Connection, ConnectionInfo};
use super::idle::{Activity, IdleTimer};
use super::peer::Peer;
use super::per_address::{AddressPermit, PerAddress};
use crate::domain::ConnectionId;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

/// Finished handshakes waiting for the server to take them.
const READY_QUEUE: usize = 256;

/// How connections are accepted; one, cloned into every per-core runtime.
#[derive(Clone)]
pub(crate) struct Acceptor {
    tls: TlsAcceptor,
    ca_binding: Option<Arc<CaBinding>>,
    per_address: Arc<PerAddress>,
    handshake_timeout: Duration,
    idle_timeout: Duration,
    next_id: Arc<AtomicU64>,
}

/// What the acceptor is configured with.
pub(crate) struct AcceptorSettings {
    pub(crate) tls: Arc<rustls::ServerConfig>,
    pub(crate) ca_binding: Option<Arc<CaBinding>>,
    pub(crate) max_connections_per_address: usize,
    pub(crate) handshake_timeout: Duration,
    pub(crate) idle_timeout: Duration,
}

impl Acceptor {
    pub(crate) fn new(s: AcceptorSettings) -> Self {
        Self {
            tls: TlsAcceptor::from(s.tls),
            ca_binding: s.ca_binding,
            per_address: PerAddress::new(s.max_connections_per_address),
            handshake_timeout: s.handshake_timeout,
            idle_timeout: s.idle_timeout,
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The connections of `listener`, ready to serve. Accepting stops (and the listener
    /// closes) when `stopping` completes or the server drops the stream.
    pub(crate) fn incoming(
        &self,
        listener: TcpListener,
        stopping: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> ReceiverStream<io::Result<Connection>> {
        let (ready, incoming) = mpsc::channel(READY_QUEUE);
        tokio::spawn(self.clone().accept(listener, ready, stopping));
        ReceiverStream::new(incoming)
    }

    async fn accept(
        self,
        listener: TcpListener,
        ready: mpsc::Sender<io::Result<Connection>>,
        stopping: impl std::future::Future<Output = ()>,
    ) {
        // Handshakes under way belong to this loop: at a stop they end with it, so a client
        // hears a refused connection (and retries elsewhere), not a reset after its request.
        let mut handshakes = tokio::task::JoinSet::new();
        tokio::pin!(stopping);
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = ready.closed() => return,
                () = &mut stopping => return,
                Some(_) = handshakes.join_next(), if !handshakes.is_empty() => continue,
            };
            let (tcp, remote) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors (or the like): wait a little rather than spin.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let Some(counted) = self.per_address.admit(remote.ip()) else {
                continue; // dropped: closed at once
            };
            let id = ConnectionId(self.next_id.fetch_add(1, Ordering::Relaxed));
            let ready = ready.clone();
            let me = self.clone();
            handshakes.spawn(async move {
                if let Some(conn) = me.handshake(tcp, remote, id, counted).await {
                    let _ = ready.send(Ok(conn)).await;
                }
            });
        }
    }

    async fn handshake(
        &self,
        tcp: TcpStream,
        remote: SocketAddr,
        id: ConnectionId,
        counted: AddressPermit,
    ) -> Option<Connection> {
        // Small responses must leave at once: Nagle's algorithm with delayed ACKs adds
        // ~40 ms. Responses finished together leave together (coalesce.rs).
        let _ = tcp.set_nodelay(true);
        let shake = self.tls.accept(CoalescingStream::new(tcp));
        let tls = match tokio::time::timeout(self.handshake_timeout, shake).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(connection = id.0, %remote, error = %e, "TLS handshake failed");
                return None;
            }
            Err(_) => {
                tracing::debug!(connection = id.0, %remote, "TLS handshake timed out");
                return None;
            }
        };
        let peer = Peer::of(
            tls.get_ref().1.peer_certificates(),
            self.ca_binding.as_deref(),
        );
        if let Peer::Refused(claimed) = &peer {
            tracing::debug!(connection = id.0, %remote, %claimed, "certificate from a CA that may not vouch for it");
        }
        let info = ConnectionInfo {
            id,
            remote,
            peer: Arc::new(peer),
            activity: Arc::new(Activity::new()),
        };
        Some(Connection::new(
            tls,
            info,
            IdleTimer::new(self.idle_timeout),
            counted,
        ))
    }
}

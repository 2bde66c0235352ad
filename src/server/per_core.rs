//! One single-threaded runtime per core, each accepting on its own listener of the same
//! address (`SO_REUSEPORT`, so the kernel spreads connections over them).
//!
//! A current_thread runtime writes the responses of many calls in one `writev`, where the
//! multi-thread runtime writes each on its own (PERFORMANCE.md). The runtimes outlive their
//! servers until the process has finished with them (`release`), so that database
//! connections opened on them keep working for the final audit flush.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use tokio::sync::{mpsc, watch};

/// How many serving runtimes: the cores this process may run on (respects `taskset`).
pub(crate) fn runtimes() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// `n` listening sockets on `addr`; port 0 is resolved by the first. With one socket the
/// port is not shared (no `SO_REUSEPORT`), exactly as a plain bind.
pub(crate) fn bind(addr: SocketAddr, n: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let share = n > 1 && cfg!(unix);
    let first = bind_one(addr, share)?;
    let local = first.local_addr()?;
    let mut all = vec![first];
    if share {
        for _ in 1..n {
            all.push(bind_one(local, true)?);
        }
    }
    Ok(all)
}

fn bind_one(addr: SocketAddr, share: bool) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As tokio's TcpListener::bind: restart without waiting out TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    if share {
        socket.set_reuse_port(true)?;
    }
    #[cfg(not(unix))]
    let _ = share;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Signals from the main thread to the serving threads, and their results back.
pub(crate) struct Control {
    /// true: stop accepting and drain (graceful).
    pub(crate) stop: watch::Sender<bool>,
    /// true: the grace period is over; drop what is left.
    pub(crate) force: watch::Sender<bool>,
    /// true: the process is done with the runtimes; they may end.
    pub(crate) release: watch::Sender<bool>,
    done_tx: Option<mpsc::UnboundedSender<anyhow::Result<()>>>,
    /// One result per serving thread, sent when its server ended.
    pub(crate) done: mpsc::UnboundedReceiver<anyhow::Result<()>>,
    threads: Vec<JoinHandle<()>>,
}

/// What a serving thread is given to wait on.
#[derive(Clone)]
pub(crate) struct Signals {
    stop: watch::Receiver<bool>,
    force: watch::Receiver<bool>,
}

impl Signals {
    /// Completes once a graceful stop was asked for (or the controller is gone).
    pub(crate) async fn stopping(mut self) {
        let _ = self.stop.wait_for(|s| *s).await;
    }

    /// Completes once the grace period is over (or the controller is gone).
    pub(crate) async fn forced(mut self) {
        let _ = self.force.wait_for(|s| *s).await;
    }
}

impl Control {
    pub(crate) fn new() -> Self {
        let (done_tx, done) = mpsc::unbounded_channel();
        Self {
            stop: watch::channel(false).0,
            force: watch::channel(false).0,
            release: watch::channel(false).0,
            done_tx: Some(done_tx),
            done,
            threads: Vec::new(),
        }
    }

    /// Serving threads started so far.
    pub(crate) fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Starts a thread with its own current_thread runtime that runs `serve` to the end,
    /// reports the result, and keeps the runtime until released.
    pub(crate) fn spawn<F, Fut>(&mut self, name: String, serve: F) -> io::Result<()>
    where
        F: FnOnce(Signals) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let signals = Signals {
            stop: self.stop.subscribe(),
            force: self.force.subscribe(),
        };
        let mut release = self.release.subscribe();
        let mut report = Report(self.done_tx.clone());
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return report.send(Err(e.into())),
            };
            runtime.block_on(async move {
                let result = serve(signals).await;
                report.send(result);
                let _ = release.wait_for(|r| *r).await;
            });
        })?;
        self.threads.push(thread);
        Ok(())
    }

    /// No more threads: `done` ends once every thread has reported.
    pub(crate) fn started(&mut self) {
        self.done_tx = None;
    }

    /// Lets the runtimes end and waits for their threads.
    pub(crate) async fn release(self) {
        let _ = self.release.send(true);
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// Sends a thread's result once; a thread that panicked reports that instead.
struct Report(Option<mpsc::UnboundedSender<anyhow::Result<()>>>);

impl Report {
    fn send(&mut self, result: anyhow::Result<()>) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(result);
        }
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        self.send(Err(anyhow::anyhow!(
            "a serving thread stopped unexpectedly"
        )));
    }
}

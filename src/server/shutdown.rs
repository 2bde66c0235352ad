//! SIGTERM and SIGINT, and the grace period that follows them.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Fired once the stop signal arrived.
#[derive(Clone)]
pub(crate) struct Stop(Arc<Notify>);

impl Stop {
    pub(crate) fn new() -> Self {
        Self(Arc::new(Notify::new()))
    }

    pub(crate) fn fire(&self) {
        self.0.notify_one();
    }

    /// Completes `grace` after the stop fired.
    pub(crate) async fn after(&self, grace: Duration) {
        self.0.notified().await;
        tokio::time::sleep(grace).await;
    }
}

/// Waits for SIGTERM or Ctrl-C.
pub(crate) async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

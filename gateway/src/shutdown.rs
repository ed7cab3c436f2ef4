//! Stopping the server: on SIGTERM (or Ctrl-C) it stops accepting connections, answers the
//! requests in flight, lets the mail worker finish the messages it is sending, stops the
//! background tasks, and exits — within a bounded time, after which it exits anyway.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

/// Tells the parts of a running server that it is stopping. Clones share one state; once
/// triggered it stays triggered.
#[derive(Clone, Debug)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown(Arc::new(watch::channel(false).0))
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks everything that watches this to stop.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once [`Shutdown::trigger`] was called (at once if it already was).
    pub async fn triggered(&self) {
        let mut receiver = self.0.subscribe();
        // The sender lives as long as `self`: `wait_for` cannot fail on a closed channel.
        let _ = receiver.wait_for(|stopping| *stopping).await;
    }
}

/// SIGTERM and SIGINT (Ctrl-C), caught from the moment this is made (before the first request
/// is answered, so that no signal meets the default action of killing the process).
pub struct Signals {
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    pub fn listen() -> std::io::Result<Self> {
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next signal; returns its name.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}

/// Triggers `shutdown` on the first signal and arms the hard limit: if the process is still
/// running `grace` later, or when a second signal comes, it exits at once (status 1).
pub async fn on_signal(
    mut signals: Signals,
    shutdown: Shutdown,
    grace: Duration,
    in_flight: impl Fn() -> u64,
) {
    let name = signals.next().await;
    tracing::info!(
        signal = %name,
        in_flight = in_flight(),
        grace_s = grace.as_secs_f64(),
        "shutdown requested: no new connections; finishing requests in flight and the mail being sent"
    );
    shutdown.trigger();
    // A plain thread, so that the limit holds even if the runtime is stuck.
    let started = Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(grace);
        tracing::error!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "shutdown took longer than the limit: exiting anyway"
        );
        std::process::exit(1);
    });
    let again = signals.next().await;
    tracing::warn!(signal = %again, "second signal: exiting now");
    std::process::exit(1);
}

/// Waits for a background task to end after the shutdown was triggered, and says so.
pub async fn join(what: &str, task: tokio::task::JoinHandle<()>) {
    let started = Instant::now();
    match task.await {
        Ok(()) => tracing::info!(
            task = what,
            waited_ms = started.elapsed().as_millis() as u64,
            "stopped"
        ),
        Err(e) if e.is_cancelled() => tracing::info!(task = what, "cancelled"),
        Err(e) => tracing::warn!(task = what, error = %e, "ended with an error"),
    }
}

#[cfg(test)]
mod tests {
    use super::Shutdown;

    #[tokio::test]
    async fn a_triggered_shutdown_wakes_every_clone_even_late_ones() {
        let shutdown = Shutdown::new();
        let early = shutdown.clone();
        let waiting = tokio::spawn(async move { early.triggered().await });
        assert!(!shutdown.is_triggered());
        shutdown.trigger();
        waiting.await.unwrap();
        let late = shutdown.clone();
        assert!(late.is_triggered());
        late.triggered().await;
    }
}

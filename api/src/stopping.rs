//! How a node stops: the signals that stop it, the flag that tells long-lived responses, and the
//! deadline past which it exits regardless.
//!
//! A graceful stop lets requests in flight finish (up to 30 s), but a dashboard's live stream
//! never finishes by itself: without the [`Stopping`] flag, every open dashboard would hold the
//! stop for the whole grace period. Streams end when told (the browser reconnects to another
//! node); media streams of live calls are not told, so a caller is not cut off.
//!
//! A stop must also end: a second SIGINT or SIGTERM exits at once (the operator decided not to
//! wait), and [`exit_after`] ends a stop that hangs. Without it, a stop stuck past its grace —
//! seen once in a benchmark, with the HTTP workers still alive — left a node that no further
//! signal could end, because the signal handlers stay installed and swallow every later signal.

use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;

/// The exit code of a node that stopped without finishing its requests in flight.
pub const EXIT_STOP_FORCED: i32 = 1;

/// The node's "stopping" flag, set once.
#[derive(Debug)]
pub struct Stopping(watch::Sender<bool>);

impl Default for Stopping {
    fn default() -> Self {
        Self(watch::channel(false).0)
    }
}

impl Stopping {
    /// Sets the flag: every [`Stopping::subscribe`]r wakes.
    pub fn begin(&self) {
        self.0.send_replace(true);
    }

    /// A receiver whose `wait_for(|stopping| *stopping)` resolves once the node is stopping.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

/// SIGINT and SIGTERM, listened to from the start, so that a second one is not missed while the
/// first is being handled.
#[derive(Debug)]
pub struct StopSignals {
    interrupt: Option<Signal>,
    terminate: Option<Signal>,
}

impl StopSignals {
    /// Listens for both; one that cannot be listened to is logged and never arrives.
    pub fn listen() -> Self {
        let listen = |kind: SignalKind, name: &str| match signal(kind) {
            Ok(signal) => Some(signal),
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for {name}");
                None
            }
        };
        Self {
            interrupt: listen(SignalKind::interrupt(), "SIGINT"),
            terminate: listen(SignalKind::terminate(), "SIGTERM"),
        }
    }

    /// Resolves at the next SIGINT or SIGTERM, naming which.
    pub async fn next(&mut self) -> &'static str {
        async fn arrival(signal: Option<&mut Signal>) {
            match signal {
                Some(signal) => {
                    if signal.recv().await.is_none() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = arrival(self.interrupt.as_mut()) => "SIGINT",
            () = arrival(self.terminate.as_mut()) => "SIGTERM",
        }
    }
}

/// Exits the process with [`EXIT_STOP_FORCED`] if it is still running `after` from now. Runs on
/// a thread of its own, so a stop that blocks the async runtime's threads cannot hold it up; a
/// process that ends first takes the thread with it.
pub fn exit_after(after: Duration) {
    let deadline = std::thread::Builder::new()
        .name("stop-deadline".to_owned())
        .spawn(move || {
            std::thread::sleep(after);
            tracing::error!(
                seconds = after.as_secs(),
                "the node did not stop in time; exiting without waiting any longer"
            );
            std::process::exit(EXIT_STOP_FORCED);
        });
    if let Err(err) = deadline {
        tracing::error!(error = %err, "cannot watch the stop's deadline");
    }
}

/// Exits the process at once with [`EXIT_STOP_FORCED`]: a second stop signal arrived.
pub fn exit_now(signal: &str) -> ! {
    tracing::warn!(
        signal,
        "a second stop signal: exiting without waiting for requests in flight"
    );
    std::process::exit(EXIT_STOP_FORCED);
}

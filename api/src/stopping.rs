//! Tells long-lived responses that the node is stopping. A graceful stop lets requests in
//! flight finish (up to 30 s), but a dashboard's live stream never finishes by itself: without
//! this, every open dashboard would hold the stop for the whole grace period. Streams end when
//! told (the browser reconnects to another node); media streams of live calls are not told, so a
//! caller is not cut off.

use tokio::sync::watch;

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

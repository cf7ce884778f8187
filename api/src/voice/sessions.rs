//! How many media streams this node is serving right now.
//!
//! Every task and socket of a call must end with the call; a leak shows up here as a count that
//! never returns to zero. Each stream holds a [`LiveSession`] for as long as anything of it
//! runs, and the count is exported as the gauge `callassist_voice_sessions_live`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use prometheus::IntGauge;

/// The live media streams of one application; clones share the count.
#[derive(Debug, Clone, Default)]
pub struct VoiceSessions {
    live: Arc<AtomicUsize>,
    gauge: Option<IntGauge>,
}

impl VoiceSessions {
    /// A count at zero, not exported.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also reports the count to `gauge`.
    pub fn with_gauge(mut self, gauge: IntGauge) -> Self {
        self.gauge = Some(gauge);
        self
    }

    /// How many streams are live.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Counts a stream until the returned guard is dropped.
    pub fn enter(&self) -> LiveSession {
        self.live.fetch_add(1, Ordering::SeqCst);
        if let Some(gauge) = &self.gauge {
            gauge.inc();
        }
        LiveSession {
            sessions: self.clone(),
        }
    }
}

/// One live stream; dropping it ends its count.
#[derive(Debug)]
pub struct LiveSession {
    sessions: VoiceSessions,
}

impl Drop for LiveSession {
    fn drop(&mut self) {
        self.sessions.live.fetch_sub(1, Ordering::SeqCst);
        if let Some(gauge) = &self.sessions.gauge {
            gauge.dec();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_count_live_sessions_until_their_guards_are_dropped() {
        let gauge = IntGauge::new("live", "live sessions").unwrap();
        let sessions = VoiceSessions::new().with_gauge(gauge.clone());

        let first = sessions.enter();
        let second = sessions.clone().enter();
        assert_eq!(sessions.live(), 2);
        assert_eq!(gauge.get(), 2);

        drop(first);
        drop(second);
        assert_eq!(sessions.live(), 0);
        assert_eq!(gauge.get(), 0);
    }
}

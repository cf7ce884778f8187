//! Retrying without flooding the log: capped exponential backoff with jitter, and an outage
//! that is logged once when it starts and once when it ends.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// Capped exponential backoff with jitter (each pause is between half and all of the nominal).
#[derive(Debug, Clone)]
pub(super) struct Backoff {
    min: Duration,
    max: Duration,
    nominal: Option<Duration>,
}

impl Backoff {
    pub(super) fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            nominal: None,
        }
    }

    /// The nominal pause after one more failure: `min`, then doubling, at most `max`.
    pub(super) fn step(&mut self) -> Duration {
        let next = self
            .nominal
            .map_or(self.min, |pause| pause.saturating_mul(2).min(self.max));
        self.nominal = Some(next);
        next
    }

    pub(super) fn next_pause(&mut self) -> Duration {
        let nominal = self.step();
        rand::thread_rng().gen_range(nominal / 2..=nominal)
    }

    pub(super) fn reset(&mut self) {
        self.nominal = None;
    }
}

/// An error with its causes, on one line, for the log.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        // Some errors (lapin's among them) already print their cause.
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Logs an outage once when it starts and once when it ends, not on every retry.
pub(super) struct Outage {
    service: &'static str,
    since: Option<Instant>,
    backoff: Backoff,
}

impl Outage {
    pub(super) fn new(service: &'static str, backoff: Backoff) -> Self {
        Self {
            service,
            since: None,
            backoff,
        }
    }

    /// Logs the failure (a warning at the start of an outage); returns how long to wait.
    pub(super) fn failed(&mut self, error: &dyn std::error::Error) -> Duration {
        let pause = self.backoff.next_pause();
        if self.since.is_none() {
            self.since = Some(Instant::now());
            tracing::warn!(error = %chain(error), "relay cannot reach {}; retrying with backoff, events wait in the store", self.service);
        } else {
            tracing::debug!(error = %chain(error), retry_in = ?pause, "{} still unreachable", self.service);
        }
        pause
    }

    pub(super) fn recovered(&mut self) {
        self.backoff.reset();
        if let Some(since) = self.since.take() {
            tracing::info!(down_for = ?since.elapsed(), "relay reached {} again; catching up", self.service);
        }
    }
}

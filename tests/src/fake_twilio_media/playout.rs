//! Twilio's play-out of the audio we send on a Media Stream, modelled in time.
//!
//! Twilio buffers every `media` message and plays it in real time; a `mark` is echoed once
//! the audio sent before it has played; a `clear` drops what has not played yet, with its
//! pending marks. Pure: every call takes the current instant, so it can be tested without a
//! socket.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Play-out time of `bytes` of 8 kHz μ-law (125 µs a byte).
#[must_use]
pub fn audio_duration(bytes: usize) -> Duration {
    Duration::from_micros(bytes as u64 * 125)
}

/// The caller's loudspeaker.
#[derive(Debug, Default, Clone)]
pub struct Playout {
    /// When the audio queued so far ends playing (`None`: nothing was ever queued).
    queue_end: Option<Instant>,
    /// Marks waiting for their audio, with the instant it ends.
    pending: VecDeque<(String, Instant)>,
}

/// What a `clear` dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Audio that had not played yet.
    pub audio: Duration,
    /// The marks that will never be echoed.
    pub marks: Vec<String>,
}

impl Playout {
    /// Queues `bytes` of audio behind what is already queued.
    pub fn push_audio(&mut self, now: Instant, bytes: usize) {
        let start = self.queue_end.map_or(now, |end| end.max(now));
        self.queue_end = Some(start + audio_duration(bytes));
    }

    /// Queues a mark behind the audio queued so far; [`Playout::due_marks`] releases it once
    /// that audio has played (at once when nothing is left to play).
    pub fn push_mark(&mut self, now: Instant, name: String) {
        let at = self.queue_end.map_or(now, |end| end.max(now));
        self.pending.push_back((name, at));
    }

    /// Marks whose audio has played by `now`, in order.
    pub fn due_marks(&mut self, now: Instant) -> Vec<String> {
        let mut due = Vec::new();
        while let Some((_, at)) = self.pending.front() {
            if *at > now {
                break;
            }
            if let Some((name, _)) = self.pending.pop_front() {
                due.push(name);
            }
        }
        due
    }

    /// When the next pending mark is due.
    #[must_use]
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.front().map(|(_, at)| *at)
    }

    /// Audio queued and not yet played at `now`.
    #[must_use]
    pub fn buffered(&self, now: Instant) -> Duration {
        self.queue_end
            .map_or(Duration::ZERO, |end| end.saturating_duration_since(now))
    }

    /// Drops the unplayed audio and its pending marks.
    pub fn clear(&mut self, now: Instant) -> Dropped {
        let audio = self.buffered(now);
        if audio > Duration::ZERO {
            self.queue_end = Some(now);
        }
        Dropped {
            audio,
            marks: self.pending.drain(..).map(|(name, _)| name).collect(),
        }
    }
}

//! The caller's end of a simulated media stream, in time: Twilio's play-out of the agent's
//! audio (marks echoed once what precedes them has played, `clear` drops the rest), the
//! caller's microphone (silence, then a tone for speech once the agent has been heard), and
//! the lines to print.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;

use crate::voice::demo_agent::audio::{Tone, BYTES_PER_SECOND, FRAME_BYTES, SILENCE};

/// How long after the agent's first words have played the caller starts speaking.
const SPEECH_DELAY: Duration = Duration::from_millis(300);
/// How long the caller speaks.
const SPEECH: Duration = Duration::from_secs(1);
/// Agent audio is reported once none has arrived for this long.
pub(super) const BURST_GAP: Duration = Duration::from_millis(150);

/// A message from the server.
#[derive(Deserialize)]
struct FromServer {
    event: String,
    media: Option<Payload>,
    mark: Option<MarkName>,
}

#[derive(Deserialize)]
struct Payload {
    payload: String,
}

#[derive(Deserialize)]
struct MarkName {
    name: String,
}

/// Whether and when the caller speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Speech {
    /// Waiting for the agent's first words to play.
    #[default]
    Waiting,
    /// Will speak from then until then.
    At(Instant, Instant),
    /// Has spoken.
    Done,
}

/// The caller's end of the stream, in time: the loudspeaker (Twilio's play-out of the agent's
/// audio: 8 bytes a millisecond, marks released once what precedes them has played, `clear`
/// drops the rest), the microphone, and the lines to print. Pure: every call takes the instant.
#[derive(Debug, Default)]
pub(super) struct Caller {
    /// When the audio queued so far ends playing.
    queue_end: Option<Instant>,
    /// Marks waiting for their audio, with the instant it ends.
    pending: VecDeque<(String, Instant)>,
    speech: Speech,
    tone: Option<Tone>,
    /// Agent audio of the burst being received: bytes, chunks, marks, and when it last grew.
    burst: Option<(usize, usize, usize, Instant)>,
    /// Marks echoed since the last report of them.
    echoed: usize,
    /// Agent audio received in all.
    pub(super) agent_audio: Duration,
    /// Marks echoed in all.
    pub(super) marks_echoed: usize,
    /// `clear`s received.
    pub(super) clears: usize,
    /// What to print.
    pub(super) lines: Vec<String>,
}

impl Caller {
    /// A message from the server at `now`.
    pub(super) fn on_server(&mut self, now: Instant, text: &str) {
        let Ok(message) = serde_json::from_str::<FromServer>(text) else {
            self.lines
                .push(format!("← (a message Twilio would not understand: {text})"));
            return;
        };
        match (message.event.as_str(), message.media, message.mark) {
            ("media", Some(media), _) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(media.payload)
                    .map_or(0, |audio| audio.len());
                let start = self.queue_end.map_or(now, |end| end.max(now));
                self.queue_end = Some(start + play_time(bytes));
                self.agent_audio += play_time(bytes);
                let burst = self.burst.get_or_insert((0, 0, 0, now));
                burst.0 += bytes;
                burst.1 += 1;
                burst.3 = now;
            }
            ("mark", _, Some(mark)) => {
                let at = self.queue_end.map_or(now, |end| end.max(now));
                self.pending.push_back((mark.name, at));
                if let Some(burst) = &mut self.burst {
                    burst.2 += 1;
                }
            }
            ("clear", _, _) => {
                self.report_burst();
                let unplayed = self
                    .queue_end
                    .map_or(Duration::ZERO, |end| end.saturating_duration_since(now));
                self.queue_end = self.queue_end.map(|end| end.min(now));
                let dropped = self.pending.len();
                self.pending.clear();
                self.clears += 1;
                self.lines.push(format!(
                    "← clear: {:.2} s of unplayed agent audio and {dropped} marks dropped",
                    unplayed.as_secs_f64()
                ));
            }
            (other, _, _) => self
                .lines
                .push(format!("← (an unexpected {other:?} message: {text})")),
        }
    }

    /// The marks whose audio has played by `now`, in order, to echo.
    pub(super) fn due_marks(&mut self, now: Instant) -> Vec<String> {
        self.flush(now);
        let mut due = Vec::new();
        while self.pending.front().is_some_and(|(_, at)| *at <= now) {
            if let Some((name, _)) = self.pending.pop_front() {
                due.push(name);
            }
        }
        self.echoed += due.len();
        self.marks_echoed += due.len();
        if self.echoed > 0 && self.pending.is_empty() {
            self.lines.push(format!(
                "→ marks echoed: {} (all the agent audio sent so far has played)",
                std::mem::take(&mut self.echoed)
            ));
        }
        if self.speech == Speech::Waiting && self.agent_audio > Duration::ZERO && self.is_quiet(now)
        {
            self.speech = Speech::At(now + SPEECH_DELAY, now + SPEECH_DELAY + SPEECH);
        }
        due
    }

    /// Reports the burst of agent audio once none has come for a while.
    pub(super) fn flush(&mut self, now: Instant) {
        if self
            .burst
            .is_some_and(|(.., last)| now.saturating_duration_since(last) >= BURST_GAP)
        {
            self.report_burst();
        }
    }

    fn report_burst(&mut self) {
        if let Some((bytes, chunks, marks, _)) = self.burst.take() {
            self.lines.push(format!(
                "← agent audio: {:.2} s in {chunks} chunks, {marks} marks",
                play_time(bytes).as_secs_f64()
            ));
        }
    }

    /// Whether nothing is playing or waiting to be echoed at `now`.
    fn is_quiet(&self, now: Instant) -> bool {
        self.pending.is_empty()
            && self.queue_end.is_none_or(|end| end <= now)
            && self.burst.is_none()
    }

    /// When something is next due: a mark, a burst report, the caller's speech.
    pub(super) fn next_wake(&self) -> Option<Instant> {
        let mark = self.pending.front().map(|(_, at)| *at);
        let burst = self.burst.map(|(.., last)| last + BURST_GAP);
        [mark, burst].into_iter().flatten().min()
    }

    /// The caller's next 20 ms at `now`: silence, or the tone while speaking.
    pub(super) fn next_frame(&mut self, now: Instant) -> Vec<u8> {
        match self.speech {
            Speech::At(from, until) if now >= from && now < until => {
                let tone = self.tone.get_or_insert_with(|| {
                    self.lines.push(format!(
                        "    (the caller speaks: {:.1} s of a tone, then silence)",
                        SPEECH.as_secs_f64()
                    ));
                    Tone::new(300, 10_000)
                });
                tone.next(FRAME_BYTES)
            }
            Speech::At(_, until) if now >= until => {
                self.speech = Speech::Done;
                vec![SILENCE; FRAME_BYTES]
            }
            _ => vec![SILENCE; FRAME_BYTES],
        }
    }
}

/// Play-out time of `bytes` of 8 kHz μ-law.
fn play_time(bytes: usize) -> Duration {
    Duration::from_micros(bytes as u64 * 1_000_000 / BYTES_PER_SECOND as u64)
}

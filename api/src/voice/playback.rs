//! What the caller has heard of the agent, for barge-in (`docs/PROTOCOLS.md` §7).
//!
//! Twilio plays the agent's audio in real time from a buffer that may hold seconds of it, so
//! "sent" is not "heard". Each audio chunk we send is followed by a mark that Twilio echoes
//! once the chunk has played; the Twilio `timestamp` of the caller's frames is the stream's
//! clock. When the caller starts speaking while marks are pending, the agent's item is cut at
//! what was played — the latest Twilio timestamp minus the one at which the item's first audio
//! was sent, never more than the audio sent — and the marks are forgotten (Twilio's `clear`
//! drops the rest). Pure bookkeeping, no I/O: the bridge acts on what it returns.
//!
//! A mark follows every [`MARK_EVERY_MS`] of audio, not every chunk: OpenAI may send 20 ms
//! deltas, and a mark per delta would double the messages both ways (each echo is a read and a
//! parse). The cut does not depend on marks (it comes from Twilio's clock), so coarser marks
//! only make "has everything played" known up to that much later. When an item's audio ends, the
//! bridge asks for a mark after whatever is not marked yet ([`Playback::audio_paused`]).

use std::collections::{HashMap, VecDeque};

/// μ-law at 8 kHz: one byte per sample, eight bytes per millisecond.
const BYTES_PER_MS: u64 = 8;
/// The least audio between two marks while the agent keeps speaking.
pub const MARK_EVERY_MS: u64 = 100;

/// Where to cut the agent's item after a barge-in: `conversation.item.truncate`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// The agent's item that was playing.
    pub item_id: String,
    /// How much of its audio the caller heard, in milliseconds.
    pub audio_end_ms: u64,
}

/// The agent item whose audio was sent last.
#[derive(Debug, Clone)]
struct Playing {
    item_id: String,
    /// The latest Twilio timestamp when its first audio was sent.
    started_at_ms: u64,
    /// μ-law bytes sent to Twilio for it.
    bytes_sent: u64,
}

/// The barge-in bookkeeping of one call.
#[derive(Debug, Default)]
pub struct Playback {
    latest_twilio_ms: u64,
    playing: Option<Playing>,
    pending_marks: VecDeque<String>,
    /// Audio sent after the last mark.
    unmarked_bytes: u64,
    marks_sent: u64,
    /// Items cut by a barge-in, with the milliseconds heard: their late audio is dropped and
    /// their transcript shortened.
    interrupted: HashMap<String, u64>,
}

impl Playback {
    /// A call where nothing has played yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A caller frame arrived with Twilio's `timestamp`: the stream's clock moved on.
    pub fn caller_audio(&mut self, timestamp_ms: u64) {
        self.latest_twilio_ms = self.latest_twilio_ms.max(timestamp_ms);
    }

    /// The latest Twilio timestamp seen.
    pub fn latest_twilio_ms(&self) -> u64 {
        self.latest_twilio_ms
    }

    /// An audio chunk of `bytes` μ-law bytes of `item_id` is sent to Twilio; returns the name
    /// of the mark to send after it (unique within the call) once [`MARK_EVERY_MS`] of audio
    /// went unmarked, `None` before.
    pub fn agent_audio(&mut self, item_id: &str, bytes: u64) -> Option<String> {
        match &mut self.playing {
            Some(playing) if playing.item_id == item_id => playing.bytes_sent += bytes,
            _ => {
                self.playing = Some(Playing {
                    item_id: item_id.to_owned(),
                    started_at_ms: self.latest_twilio_ms,
                    bytes_sent: bytes,
                });
            }
        }
        self.unmarked_bytes += bytes;
        (self.unmarked_bytes >= MARK_EVERY_MS * BYTES_PER_MS).then(|| self.new_mark())
    }

    /// The agent's audio stopped for now (its item's audio or its response is done): the mark
    /// to send after the audio not marked yet, if there is any.
    pub fn audio_paused(&mut self) -> Option<String> {
        (self.unmarked_bytes > 0).then(|| self.new_mark())
    }

    fn new_mark(&mut self) -> String {
        self.unmarked_bytes = 0;
        self.marks_sent += 1;
        let name = format!("a{}", self.marks_sent);
        self.pending_marks.push_back(name.clone());
        name
    }

    /// Twilio echoed mark `name`: the audio before it has played. Marks come back in order, so
    /// earlier ones still pending are taken as played too. Returns whether the mark was pending
    /// (a mark from before a `clear` is not).
    pub fn mark_played(&mut self, name: &str) -> bool {
        match self
            .pending_marks
            .iter()
            .position(|pending| pending == name)
        {
            Some(at) => {
                self.pending_marks.drain(..=at);
                true
            }
            None => false,
        }
    }

    /// Whether audio sent to Twilio has not been heard yet.
    pub fn is_playing(&self) -> bool {
        !self.pending_marks.is_empty() || self.unmarked_bytes > 0
    }

    /// Whether `item_id` was cut by a barge-in (its late audio must not be played).
    pub fn was_interrupted(&self, item_id: &str) -> bool {
        self.interrupted.contains_key(item_id)
    }

    /// How much of `item_id` the caller heard before a barge-in cut it, if one did; forgets it.
    pub fn take_interruption(&mut self, item_id: &str) -> Option<u64> {
        self.interrupted.remove(item_id)
    }

    /// The caller started speaking. With audio still pending: where to cut the playing item,
    /// and the pending marks (and the audio not marked yet) are forgotten (the caller of this sends Twilio `clear`). Without:
    /// `None`, nothing to interrupt.
    pub fn barge_in(&mut self) -> Option<Truncation> {
        if !self.is_playing() {
            return None;
        }
        self.pending_marks.clear();
        self.unmarked_bytes = 0;
        let playing = self.playing.take()?;
        let played = self.latest_twilio_ms.saturating_sub(playing.started_at_ms);
        let audio_end_ms = played.min(playing.bytes_sent / BYTES_PER_MS);
        self.interrupted
            .insert(playing.item_id.clone(), audio_end_ms);
        Some(Truncation {
            item_id: playing.item_id,
            audio_end_ms,
        })
    }
}

/// The number of bytes a standard base64 text decodes to, without decoding it.
pub fn decoded_len(base64: &str) -> u64 {
    let text = base64.trim_end();
    let padding = text.bytes().rev().take_while(|b| *b == b'=').count().min(2);
    let len = text.len() as u64;
    (len / 4 * 3 + (len % 4).saturating_sub(1)).saturating_sub(padding as u64)
}

/// The part of an agent transcript the caller heard when `heard_ms` of `total_ms` of its audio
/// played: cut in proportion, at a word boundary, marked with an ellipsis. The Realtime API
/// sends the whole generated text even for a truncated item, so this is an estimate.
pub fn heard_part(transcript: &str, heard_ms: u64, total_ms: u64) -> String {
    let transcript = transcript.trim();
    if total_ms == 0 || heard_ms >= total_ms {
        return transcript.to_owned();
    }
    let chars = transcript.chars().count() as u64;
    let keep = usize::try_from(chars * heard_ms / total_ms).unwrap_or(usize::MAX);
    let cut: String = transcript.chars().take(keep).collect();
    let at_word = match transcript.chars().nth(keep) {
        Some(next) if !next.is_whitespace() => match cut.rfind(char::is_whitespace) {
            Some(space) => cut[..space].to_owned(),
            None => String::new(),
        },
        _ => cut,
    };
    let heard = at_word.trim_end();
    if heard.is_empty() {
        "…".to_owned()
    } else {
        format!("{heard}…")
    }
}

#[cfg(test)]
mod tests;

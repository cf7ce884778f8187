//! The demo agent's ears: a stand-in for server VAD that measures the caller's turn in audio —
//! speech is audio loud enough ([`audio::is_loud`]); the turn ends after half a second of
//! silence following speech, or after about 2 s of caller audio when nobody spoke. Caller audio
//! that arrives while the greeting plays is not counted.

use serde_json::json;

use super::super::audio;
use super::{Script, Stage, CALLBACK_NUMBER, CALLER_NAME, CALLER_TRANSCRIPT, MESSAGE};
use crate::voice::tools::TAKE_MESSAGE;

/// Caller audio after the greeting after which the caller's turn is taken, even in silence.
const TURN_AFTER_MS: u64 = 2_000;
/// Silence after speech that ends the caller's turn (like `server_vad`'s silence duration).
const END_OF_SPEECH_MS: u64 = 500;
/// The longest the caller may speak.
const LONGEST_TURN_MS: u64 = 8_000;

/// The caller's turn, measured in audio.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Listening {
    /// Caller audio still to be ignored: it arrives while the greeting plays.
    pub(super) ignore_ms: u64,
    /// Caller audio heard after the greeting.
    pub(super) heard_ms: u64,
    /// Where in the input the caller's speech started, and its item.
    pub(super) speech: Option<(u64, String)>,
    /// Silence since the speech.
    pub(super) quiet_ms: u64,
}

impl Script {
    /// Caller audio: the demo agent's voice activity detection.
    pub(super) fn hear(&mut self, audio: &[u8]) -> Vec<String> {
        let ms = audio::millis(audio.len());
        let at = self.input_ms;
        self.input_ms += ms;
        if !matches!(self.stage, Stage::Listening(_)) {
            return Vec::new();
        }
        let Stage::Listening(mut listening) = std::mem::replace(&mut self.stage, Stage::New) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if listening.ignore_ms > 0 {
            listening.ignore_ms = listening.ignore_ms.saturating_sub(ms);
        } else {
            listening.heard_ms += ms;
            if audio::is_loud(audio) {
                listening.quiet_ms = 0;
                if listening.speech.is_none() {
                    let item_id = self.id("item");
                    out.push(self.speech_started(at, &item_id));
                    listening.speech = Some((at, item_id));
                }
            } else if listening.speech.is_some() {
                listening.quiet_ms += ms;
            }
        }
        let over = listening.ignore_ms == 0
            && (listening.heard_ms >= LONGEST_TURN_MS
                || match listening.speech {
                    Some(_) => listening.quiet_ms >= END_OF_SPEECH_MS,
                    None => listening.heard_ms >= TURN_AFTER_MS,
                });
        if over {
            out.extend(self.caller_turn(listening));
        } else {
            self.stage = Stage::Listening(listening);
        }
        out
    }

    /// The caller's turn is over: what server VAD and transcription would say, then the agent
    /// takes the message.
    fn caller_turn(&mut self, listening: Listening) -> Vec<String> {
        let mut out = Vec::new();
        let (start_ms, item_id) = match listening.speech {
            Some(speech) => speech,
            None => {
                let item_id = self.id("item");
                let start_ms = self.input_ms.saturating_sub(listening.heard_ms);
                out.push(self.speech_started(start_ms, &item_id));
                (start_ms, item_id)
            }
        };
        let end_ms = self
            .input_ms
            .saturating_sub(listening.quiet_ms)
            .max(start_ms);
        out.push(self.event(json!({
            "type": "input_audio_buffer.speech_stopped",
            "audio_end_ms": end_ms,
            "item_id": item_id,
        })));
        out.push(self.event(json!({
            "type": "input_audio_buffer.committed",
            "previous_item_id": null,
            "item_id": item_id,
        })));
        let user_item = json!({
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": null}],
        });
        out.push(self.event(json!({
            "type": "conversation.item.added",
            "previous_item_id": null,
            "item": user_item,
        })));
        out.push(self.event(json!({
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": item_id,
            "content_index": 0,
            "transcript": CALLER_TRANSCRIPT,
        })));
        let arguments = json!({
            "caller_name": CALLER_NAME,
            "callback_number": CALLBACK_NUMBER,
            "message": MESSAGE,
            "urgency": "normal",
        });
        let (events, call_id) = self.respond(None, Some((TAKE_MESSAGE, arguments)));
        out.extend(events);
        self.stage = Stage::Taking(call_id.unwrap_or_default());
        out
    }

    fn speech_started(&mut self, audio_start_ms: u64, item_id: &str) -> String {
        self.event(json!({
            "type": "input_audio_buffer.speech_started",
            "audio_start_ms": audio_start_ms,
            "item_id": item_id,
        }))
    }
}

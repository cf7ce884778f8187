//! The demo agent's side of one session, as a pure state machine: a client event in, the server
//! events it causes out (GA names and shapes, `docs/PROTOCOLS.md` §6). No clock: the caller's
//! turn is decided by the caller audio appended, so tests drive it event by event.
//!
//! The script: greet (on the first `response.create`); listen until the caller has spoken and
//! fallen silent — or about 2 s of caller audio passed after the greeting — then act as server
//! VAD would (speech started and stopped, the input committed and transcribed) and call
//! `take_message`; once that is answered, confirm and call `end_call`; once that is answered,
//! say goodbye.

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::MODEL;
use crate::voice::tools::END_CALL;

mod listen;
mod respond;

use listen::Listening;

/// What the demo agent says first; it names itself, so a transcript shows who answered.
pub const GREETING: &str = "Hello, this is the built-in demo agent of Call Assistant. No OpenAI \
     key is configured, so this call is scripted. The owner cannot come to the phone; what may I \
     pass on?";
/// The caller's transcript (the demo agent does not understand audio).
pub const CALLER_TRANSCRIPT: &str = "(demo caller audio)";
/// The `take_message` arguments the demo agent sends.
pub const MESSAGE: &str = "This was a demo call: please call the demo caller back.";
/// Who the demo caller is.
pub const CALLER_NAME: &str = "Demo Caller";
/// Where the demo caller wants to be called back.
pub const CALLBACK_NUMBER: &str = "+15555550199";
const CONFIRMATION: &str = "Thank you, I have passed your message on to the owner.";
const GOODBYE: &str = "Goodbye, and have a nice day!";
const NOTHING_MORE: &str = "I am only the demo agent; I have nothing more to say.";

/// Something the agent says: its text and how long its audio plays.
struct Utterance {
    text: &'static str,
    millis: u64,
    hz: u32,
}

const SAY_GREETING: Utterance = Utterance {
    text: GREETING,
    millis: 1_500,
    hz: 440,
};
const SAY_CONFIRMATION: Utterance = Utterance {
    text: CONFIRMATION,
    millis: 1_000,
    hz: 494,
};
const SAY_GOODBYE: Utterance = Utterance {
    text: GOODBYE,
    millis: 600,
    hz: 392,
};
const SAY_NOTHING_MORE: Utterance = Utterance {
    text: NOTHING_MORE,
    millis: 500,
    hz: 330,
};

/// Where the script is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Not greeted yet.
    New,
    /// Listening to the caller.
    Listening(Listening),
    /// `take_message` was called; waiting for its output.
    Taking(String),
    /// Its output came: the next response confirms and calls `end_call`.
    Taken,
    /// `end_call` was called; waiting for its output.
    Ending(String),
    /// Its output came: the next response is the goodbye.
    Ended,
    /// Said goodbye.
    Done,
}

/// One session of the demo agent.
#[derive(Debug)]
pub struct Script {
    stage: Stage,
    /// All caller audio appended, in milliseconds (the input buffer's clock).
    input_ms: u64,
    next_id: u64,
    session_id: String,
}

#[derive(Deserialize)]
struct ClientEvent {
    #[serde(rename = "type")]
    kind: String,
    audio: Option<String>,
    session: Option<Value>,
    item: Option<Value>,
    item_id: Option<String>,
    content_index: Option<u32>,
    audio_end_ms: Option<u64>,
    event_id: Option<String>,
}

impl Default for Script {
    fn default() -> Self {
        Self::new()
    }
}

impl Script {
    /// A session that has not started.
    pub fn new() -> Self {
        Self {
            stage: Stage::New,
            input_ms: 0,
            next_id: 0,
            session_id: format!("sess_demo{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// `session.created`, sent as the socket opens.
    pub fn opening(&mut self) -> Vec<String> {
        let session = json!({
            "type": "realtime",
            "object": "realtime.session",
            "id": self.session_id,
            "model": MODEL,
            "output_modalities": ["audio"],
        });
        vec![self.event(json!({"type": "session.created", "session": session}))]
    }

    /// Whether the goodbye was said.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The server events answering one client event (none for events it ignores).
    pub fn on_client_event(&mut self, text: &str) -> Vec<String> {
        let event: ClientEvent = match serde_json::from_str(text) {
            Ok(event) => event,
            Err(err) => return vec![self.error("invalid_json", &err.to_string(), None)],
        };
        match event.kind.as_str() {
            "session.update" => {
                let mut session = event.session.unwrap_or_else(|| json!({}));
                if let Some(fields) = session.as_object_mut() {
                    fields.insert("id".into(), json!(self.session_id));
                    fields.insert("object".into(), json!("realtime.session"));
                    fields.insert("model".into(), json!(MODEL));
                }
                vec![self.event(json!({"type": "session.updated", "session": session}))]
            }
            "input_audio_buffer.append" => {
                let audio = event
                    .audio
                    .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok());
                match audio {
                    Some(audio) => self.hear(&audio),
                    None => vec![self.error(
                        "invalid_value",
                        "the audio is not base64",
                        event.event_id.as_deref(),
                    )],
                }
            }
            "conversation.item.create" => self.item_created(event.item.unwrap_or(Value::Null)),
            "response.create" => self.response_created(),
            "response.cancel" => vec![self.error(
                "response_cancel_not_active",
                "Cancellation failed: no active response found.",
                event.event_id.as_deref(),
            )],
            "conversation.item.truncate" => vec![self.event(json!({
                "type": "conversation.item.truncated",
                "item_id": event.item_id,
                "content_index": event.content_index.unwrap_or(0),
                "audio_end_ms": event.audio_end_ms.unwrap_or(0),
            }))],
            _ => Vec::new(),
        }
    }

    /// `conversation.item.create`: a function's output moves the script on.
    fn item_created(&mut self, mut item: Value) -> Vec<String> {
        let call_id = item
            .get("call_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match (&self.stage, call_id) {
            (Stage::Taking(expected), Some(call_id)) if *expected == call_id => {
                self.stage = Stage::Taken;
            }
            (Stage::Ending(expected), Some(call_id)) if *expected == call_id => {
                self.stage = Stage::Ended;
            }
            _ => {}
        }
        let id = self.id("item");
        if let Some(fields) = item.as_object_mut() {
            fields.entry("id").or_insert(json!(id));
            fields.insert("object".into(), json!("realtime.item"));
        }
        vec![self.event(json!({
            "type": "conversation.item.added",
            "previous_item_id": null,
            "item": item,
        }))]
    }

    /// `response.create`: what the agent says next depends on where the script is.
    fn response_created(&mut self) -> Vec<String> {
        match self.stage {
            Stage::New => {
                let (events, _) = self.respond(Some(&SAY_GREETING), None);
                self.stage = Stage::Listening(Listening {
                    ignore_ms: SAY_GREETING.millis,
                    ..Listening::default()
                });
                events
            }
            Stage::Taken => {
                let (events, call_id) =
                    self.respond(Some(&SAY_CONFIRMATION), Some((END_CALL, json!({}))));
                self.stage = Stage::Ending(call_id.unwrap_or_default());
                events
            }
            Stage::Ended => {
                let (events, _) = self.respond(Some(&SAY_GOODBYE), None);
                self.stage = Stage::Done;
                events
            }
            _ => self.respond(Some(&SAY_NOTHING_MORE), None).0,
        }
    }

    fn error(&mut self, code: &str, message: &str, client_event_id: Option<&str>) -> String {
        self.event(json!({
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "code": code,
                "message": message,
                "param": null,
                "event_id": client_event_id,
            },
        }))
    }

    /// A fresh id with `prefix`.
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_demo{:06}", self.next_id)
    }

    /// `event` as text, with an `event_id`.
    fn event(&mut self, mut event: Value) -> String {
        event["event_id"] = json!(self.id("event"));
        event.to_string()
    }
}

//! [`RealtimeSession`]: a test's handle on one session of the fake Realtime server — what the
//! client sent, and server events to inject at will.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use super::wire::Interface;
use super::ScriptedResponse;
use crate::fake_twilio_media::changes::Changes;

/// The upgrade request a session was opened with.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// Path and query, e.g. `/v1/realtime?model=gpt-realtime`.
    pub uri: String,
    /// Every header, names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Handshake {
    /// The value of header `name` (case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What one session recorded.
#[derive(Debug, Default)]
pub struct SessionRecord {
    /// Every client event, parsed, in order (a frame that is not JSON is kept as a string).
    pub client_events: Vec<Value>,
    /// Every server event sent, in order.
    pub server_events: Vec<Value>,
    /// The session configuration as it stands (defaults merged with every accepted update).
    pub session: Value,
    /// Bytes appended to the input audio buffer.
    pub appended_bytes: u64,
    /// The appended bytes themselves (unless the behaviour asks not to keep audio).
    pub appended_audio: Vec<u8>,
    /// Agent audio bytes sent in deltas.
    pub audio_sent_bytes: u64,
    /// `conversation.item.truncate` events received.
    pub truncates: Vec<Value>,
    /// What the real server would have refused or done differently (wrong interface, audio
    /// format, unknown event…); empty when the client spoke the protocol.
    pub violations: Vec<String>,
    /// Why the socket ended, once it has.
    pub closed: Option<String>,
}

/// What a test asks the session task to do.
#[derive(Debug)]
pub(crate) enum Command {
    SpeechStarted,
    SpeechStopped,
    CallerSays(String),
    FunctionCall {
        call_id: String,
        name: String,
        arguments: String,
    },
    Error {
        kind: String,
        code: String,
        message: String,
    },
    Respond(Option<ScriptedResponse>),
    Send(Value),
    Expire,
    Disconnect,
}

pub(crate) struct SessionShared {
    pub(crate) record: Mutex<SessionRecord>,
    pub(crate) changes: Changes,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) index: usize,
    pub(crate) interface: Interface,
    pub(crate) handshake: Handshake,
}

impl SessionShared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, SessionRecord> {
        self.record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the record and wakes the waiters.
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut SessionRecord) -> T) -> T {
        let result = change(&mut self.lock());
        self.changes.bump();
        result
    }
}

/// A handle on one session (cheap to clone).
#[derive(Clone)]
pub struct RealtimeSession {
    pub(crate) shared: Arc<SessionShared>,
}

impl std::fmt::Debug for RealtimeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealtimeSession")
            .field("index", &self.shared.index)
            .finish_non_exhaustive()
    }
}

impl RealtimeSession {
    /// Its position among the server's sessions (0 for the first).
    #[must_use]
    pub fn index(&self) -> usize {
        self.shared.index
    }

    /// The interface it speaks.
    #[must_use]
    pub fn interface(&self) -> Interface {
        self.shared.interface
    }

    /// The upgrade request.
    #[must_use]
    pub fn handshake(&self) -> &Handshake {
        &self.shared.handshake
    }

    /// Reads the record.
    pub fn with_record<T>(&self, read: impl FnOnce(&SessionRecord) -> T) -> T {
        read(&self.shared.lock())
    }

    /// Every client event, in order.
    #[must_use]
    pub fn client_events(&self) -> Vec<Value> {
        self.with_record(|record| record.client_events.clone())
    }

    /// The client events of this `type`, in order.
    #[must_use]
    pub fn client_events_of(&self, kind: &str) -> Vec<Value> {
        self.with_record(|record| {
            record
                .client_events
                .iter()
                .filter(|event| event["type"] == kind)
                .cloned()
                .collect()
        })
    }

    /// Every server event sent, in order.
    #[must_use]
    pub fn server_events(&self) -> Vec<Value> {
        self.with_record(|record| record.server_events.clone())
    }

    /// The session configuration as it stands (after the accepted `session.update`s).
    #[must_use]
    pub fn session_config(&self) -> Value {
        self.with_record(|record| record.session.clone())
    }

    /// Bytes appended to the input audio buffer so far.
    #[must_use]
    pub fn appended_audio_bytes(&self) -> u64 {
        self.with_record(|record| record.appended_bytes)
    }

    /// The appended bytes themselves.
    #[must_use]
    pub fn appended_audio(&self) -> Vec<u8> {
        self.with_record(|record| record.appended_audio.clone())
    }

    /// Agent audio bytes sent so far.
    #[must_use]
    pub fn audio_sent_bytes(&self) -> u64 {
        self.with_record(|record| record.audio_sent_bytes)
    }

    /// `conversation.item.truncate` events received.
    #[must_use]
    pub fn truncates(&self) -> Vec<Value> {
        self.with_record(|record| record.truncates.clone())
    }

    /// Protocol violations seen; empty when the client spoke the protocol.
    #[must_use]
    pub fn violations(&self) -> Vec<String> {
        self.with_record(|record| record.violations.clone())
    }

    /// Why the socket ended, once it has.
    #[must_use]
    pub fn closed(&self) -> Option<String> {
        self.with_record(|record| record.closed.clone())
    }

    /// The ids of the agent's audio items, in order.
    #[must_use]
    pub fn agent_item_ids(&self) -> Vec<String> {
        self.with_record(|record| {
            record
                .server_events
                .iter()
                .filter(|event| {
                    event["type"] == "response.output_item.added"
                        && event["item"]["type"] == "message"
                })
                .filter_map(|event| event["item"]["id"].as_str().map(str::to_owned))
                .collect()
        })
    }

    /// Waits until `predicate` holds on the client events; returns them.
    ///
    /// # Panics
    /// After `timeout`, listing the event types received.
    pub async fn wait_for(
        &self,
        predicate: impl Fn(&[Value]) -> bool,
        timeout: Duration,
    ) -> Vec<Value> {
        self.wait_until(|record| predicate(&record.client_events), timeout)
            .await;
        self.client_events()
    }

    /// Waits for the first client event of this `type`; returns it.
    ///
    /// # Panics
    /// After `timeout`.
    pub async fn wait_for_event(&self, kind: &str, timeout: Duration) -> Value {
        self.wait_for(
            |events| events.iter().any(|event| event["type"] == kind),
            timeout,
        )
        .await
        .into_iter()
        .find(|event| event["type"] == kind)
        .unwrap_or_default()
    }

    /// Waits until `predicate` holds on the whole record.
    ///
    /// # Panics
    /// After `timeout`, listing the event types received.
    pub async fn wait_until(&self, predicate: impl Fn(&SessionRecord) -> bool, timeout: Duration) {
        let met = self
            .shared
            .changes
            .wait_until(|| predicate(&self.shared.lock()), timeout)
            .await;
        if !met {
            let summary = self.with_record(|record| {
                let types: Vec<String> = record
                    .client_events
                    .iter()
                    .filter(|event| event["type"] != "input_audio_buffer.append")
                    .map(|event| event["type"].as_str().unwrap_or("?").to_owned())
                    .collect();
                format!(
                    "client events other than appends: {types:?}; {} bytes appended; closed: {:?}; \
                     violations: {:?}",
                    record.appended_bytes, record.closed, record.violations
                )
            });
            panic!(
                "fake OpenAI session {}: condition not met within {timeout:?}: {summary}",
                self.shared.index
            );
        }
    }

    /// Waits until the socket is closed; returns why.
    ///
    /// # Panics
    /// When it is still open after `timeout`.
    pub async fn wait_closed(&self, timeout: Duration) -> String {
        self.wait_until(|record| record.closed.is_some(), timeout)
            .await;
        self.closed().unwrap_or_default()
    }

    fn command(&self, command: Command) {
        let _ = self.shared.commands.send(command);
    }

    /// `input_audio_buffer.speech_started`; cancels the response in progress (`response.done`
    /// status `cancelled`, reason `turn_detected`) when the session's turn detection has
    /// `interrupt_response` on (the default).
    pub fn speech_started(&self) {
        self.command(Command::SpeechStarted);
    }

    /// `input_audio_buffer.speech_stopped`, `…committed` and the caller's item; then a response
    /// when turn detection has `create_response` on (the default) and none is in progress.
    pub fn speech_stopped(&self) {
        self.command(Command::SpeechStopped);
    }

    /// `conversation.item.input_audio_transcription.completed` with `text`, for the caller's
    /// latest item.
    pub fn caller_says(&self, text: &str) {
        self.command(Command::CallerSays(text.to_owned()));
    }

    /// A whole caller turn: speech started, stopped (which may start a response), transcript.
    pub fn caller_turn(&self, text: &str) {
        self.speech_started();
        self.speech_stopped();
        self.caller_says(text);
    }

    /// A response calling the function `name` with `arguments` (a JSON string); returns its
    /// `call_id`. Plays after the response in progress, if any.
    pub fn function_call(&self, name: &str, arguments: &str) -> String {
        let call_id = format!("call_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        self.command(Command::FunctionCall {
            call_id: call_id.clone(),
            name: name.to_owned(),
            arguments: arguments.to_owned(),
        });
        call_id
    }

    /// An audio response started by the server (as VAD or an idle timeout would), with the
    /// next scripted audio or `script`. Plays after the response in progress, if any.
    pub fn respond(&self, script: Option<ScriptedResponse>) {
        self.command(Command::Respond(script));
    }

    /// An `error` event; the session goes on.
    pub fn error(&self, kind: &str, code: &str, message: &str) {
        self.command(Command::Error {
            kind: kind.to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
        });
    }

    /// Any server event, as it is (`event_id` added when missing).
    pub fn send_event(&self, event: Value) {
        self.command(Command::Send(event));
    }

    /// The session hits its maximum length: `error` `session_expired`, then close (1001).
    pub fn expire(&self) {
        self.command(Command::Expire);
    }

    /// Closes the socket abruptly (no close frame).
    pub fn disconnect(&self) {
        self.command(Command::Disconnect);
    }
}

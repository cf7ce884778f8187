//! The OpenAI Realtime API's wire protocol: connecting, the client events we send and the
//! server events the voice bridge acts on (`docs/PROTOCOLS.md` §6).
//!
//! The bridge relays a call's audio both ways for its whole length, so this layer is on the
//! hot path: appends are written into one pre-sized string, and every server event is read in
//! one serde pass that copies only the fields the bridge uses (about 0.4 µs for a 20 ms audio
//! delta, measured in release). Server events of both interfaces are reduced to [`ServerEvent`]
//! (beta names mapped to GA names first); unknown events are [`ServerEvent::Other`], never
//! errors. `error` events are classified ([`ErrorKind`]): most answer one client event and the
//! session goes on. async-openai's types are used where they match the wire exactly; where they
//! do not, the module that deviates says why (`client.rs`, `server.rs`).

use std::borrow::Cow;
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

mod client;
mod connect;
mod server;

pub use client::{
    append_audio, function_call_output, response_cancel, response_create, session_update, truncate,
};
pub use connect::{connect, realtime_url};
pub use server::parse_server_event;

/// The WebSocket to OpenAI; the bridge splits it into a sink and a stream.
pub type RealtimeSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Which generation of the Realtime API to speak (`OPENAI_REALTIME_INTERFACE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interface {
    /// The generally available interface (`gpt-realtime`), the default.
    #[default]
    Ga,
    /// The older beta interface (`OpenAI-Beta: realtime=v1`, `gpt-4o-realtime-preview`).
    Beta,
}

impl Interface {
    /// Reads `ga` or `beta` (any case).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "ga" => Some(Self::Ga),
            "beta" => Some(Self::Beta),
            _ => None,
        }
    }
}

/// What a session is configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// The model; it is chosen by the connection URL (`?model=`), see [`realtime_url`].
    pub model: String,
    /// The voice, e.g. `marin`.
    pub voice: String,
    /// The agent's instructions.
    pub instructions: String,
    /// Functions the agent may call.
    pub tools: Vec<Tool>,
}

/// A function the agent may call.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// The function's name.
    pub name: String,
    /// What it does and when to call it, for the model.
    pub description: String,
    /// Its arguments, as a JSON Schema.
    pub parameters: serde_json::Value,
}

/// Whether an `error` event ends the session for the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// It answers one client event; log it and go on.
    Harmless,
    /// Authentication, quota, an expired session or a server failure: fall back.
    Fatal,
}

/// The final state of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseStatus {
    /// Spoken to the end.
    Completed,
    /// Cancelled (barge-in or `response.cancel`).
    Cancelled,
    /// Failed.
    Failed,
    /// Cut short (e.g. token limit).
    Incomplete,
    /// Still going (not expected in `response.done`).
    InProgress,
}

/// A server event, reduced to what the voice bridge needs. Agent audio borrows from the text it
/// was read from (fifty deltas a second per call: no copies on the hot path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent<'a> {
    /// `session.created`.
    SessionCreated,
    /// `session.updated`: our `session.update` was applied.
    SessionUpdated,
    /// The caller started speaking (server VAD).
    SpeechStarted {
        /// The caller's item that will be created.
        item_id: String,
        /// Milliseconds into the input audio.
        audio_start_ms: u64,
    },
    /// The caller stopped speaking.
    SpeechStopped,
    /// A response started.
    ResponseCreated {
        /// `resp_…`.
        response_id: String,
    },
    /// Agent audio (GA `response.output_audio.delta`, beta `response.audio.delta`).
    AudioDelta {
        /// The response it belongs to.
        response_id: Cow<'a, str>,
        /// The agent's item being spoken.
        item_id: Cow<'a, str>,
        /// The content part within the item.
        content_index: u32,
        /// Base64 μ-law, to be passed to Twilio untouched.
        delta: Cow<'a, str>,
    },
    /// The agent's item has no more audio.
    AudioDone {
        /// The agent's item.
        item_id: String,
    },
    /// What the agent said in one item.
    AgentTranscriptDone {
        /// The agent's item.
        item_id: String,
        /// The text.
        transcript: String,
    },
    /// What the caller said in one item.
    CallerTranscriptDone {
        /// The caller's item.
        item_id: String,
        /// The text.
        transcript: String,
    },
    /// The caller's speech could not be transcribed.
    CallerTranscriptFailed {
        /// The caller's item.
        item_id: String,
    },
    /// The agent calls a function (`response.function_call_arguments.done`).
    FunctionCall {
        /// Answer with [`function_call_output`] under this id.
        call_id: String,
        /// The function; `None` on the beta interface: take it from [`ServerEvent::OutputItemAdded`].
        name: Option<String>,
        /// The arguments, a JSON string.
        arguments: String,
    },
    /// A response added an output item (`response.output_item.added`).
    OutputItemAdded {
        /// The item.
        item_id: String,
        /// `(call_id, name)` when the item is a function call.
        function_call: Option<(String, String)>,
    },
    /// A response ended.
    ResponseDone {
        /// `resp_…`.
        response_id: String,
        /// How it ended.
        status: ResponseStatus,
    },
    /// An `error` event.
    Error {
        /// Whether the session can go on.
        kind: ErrorKind,
        /// E.g. `response_cancel_not_active`.
        code: Option<String>,
        /// OpenAI's explanation.
        message: String,
    },
    /// Any other event type; ignore it.
    Other(String),
}

/// Why talking to the Realtime API failed.
#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    /// The handshake did not finish in time.
    #[error("the OpenAI Realtime handshake timed out")]
    Timeout,
    /// OpenAI answered the upgrade with an HTTP error (401, 403, 429, 5xx…).
    #[error("OpenAI refused the Realtime connection with HTTP {status}")]
    Refused {
        /// The HTTP status.
        status: u16,
    },
    /// The connection failed (DNS, TCP, TLS, WebSocket).
    #[error("could not connect to the OpenAI Realtime API")]
    Connect(#[source] Box<tokio_tungstenite::tungstenite::Error>),
    /// The request could not be built: a URL that is not `ws(s)://`, or an API key that is not
    /// a valid header value.
    #[error("cannot open the OpenAI Realtime connection: {0}")]
    Invalid(&'static str),
    /// The TLS client could not be set up.
    #[error("cannot set up TLS for the OpenAI Realtime API: {0}")]
    Tls(String),
    /// A server event that is not JSON or not the shape of its type.
    #[error("malformed Realtime server event: {0}")]
    Malformed(String),
}

#[cfg(test)]
mod tests;

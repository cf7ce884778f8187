//! Reading the server events, GA and beta alike, in one pass each.
//!
//! Every event is read into one flat struct holding the few fields the bridge uses from any
//! event (`item_id`, `delta`, `transcript`, `response.id`…), with the `type` borrowed and
//! everything else skipped unread; the `type` then says which of them must be there. Beta names
//! are first mapped to their GA names ([`ga_name`]).
//!
//! Why not deserialize async-openai's `RealtimeServerEvent` itself: it is stricter than the
//! protocol we must accept. It requires `event_id` (optional in `docs/PROTOCOLS.md`, and left
//! out by bare fakes), the GA shapes of whole sessions and responses (beta's differ: a beta
//! `session.created` or `response.done` does not decode), and a function `name` the beta
//! interface does not send; a decoding failure there would cost the call its audio or its
//! barge-in. It is also an internally tagged enum, which serde buffers before decoding: measured
//! in release, 0.66 µs against 0.38 µs here for a 20 ms audio delta, 1.7 µs against 1.4 µs for
//! half a second — small next to the strictness, but on the hot path. Its types are used for
//! what fits — the nested error ([`RealtimeAPIError`]) and the response status
//! ([`RealtimeResponseStatus`]) — and the tests check that every real GA event shape we read is
//! also one `RealtimeServerEvent` accepts.

use std::borrow::Cow;

use async_openai::types::realtime::{RealtimeAPIError, RealtimeResponseStatus};
use serde::Deserialize;

use crate::json_text::optional_borrowed;

use super::{ErrorKind, Interface, RealtimeError, ResponseStatus, ServerEvent};

/// Reads one server event.
///
/// Events of both interfaces are understood whichever `interface` is configured (their names
/// do not collide), so a misconfigured interface shows up as a refused `session.update`, not
/// as silently ignored audio.
///
/// # Errors
/// [`RealtimeError::Malformed`] when `text` is not a JSON object with a string `type`, or an
/// event the bridge acts on lacks a field it needs. Unknown types are [`ServerEvent::Other`].
pub fn parse_server_event(
    text: &str,
    interface: Interface,
) -> Result<ServerEvent<'_>, RealtimeError> {
    let _ = interface;
    let wire: Wire<'_> = match serde_json::from_str(text) {
        Ok(wire) => wire,
        Err(err) => return other_or_malformed(text, &err),
    };
    let kind = ga_name(&wire.kind);
    let missing = |field: &str| RealtimeError::Malformed(format!("{kind} without {field}"));
    Ok(match kind {
        "response.output_audio.delta" => ServerEvent::AudioDelta {
            response_id: wire.response_id.ok_or_else(|| missing("response_id"))?,
            item_id: wire.item_id.ok_or_else(|| missing("item_id"))?,
            content_index: wire.content_index.unwrap_or(0),
            delta: wire.delta.ok_or_else(|| missing("delta"))?,
        },
        "input_audio_buffer.speech_started" => ServerEvent::SpeechStarted {
            item_id: wire.item_id.ok_or_else(|| missing("item_id"))?.into_owned(),
            audio_start_ms: wire.audio_start_ms.unwrap_or(0),
        },
        "input_audio_buffer.speech_stopped" => ServerEvent::SpeechStopped,
        "response.created" => ServerEvent::ResponseCreated {
            response_id: wire
                .response
                .and_then(|response| response.id)
                .ok_or_else(|| missing("response.id"))?,
        },
        "response.done" => {
            let response = wire.response.ok_or_else(|| missing("response"))?;
            ServerEvent::ResponseDone {
                response_id: response.id.ok_or_else(|| missing("response.id"))?,
                status: response
                    .status
                    .map(ResponseStatus::from)
                    .ok_or_else(|| missing("response.status"))?,
            }
        }
        "response.output_audio.done" => ServerEvent::AudioDone {
            item_id: wire.item_id.ok_or_else(|| missing("item_id"))?.into_owned(),
        },
        "response.output_audio_transcript.done" => ServerEvent::AgentTranscriptDone {
            item_id: wire.item_id.ok_or_else(|| missing("item_id"))?.into_owned(),
            transcript: wire.transcript.ok_or_else(|| missing("transcript"))?,
        },
        "conversation.item.input_audio_transcription.completed" => {
            ServerEvent::CallerTranscriptDone {
                item_id: wire.item_id.ok_or_else(|| missing("item_id"))?.into_owned(),
                transcript: wire.transcript.ok_or_else(|| missing("transcript"))?,
            }
        }
        "conversation.item.input_audio_transcription.failed" => {
            ServerEvent::CallerTranscriptFailed {
                item_id: wire.item_id.ok_or_else(|| missing("item_id"))?.into_owned(),
            }
        }
        "response.function_call_arguments.done" => ServerEvent::FunctionCall {
            call_id: wire.call_id.ok_or_else(|| missing("call_id"))?,
            name: wire.name,
            arguments: wire.arguments.ok_or_else(|| missing("arguments"))?,
        },
        "response.output_item.added" => {
            let item = wire.item.ok_or_else(|| missing("item"))?;
            let function_call = if item.kind.as_deref() == Some("function_call") {
                Some((
                    item.call_id.ok_or_else(|| missing("item.call_id"))?,
                    item.name.ok_or_else(|| missing("item.name"))?,
                ))
            } else {
                None
            };
            ServerEvent::OutputItemAdded {
                item_id: item.id.ok_or_else(|| missing("item.id"))?,
                function_call,
            }
        }
        "session.created" => ServerEvent::SessionCreated,
        "session.updated" => ServerEvent::SessionUpdated,
        "error" => {
            let error = wire.error.ok_or_else(|| missing("error"))?;
            ServerEvent::Error {
                kind: ErrorKind::of(&error.r#type, error.code.as_deref()),
                code: error.code,
                message: error.message,
            }
        }
        other => ServerEvent::Other(other.to_owned()),
    })
}

/// The GA name of a beta event (other names unchanged).
fn ga_name(kind: &str) -> &str {
    match kind {
        "response.audio.delta" => "response.output_audio.delta",
        "response.audio.done" => "response.output_audio.done",
        "response.audio_transcript.delta" => "response.output_audio_transcript.delta",
        "response.audio_transcript.done" => "response.output_audio_transcript.done",
        "response.text.delta" => "response.output_text.delta",
        "response.text.done" => "response.output_text.done",
        "conversation.item.created" => "conversation.item.added",
        other => other,
    }
}

/// The events [`parse_server_event`] reads fields of (GA names); any other is
/// [`ServerEvent::Other`] even when its fields clash with the ones we read.
const READ: [&str; 14] = [
    "response.output_audio.delta",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "response.created",
    "response.done",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.input_audio_transcription.failed",
    "response.function_call_arguments.done",
    "response.output_item.added",
    "session.created",
    "session.updated",
    "error",
];

/// An event that failed to deserialize is still [`ServerEvent::Other`] when it is one we do not
/// read: its fields may have other shapes than ours.
fn other_or_malformed(
    text: &str,
    err: &serde_json::Error,
) -> Result<ServerEvent<'static>, RealtimeError> {
    #[derive(Deserialize)]
    struct TypeOnly<'a> {
        #[serde(rename = "type", borrow)]
        kind: Cow<'a, str>,
    }
    match serde_json::from_str::<TypeOnly<'_>>(text) {
        Ok(only) if !READ.contains(&ga_name(&only.kind)) => {
            Ok(ServerEvent::Other(ga_name(&only.kind).to_owned()))
        }
        _ => Err(RealtimeError::Malformed(err.to_string())),
    }
}

/// The fields the bridge reads, from any event; the rest is skipped.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "optional_borrowed")]
    item_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "optional_borrowed")]
    response_id: Option<Cow<'a, str>>,
    content_index: Option<u32>,
    #[serde(borrow, default, deserialize_with = "optional_borrowed")]
    delta: Option<Cow<'a, str>>,
    transcript: Option<String>,
    audio_start_ms: Option<u64>,
    call_id: Option<String>,
    name: Option<String>,
    arguments: Option<String>,
    #[serde(borrow)]
    item: Option<WireItem<'a>>,
    response: Option<WireResponse>,
    error: Option<RealtimeAPIError>,
}

/// What `response.output_item.added` says of its item.
#[derive(Deserialize)]
struct WireItem<'a> {
    id: Option<String>,
    #[serde(
        rename = "type",
        borrow,
        default,
        deserialize_with = "optional_borrowed"
    )]
    kind: Option<Cow<'a, str>>,
    call_id: Option<String>,
    name: Option<String>,
}

/// What `response.created` / `response.done` say of their response.
#[derive(Deserialize)]
struct WireResponse {
    id: Option<String>,
    status: Option<RealtimeResponseStatus>,
}

impl From<RealtimeResponseStatus> for ResponseStatus {
    fn from(status: RealtimeResponseStatus) -> Self {
        match status {
            RealtimeResponseStatus::InProgress => Self::InProgress,
            RealtimeResponseStatus::Completed => Self::Completed,
            RealtimeResponseStatus::Cancelled => Self::Cancelled,
            RealtimeResponseStatus::Failed => Self::Failed,
            RealtimeResponseStatus::Incomplete => Self::Incomplete,
        }
    }
}

/// Error codes after which the session cannot go on (checked before the error type, since
/// `session_expired` comes as an `invalid_request_error`).
const FATAL_CODES: [&str; 5] = [
    "session_expired",
    "invalid_api_key",
    "insufficient_quota",
    "account_deactivated",
    "billing_hard_limit_reached",
];

/// Error types after which the session cannot go on.
const FATAL_TYPES: [&str; 4] = [
    "authentication_error",
    "permission_error",
    "insufficient_quota",
    "server_error",
];

impl ErrorKind {
    /// Classifies an `error` event by its `type` and `code` (`docs/PROTOCOLS.md` §6).
    ///
    /// The rule: an error is [`ErrorKind::Fatal`] when it says the session itself is lost —
    /// expired (`session_expired`), not authenticated (`invalid_api_key`, type
    /// `authentication_error` or `permission_error`), out of quota (`insufficient_quota`,
    /// `billing_hard_limit_reached`, `account_deactivated`) or failing on the server's side
    /// (type `server_error`). Everything else answers one client event and is
    /// [`ErrorKind::Harmless`]: `response_cancel_not_active` (our cancel raced the server's own
    /// at barge-in), `conversation_already_has_active_response`, an invalid truncate, and any
    /// other `invalid_request_error`, known code or not. A socket that closes or fails is not an
    /// `error` event: the bridge sees it on the socket.
    pub fn of(error_type: &str, code: Option<&str>) -> Self {
        if code.is_some_and(|code| FATAL_CODES.contains(&code)) || FATAL_TYPES.contains(&error_type)
        {
            Self::Fatal
        } else {
            Self::Harmless
        }
    }
}

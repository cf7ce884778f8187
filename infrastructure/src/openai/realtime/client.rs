//! The client events we send, as ready-to-send JSON text.
//!
//! async-openai's client event types are used where they serialize to exactly the shape
//! `docs/PROTOCOLS.md` §6 gives (`response.cancel`, `conversation.item.truncate`, the function
//! tools). Where they do not, the JSON is written here, and each place says why. The append, sent
//! fifty times a second per call, is written straight into one pre-sized string.

use async_openai::types::realtime::{
    RealtimeClientEvent, RealtimeClientEventConversationItemTruncate,
    RealtimeClientEventResponseCancel, RealtimeFunctionTool, RealtimeTool,
};
use serde_json::{json, Value};

use super::{Interface, SessionConfig, Tool};
use crate::json_text::{
    message,
    Piece::{Raw, Text},
};

/// `session.update` for `config` in the shape `interface` expects: μ-law in and out (Twilio's
/// audio passes through untouched), server-side voice activity detection, input transcription,
/// the voice, the instructions and the tools. The model is not part of it: it is chosen by the
/// URL ([`super::realtime_url`]).
///
/// Written by hand: async-openai's `Session` has the GA shape only (no beta fields), and its GA
/// audio types always write fields PROTOCOLS.md leaves to the server's defaults
/// (`noise_reduction: null`, `speed`, and the VAD `threshold`/`prefix_padding_ms`/
/// `silence_duration_ms`, which `server_vad` must not be pinned to).
pub fn session_update(config: &SessionConfig, interface: Interface) -> String {
    let tools: Vec<Value> = config.tools.iter().map(tool).collect();
    let session = match interface {
        Interface::Ga => json!({
            "type": "realtime",
            "instructions": config.instructions,
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcmu"},
                    "turn_detection": {"type": "server_vad"},
                    "transcription": {"model": "gpt-4o-transcribe"},
                },
                "output": {
                    "format": {"type": "audio/pcmu"},
                    "voice": config.voice,
                },
            },
            "tools": tools,
            "tool_choice": "auto",
        }),
        Interface::Beta => json!({
            "modalities": ["audio", "text"],
            "instructions": config.instructions,
            "voice": config.voice,
            "input_audio_format": "g711_ulaw",
            "output_audio_format": "g711_ulaw",
            "turn_detection": {"type": "server_vad"},
            "input_audio_transcription": {"model": "whisper-1"},
            "tools": tools,
            "tool_choice": "auto",
        }),
    };
    json!({"type": "session.update", "session": session}).to_string()
}

/// A function tool, `{"type":"function","name","description","parameters"}` (both interfaces).
fn tool(tool: &Tool) -> Value {
    let tool = RealtimeTool::Function(RealtimeFunctionTool {
        name: tool.name.clone(),
        description: tool.description.clone(),
        parameters: tool.parameters.clone(),
    });
    // Cannot fail: a tagged enum of strings and a JSON value.
    serde_json::to_value(tool).unwrap_or(Value::Null)
}

/// `{"type":"input_audio_buffer.append","audio":…}` with Twilio's payload as it is: the hot
/// path, one allocation and no JSON tree.
pub fn append_audio(audio_b64: &str) -> String {
    message(&[
        Raw(r#"{"type":"input_audio_buffer.append","audio":"#),
        Text(audio_b64),
        Raw("}"),
    ])
}

/// `{"type":"response.create"}`: the agent speaks (the greeting once the session is updated, or
/// after a function result) with the session's settings.
///
/// Written by hand: async-openai's event always writes `"response": null`, and `null` is not a
/// value the API documents for `response`.
pub fn response_create() -> String {
    r#"{"type":"response.create"}"#.to_owned()
}

/// `{"type":"response.cancel"}`: send it only while a response is in progress (otherwise the
/// server answers a harmless `response_cancel_not_active` error).
pub fn response_cancel() -> String {
    encode(&RealtimeClientEvent::ResponseCancel(
        RealtimeClientEventResponseCancel::default(),
    ))
}

/// `conversation.item.truncate`: the agent's item was heard only up to `audio_end_ms`; the
/// server drops the rest of its audio and transcript. Milliseconds beyond `u32` are capped.
pub fn truncate(item_id: &str, content_index: u32, audio_end_ms: u64) -> String {
    encode(&RealtimeClientEvent::ConversationItemTruncate(
        RealtimeClientEventConversationItemTruncate {
            event_id: None,
            item_id: item_id.to_owned(),
            content_index,
            audio_end_ms: u32::try_from(audio_end_ms).unwrap_or(u32::MAX),
        },
    ))
}

/// `conversation.item.create` with `{"type":"function_call_output","call_id":…,"output":…}`;
/// `output` is the function's result as a JSON string. Follow it with [`response_create`] so the
/// agent speaks the result.
///
/// Written by hand: async-openai's function-call-output item always writes `status` (a plain
/// `String`), which PROTOCOLS.md's shape does not have and an empty value would not be valid.
pub fn function_call_output(call_id: &str, output: &str) -> String {
    json!({
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": call_id, "output": output},
    })
    .to_string()
}

/// async-openai's own conversion of a client event to its JSON text; it cannot fail for these
/// events (strings and integers only).
fn encode(event: &RealtimeClientEvent) -> String {
    String::from(event)
}

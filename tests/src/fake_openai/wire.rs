//! The Realtime API's server events, GA and beta (PROTOCOLS.md §6), written from the vendor's
//! documentation rather than from the product's types.

use serde_json::{json, Value};

/// Which Realtime interface a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// The GA interface (`gpt-realtime`, no `OpenAI-Beta` header).
    Ga,
    /// The beta interface (`OpenAI-Beta: realtime=v1`).
    Beta,
}

impl Interface {
    pub(crate) fn audio_delta(self) -> &'static str {
        match self {
            Self::Ga => "response.output_audio.delta",
            Self::Beta => "response.audio.delta",
        }
    }

    pub(crate) fn audio_done(self) -> &'static str {
        match self {
            Self::Ga => "response.output_audio.done",
            Self::Beta => "response.audio.done",
        }
    }

    pub(crate) fn transcript_delta(self) -> &'static str {
        match self {
            Self::Ga => "response.output_audio_transcript.delta",
            Self::Beta => "response.audio_transcript.delta",
        }
    }

    pub(crate) fn transcript_done(self) -> &'static str {
        match self {
            Self::Ga => "response.output_audio_transcript.done",
            Self::Beta => "response.audio_transcript.done",
        }
    }

    /// GA `conversation.item.added`, beta `conversation.item.created`.
    pub(crate) fn item_added(self) -> &'static str {
        match self {
            Self::Ga => "conversation.item.added",
            Self::Beta => "conversation.item.created",
        }
    }

    /// The content type of the agent's audio: GA `output_audio`, beta `audio`.
    pub(crate) fn audio_content(self) -> &'static str {
        match self {
            Self::Ga => "output_audio",
            Self::Beta => "audio",
        }
    }

    /// The session a new connection starts with (the server's defaults).
    pub(crate) fn default_session(self, id: &str, model: &str, expires_at: u64) -> Value {
        match self {
            Self::Ga => json!({
                "type": "realtime",
                "object": "realtime.session",
                "id": id,
                "model": model,
                "output_modalities": ["audio"],
                "instructions": "You are a helpful, witty, and friendly AI.",
                "tools": [],
                "tool_choice": "auto",
                "max_output_tokens": "inf",
                "tracing": null,
                "prompt": null,
                "expires_at": expires_at,
                "include": null,
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "transcription": null,
                        "noise_reduction": null,
                        "turn_detection": {
                            "type": "server_vad",
                            "threshold": 0.5,
                            "prefix_padding_ms": 300,
                            "silence_duration_ms": 200,
                            "idle_timeout_ms": null,
                            "create_response": true,
                            "interrupt_response": true,
                        },
                    },
                    "output": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "voice": "marin",
                        "speed": 1.0,
                    },
                },
            }),
            Self::Beta => json!({
                "object": "realtime.session",
                "id": id,
                "model": model,
                "modalities": ["audio", "text"],
                "instructions": "You are a helpful, witty, and friendly AI.",
                "voice": "alloy",
                "input_audio_format": "pcm16",
                "output_audio_format": "pcm16",
                "input_audio_transcription": null,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 200,
                    "create_response": true,
                    "interrupt_response": true,
                },
                "tools": [],
                "tool_choice": "auto",
                "temperature": 0.8,
                "max_response_output_tokens": "inf",
                "expires_at": expires_at,
            }),
        }
    }

    /// Top-level `session` fields `session.update` accepts.
    pub(crate) fn session_fields(self) -> &'static [&'static str] {
        match self {
            Self::Ga => &[
                "type",
                "model",
                "instructions",
                "output_modalities",
                "audio",
                "tools",
                "tool_choice",
                "max_output_tokens",
                "tracing",
                "prompt",
                "truncation",
                "include",
            ],
            Self::Beta => &[
                "model",
                "modalities",
                "instructions",
                "voice",
                "input_audio_format",
                "output_audio_format",
                "input_audio_transcription",
                "input_audio_noise_reduction",
                "turn_detection",
                "tools",
                "tool_choice",
                "temperature",
                "max_response_output_tokens",
                "speed",
                "tracing",
                "include",
            ],
        }
    }

    /// The session's turn detection settings (`null` when off).
    pub(crate) fn turn_detection(self, session: &Value) -> Value {
        match self {
            Self::Ga => session["audio"]["input"]["turn_detection"].clone(),
            Self::Beta => session["turn_detection"].clone(),
        }
    }

    /// A response object, as in `response.created` / `response.done`.
    pub(crate) fn response(
        self,
        id: &str,
        status: &str,
        reason: Option<&str>,
        output: Vec<Value>,
        session: &Value,
    ) -> Value {
        let status_details = match (status, reason) {
            ("in_progress" | "completed", _) => Value::Null,
            (_, reason) => json!({"type": status, "reason": reason}),
        };
        let usage = if status == "in_progress" {
            Value::Null
        } else {
            json!({
                "total_tokens": 120,
                "input_tokens": 80,
                "output_tokens": 40,
                "input_token_details": {"text_tokens": 60, "audio_tokens": 20, "cached_tokens": 0},
                "output_token_details": {"text_tokens": 10, "audio_tokens": 30},
            })
        };
        match self {
            Self::Ga => json!({
                "object": "realtime.response",
                "id": id,
                "status": status,
                "status_details": status_details,
                "output": output,
                "conversation_id": "conv_fake",
                "output_modalities": session["output_modalities"].clone(),
                "max_output_tokens": "inf",
                "audio": {"output": {
                    "format": session["audio"]["output"]["format"].clone(),
                    "voice": session["audio"]["output"]["voice"].clone(),
                }},
                "usage": usage,
                "metadata": null,
            }),
            Self::Beta => json!({
                "object": "realtime.response",
                "id": id,
                "status": status,
                "status_details": status_details,
                "output": output,
                "conversation_id": "conv_fake",
                "modalities": session["modalities"].clone(),
                "voice": session["voice"].clone(),
                "output_audio_format": session["output_audio_format"].clone(),
                "max_output_tokens": "inf",
                "usage": usage,
                "metadata": null,
            }),
        }
    }

    /// The agent's audio message item.
    pub(crate) fn assistant_item(self, id: &str, status: &str, transcript: Option<&str>) -> Value {
        let content = match transcript {
            Some(transcript) => json!([{"type": self.audio_content(), "transcript": transcript}]),
            None => json!([]),
        };
        json!({
            "id": id,
            "object": "realtime.item",
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": content,
        })
    }

    /// The content part of the agent's audio (`response.content_part.*`): type `audio` in both
    /// interfaces, unlike the item content (GA `output_audio`).
    pub(crate) fn audio_part(self, transcript: &str) -> Value {
        json!({"type": "audio", "transcript": transcript})
    }
}

/// The caller's audio message item, once the input buffer is committed.
pub(crate) fn user_item(id: &str) -> Value {
    json!({
        "id": id,
        "object": "realtime.item",
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": null}],
    })
}

/// A function call item.
pub(crate) fn function_call_item(
    id: &str,
    status: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
) -> Value {
    json!({
        "id": id,
        "object": "realtime.item",
        "type": "function_call",
        "status": status,
        "name": name,
        "call_id": call_id,
        "arguments": arguments,
    })
}

/// An `error` event (without its `event_id`).
pub(crate) fn error(
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
    client_event_id: Option<&str>,
) -> Value {
    json!({
        "type": "error",
        "error": {
            "type": kind,
            "code": code,
            "message": message,
            "param": param,
            "event_id": client_event_id,
        },
    })
}

/// `rate_limits.updated`, as the server sends after each response.
pub(crate) fn rate_limits() -> Value {
    json!({
        "type": "rate_limits.updated",
        "rate_limits": [
            {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
            {"name": "tokens", "limit": 20000, "remaining": 19880, "reset_seconds": 0.36},
        ],
    })
}

/// Merges a `session.update` into the session: objects field by field, anything else
/// replaced; an object whose `type` changes is replaced whole.
pub(crate) fn merge(target: &mut Value, update: &Value) {
    match (target, update) {
        (Value::Object(target), Value::Object(update)) => {
            for (key, value) in update {
                let slot = target.entry(key.clone()).or_insert(Value::Null);
                let same_kind = slot.is_object()
                    && value.is_object()
                    && (value.get("type").is_none() || slot.get("type") == value.get("type"));
                if same_kind {
                    merge(slot, value);
                } else {
                    *slot = value.clone();
                }
            }
        }
        (target, update) => *target = update.clone(),
    }
}

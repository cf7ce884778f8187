//! Which parts of a stored call event are personal, and sealing, opening and blanking them in
//! the stored JSON (`{"<EventType>":{…fields…}}` and the metadata's string map).
//!
//! A sealed field is the JSON string `pd1:<key id>:<base64(nonce ‖ ciphertext)>` whose plain
//! text is the field's JSON (so `from`, a tagged object, seals as well as a string). Its
//! associated data names the call, the event's sequence and type and the field, so a ciphertext
//! moved to another field, event or call does not open. A `null` (no callback number) stays
//! `null`. Metadata values are sealed too, except the keys known to carry nothing about the
//! caller ([`CLEAR_METADATA`]); metadata is shared by the events of one command, so its
//! associated data names the call and the key only.

use serde_json::{Map, Value};

use super::cipher::{split_sealed, CipherError, DataKey};

/// What a field whose key is gone reads as.
pub const ERASED: &str = "[erased]";

/// Separates these ciphertexts from any other use of a data key.
const AAD_CONTEXT: &str = "callassist/personal-data/v1";

/// How a personal field reads once erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blank {
    /// The string `[erased]`.
    Text,
    /// A caller id: `{"kind":"other","value":"[erased]"}` (what an unrecognised caller id is).
    Caller,
}

impl Blank {
    fn value(self) -> Value {
        match self {
            Self::Text => Value::String(ERASED.to_owned()),
            Self::Caller => serde_json::json!({"kind": "other", "value": ERASED}),
        }
    }
}

/// The personal fields of each `Call` event type.
fn personal_fields(event_type: &str) -> &'static [(&'static str, Blank)] {
    match event_type {
        "CallReceived" => &[("from", Blank::Caller)],
        "TranscriptSegmentRecorded" | "VoicemailTranscribed" => &[("text", Blank::Text)],
        "MessageTaken" => &[
            ("caller_name", Blank::Text),
            ("callback_number", Blank::Text),
            ("message", Blank::Text),
        ],
        "VoicemailRecorded" | "RecordingAvailable" => &[("recording_url", Blank::Text)],
        "CallSummarized" => &[("summary", Blank::Text)],
        _ => &[],
    }
}

/// Metadata keys stored in clear: the four every event has, and Twilio parameters and extras
/// that say nothing about the caller. Every other key (`From`, `Caller`, `CallerName`,
/// `FromCity`, `TranscriptionText`, `RecordingUrl`, …) is sealed.
pub const CLEAR_METADATA: &[&str] = &[
    "correlation_id",
    "causation",
    "actor",
    "received_at",
    "idempotency_token",
    "stream_sid",
    "reason",
    "AccountSid",
    "ApiVersion",
    "CallSid",
    "CallStatus",
    "CallDuration",
    "Called",
    "Direction",
    "To",
    "DialCallSid",
    "DialCallStatus",
    "DialCallDuration",
    "DialBridged",
    "Duration",
    "RecordingSid",
    "RecordingStatus",
    "RecordingDuration",
    "RecordingChannels",
    "RecordingSource",
    "TranscriptionSid",
    "TranscriptionStatus",
    "TranscriptionType",
    "SequenceNumber",
    "Timestamp",
    "CallbackSource",
    "ParentCallSid",
    "AnsweredBy",
    "ErrorCode",
];

/// The inner object of `{"<event_type>":{…}}`.
fn inner_mut<'p>(event_type: &str, payload: &'p mut Value) -> Option<&'p mut Map<String, Value>> {
    payload.get_mut(event_type)?.as_object_mut()
}

fn field_aad(call_sid: &str, sequence: i64, event_type: &str, field: &str) -> String {
    format!("{AAD_CONTEXT}\0{call_sid}\0{sequence}\0{event_type}\0{field}")
}

fn metadata_aad(call_sid: &str, key: &str) -> String {
    format!("{AAD_CONTEXT}\0{call_sid}\0metadata\0{key}")
}

/// Whether events of `event_type` carry personal fields.
pub fn is_personal(event_type: &str) -> bool {
    !personal_fields(event_type).is_empty()
}

/// What `from` of a `CallReceived` payload identifies, for the caller digest: the E.164 number,
/// `withheld`, or what Twilio sent.
pub(super) fn caller_of(payload: &Value) -> String {
    let from = payload
        .get("CallReceived")
        .and_then(|inner| inner.get("from"));
    match from
        .and_then(|from| from.get("kind"))
        .and_then(Value::as_str)
    {
        Some("withheld") | None => "withheld".to_owned(),
        Some(_) => from
            .and_then(|from| from.get("value"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    }
}

/// Seals the personal fields of one stored event of call `call_sid`.
pub(super) fn seal_event(
    key: &DataKey,
    call_sid: &str,
    sequence: i64,
    event_type: &str,
    payload: &mut Value,
) -> Result<(), CipherError> {
    let Some(inner) = inner_mut(event_type, payload) else {
        return Ok(());
    };
    for (field, _) in personal_fields(event_type) {
        if let Some(value) = inner.get_mut(*field) {
            if value.is_null() {
                continue;
            }
            let plain = value.to_string();
            let aad = field_aad(call_sid, sequence, event_type, field);
            *value = Value::String(key.seal(&aad, plain.as_bytes())?);
        }
    }
    Ok(())
}

/// Seals every metadata value but the [`CLEAR_METADATA`] ones.
pub(super) fn seal_metadata(
    key: &DataKey,
    call_sid: &str,
    metadata: &mut Value,
) -> Result<(), CipherError> {
    let Some(map) = metadata.as_object_mut() else {
        return Ok(());
    };
    for (name, value) in map.iter_mut() {
        if CLEAR_METADATA.contains(&name.as_str()) {
            continue;
        }
        if let Value::String(text) = value {
            let sealed = key.seal(&metadata_aad(call_sid, name), text.as_bytes())?;
            *value = Value::String(sealed);
        }
    }
    Ok(())
}

/// Replaces the personal fields of `inner` (an event's fields) with [`ERASED`]; `null` stays.
pub fn erase_fields(event_type: &str, inner: &mut Map<String, Value>) {
    for (field, blank) in personal_fields(event_type) {
        if let Some(value) = inner.get_mut(*field) {
            if !value.is_null() {
                *value = blank.value();
            }
        }
    }
}

/// Blanks the personal fields of a stored payload, and every sealable metadata value: what a
/// call whose key is gone stores instead of new personal data.
pub(super) fn erase_event(event_type: &str, payload: &mut Value, metadata: &mut Value) {
    if let Some(inner) = inner_mut(event_type, payload) {
        erase_fields(event_type, inner);
    }
    if let Some(map) = metadata.as_object_mut() {
        for (name, value) in map.iter_mut() {
            if !CLEAR_METADATA.contains(&name.as_str()) && value.is_string() {
                *value = Value::String(ERASED.to_owned());
            }
        }
    }
}

/// The ids of the keys the event's sealed fields and metadata name.
pub(super) fn key_ids<'v>(
    event_type: &str,
    payload: &'v Value,
    metadata: &'v Value,
) -> Vec<&'v str> {
    let mut ids = Vec::new();
    if let Some(inner) = payload.get(event_type).and_then(Value::as_object) {
        for (field, _) in personal_fields(event_type) {
            if let Some((id, _)) = inner
                .get(*field)
                .and_then(Value::as_str)
                .and_then(split_sealed)
            {
                ids.push(id);
            }
        }
    }
    if let Some(map) = metadata.as_object() {
        for value in map.values() {
            if let Some((id, _)) = value.as_str().and_then(split_sealed) {
                ids.push(id);
            }
        }
    }
    ids
}

/// Opens the sealed fields and metadata of one stored event of call `call_sid`: with the key
/// `keys` finds, or as [`ERASED`] when it finds none. Plain values (stored before encryption)
/// pass through.
///
/// # Errors
/// A sealed value that does not open with its key (tampered, moved) or is malformed.
pub(super) fn open_event<'k>(
    keys: &dyn Fn(&str) -> Option<&'k DataKey>,
    call_sid: &str,
    sequence: i64,
    event_type: &str,
    payload: &mut Value,
    metadata: &mut Value,
) -> Result<(), CipherError> {
    if let Some(inner) = inner_mut(event_type, payload) {
        for (field, blank) in personal_fields(event_type) {
            let Some(value) = inner.get_mut(*field) else {
                continue;
            };
            let Some((id, sealed)) = value.as_str().and_then(split_sealed) else {
                continue;
            };
            *value = match keys(id) {
                None => blank.value(),
                Some(key) => {
                    let plain =
                        key.open(&field_aad(call_sid, sequence, event_type, field), sealed)?;
                    serde_json::from_slice(&plain)
                        .map_err(|_| CipherError::Malformed("a sealed field is not JSON"))?
                }
            };
        }
    }
    if let Some(map) = metadata.as_object_mut() {
        for (name, value) in map.iter_mut() {
            let Some((id, sealed)) = value.as_str().and_then(split_sealed) else {
                continue;
            };
            *value = match keys(id) {
                None => Value::String(ERASED.to_owned()),
                Some(key) => {
                    let plain = key.open(&metadata_aad(call_sid, name), sealed)?;
                    Value::String(
                        String::from_utf8(plain)
                            .map_err(|_| CipherError::Malformed("metadata is not UTF-8"))?,
                    )
                }
            };
        }
    }
    Ok(())
}

//! The events a business' endpoints can ask for, and the Standard Webhooks payload each one is
//! sent as: `{"type": "call.ended", "timestamp": "<RFC 3339>", "data": {…}}`.
//!
//! The payload is built from the call's event as stored (its fields) and the `Call`
//! aggregate (which business, who called, which number), never from a read model, which may
//! lag behind the stream.

use domain::call::{Call, CallEvent};
use domain::values::CallerId;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::event_store::RecordedEvent;

/// The kinds of event an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventType {
    /// The call is over (`CallEnded`): its final status and duration.
    #[serde(rename = "call.ended")]
    CallEnded,
    /// The AI agent took a message for the owner (`MessageTaken`).
    #[serde(rename = "message.taken")]
    MessageTaken,
    /// The post-call summary was written (`CallSummarized`).
    #[serde(rename = "call.summarized")]
    CallSummarized,
}

impl EventType {
    /// Every kind, in the order the dashboard lists them.
    pub const ALL: [Self; 3] = [Self::CallEnded, Self::MessageTaken, Self::CallSummarized];

    /// The name in payloads, settings and the API: `call.ended`, `message.taken`,
    /// `call.summarized`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallEnded => "call.ended",
            Self::MessageTaken => "message.taken",
            Self::CallSummarized => "call.summarized",
        }
    }

    /// The kind named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The kind a stored event of the `Call` aggregate is sent as, if any.
    pub fn of_stored(event_type: &str) -> Option<Self> {
        match event_type {
            "CallEnded" => Some(Self::CallEnded),
            "MessageTaken" => Some(Self::MessageTaken),
            "CallSummarized" => Some(Self::CallSummarized),
            _ => None,
        }
    }

    /// What the dashboard shows beside the checkbox.
    pub fn describe(self) -> &'static str {
        match self {
            Self::CallEnded => "A call ended",
            Self::MessageTaken => "The AI agent took a message",
            Self::CallSummarized => "A call's summary is ready",
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Standard Webhooks message id of the event at `global_position`: the same on every try
/// and every "send again", so a receiver can deduplicate with it.
pub fn webhook_id(global_position: i64) -> String {
    format!("msg_{global_position}")
}

/// The payload of `event`, a stored event of `call`, or `None` when it is not one endpoints
/// can ask for (or cannot be read).
pub fn payload(event: &RecordedEvent, call: &Call) -> Option<(EventType, Value)> {
    let kind = EventType::of_stored(&event.event_type)?;
    let received = call.received.as_ref()?;
    let business_id = received.business_id?;
    let stored: CallEvent = match serde_json::from_value(event.payload.clone()) {
        Ok(stored) => stored,
        Err(err) => {
            tracing::warn!(event_type = %event.event_type, global_position = event.position.global_position, error = %err, "a call event cannot be read; not sent to webhooks");
            return None;
        }
    };
    let mut data = json!({
        "call_sid": received.call_sid.as_ref(),
        "business_id": business_id.0,
        "from": caller(&received.from),
        "to": received.to,
    });
    let fields = match stored {
        CallEvent::CallEnded {
            status,
            duration_secs,
        } => json!({
            "status": status,
            "duration_secs": duration_secs,
            "handled_by_ai": call.handled_by_ai,
            "voicemail": call.voicemail_recorded,
        }),
        CallEvent::MessageTaken {
            caller_name,
            callback_number,
            message,
            urgency,
        } => json!({
            "caller_name": caller_name,
            "callback_number": callback_number,
            "message": message,
            "urgency": urgency,
        }),
        CallEvent::CallSummarized { summary } => json!({ "summary": summary }),
        _ => return None,
    };
    if let (Some(data), Value::Object(fields)) = (data.as_object_mut(), fields) {
        data.extend(fields);
    }
    let timestamp = event
        .metadata
        .get("received_at")
        .and_then(Value::as_str)
        .map_or_else(
            || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ToOwned::to_owned,
        );
    Some((
        kind,
        json!({ "type": kind.as_str(), "timestamp": timestamp, "data": data }),
    ))
}

/// The caller's number as sent: the number, what Twilio passed on, or `null` when withheld.
fn caller(from: &CallerId) -> Value {
    match from {
        CallerId::Number(number) => Value::String(number.to_string()),
        CallerId::Withheld => Value::Null,
        CallerId::Other(raw) => Value::String(raw.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_name_every_event_type_both_ways() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                Value::String(kind.as_str().to_owned())
            );
        }
        assert_eq!(EventType::parse("call.started"), None);
        assert_eq!(EventType::of_stored("CallReceived"), None);
    }

    #[test]
    fn it_should_derive_the_message_id_from_the_global_position() {
        assert_eq!(webhook_id(42), "msg_42");
    }
}

//! What the relay publishes: the JSON body, the routing key and the AMQP properties of the
//! message for one event. Pure, so the format consumers rely on is pinned by unit tests;
//! `docs/integration.md` documents it.

use chrono::{DateTime, Utc};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::BasicProperties;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{APP_ID, CONTENT_TYPE};
use crate::event_store::RecordedEvent;

/// Longest routing key AMQP allows (a short string).
const MAX_ROUTING_KEY: usize = 255;
/// `delivery_mode` of a persistent message.
const PERSISTENT: u8 = 2;

/// The JSON body of every message: the stored event and where it stands in the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventMessage {
    /// The event's global position; also the message's `message_id`.
    pub global_position: i64,
    /// The id of the transaction that wrote it (with `global_position`, the stream order).
    pub transaction_id: i64,
    /// `Business`, `PhoneNumber`, `Call`.
    pub aggregate_type: String,
    /// The aggregate's id.
    pub aggregate_id: String,
    /// Its number within the aggregate, from 1, without gaps.
    pub sequence: i64,
    /// The event's persisted name.
    pub event_type: String,
    /// The payload's version.
    pub event_version: String,
    /// The event as stored (see `docs/events.md`).
    pub payload: Value,
    /// `correlation_id`, `causation`, `actor`, `received_at` and extras.
    pub metadata: Value,
}

impl From<&RecordedEvent> for EventMessage {
    fn from(event: &RecordedEvent) -> Self {
        Self {
            global_position: event.position.global_position,
            transaction_id: event.position.transaction_id,
            aggregate_type: event.aggregate_type.clone(),
            aggregate_id: event.aggregate_id.clone(),
            sequence: event.sequence,
            event_type: event.event_type.clone(),
            event_version: event.event_version.clone(),
            payload: event.payload.clone(),
            metadata: event.metadata.clone(),
        }
    }
}

/// `<aggregate_type>.<event_type>`, cut to the 255 bytes AMQP allows (never reached by our
/// own names).
pub fn routing_key(aggregate_type: &str, event_type: &str) -> String {
    let mut key = format!("{aggregate_type}.{event_type}");
    if key.len() > MAX_ROUTING_KEY {
        let mut end = MAX_ROUTING_KEY;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
    }
    key
}

/// A message ready to publish.
pub(super) struct Outgoing {
    pub(super) routing_key: ShortString,
    pub(super) properties: BasicProperties,
    pub(super) body: Vec<u8>,
}

/// Only our own short strings go in here; anything longer is dropped rather than panicking.
fn short(value: impl Into<String>) -> Option<ShortString> {
    ShortString::try_new(value).ok()
}

impl Outgoing {
    /// The message for `event`; `now` stands in for a missing or unreadable `received_at`.
    pub(super) fn new(
        event: &RecordedEvent,
        now: DateTime<Utc>,
    ) -> Result<Self, serde_json::Error> {
        let position = event.position.global_position;
        let body = serde_json::to_vec(&EventMessage::from(event))?;
        let key = routing_key(&event.aggregate_type, &event.event_type);
        let mut headers = FieldTable::default();
        headers.insert(
            "aggregate_type".into(),
            AMQPValue::LongString(LongString::from(event.aggregate_type.as_str())),
        );
        headers.insert(
            "aggregate_id".into(),
            AMQPValue::LongString(LongString::from(event.aggregate_id.as_str())),
        );
        headers.insert("sequence".into(), AMQPValue::LongLongInt(event.sequence));
        headers.insert(
            "event_version".into(),
            AMQPValue::LongString(LongString::from(event.event_version.as_str())),
        );
        let mut properties = BasicProperties::default()
            .with_message_id(position.to_string().into())
            .with_content_type(CONTENT_TYPE.into())
            .with_delivery_mode(PERSISTENT)
            .with_timestamp(
                received_at(&event.metadata)
                    .unwrap_or(now)
                    .timestamp()
                    .max(0)
                    .unsigned_abs(),
            )
            .with_app_id(APP_ID.into())
            .with_headers(headers);
        if let Some(kind) = short(event.event_type.as_str()) {
            properties = properties.with_type(kind);
        }
        if let Some(correlation) = event
            .metadata
            .get("correlation_id")
            .and_then(Value::as_str)
            .and_then(short)
        {
            properties = properties.with_correlation_id(correlation);
        }
        Ok(Self {
            routing_key: short(key).unwrap_or_default(),
            properties,
            body,
        })
    }
}

fn received_at(metadata: &Value) -> Option<DateTime<Utc>> {
    let raw = metadata.get("received_at")?.as_str()?;
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

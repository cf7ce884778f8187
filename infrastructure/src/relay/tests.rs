// Test code: a panic is a failed assertion with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use serde_json::json;

use lapin::types::{AMQPValue, ShortString};
use lapin::BasicProperties;
use serde_json::Value;

use super::message::Outgoing;
use super::retry::Backoff;
use super::*;
use crate::event_store::RecordedEvent;

fn event() -> RecordedEvent {
    RecordedEvent {
        position: Position {
            transaction_id: 812,
            global_position: 42,
        },
        aggregate_type: "Call".into(),
        aggregate_id: "CA0123456789abcdef0123456789abcdef".into(),
        sequence: 3,
        event_type: "OwnerAnswered".into(),
        event_version: "1.0".into(),
        payload: json!({"OwnerAnswered": {"at": "2026-03-08T12:00:05Z"}}),
        metadata: json!({
            "correlation_id": "CA0123456789abcdef0123456789abcdef",
            "causation": "webhook:/twilio/voice/dial-result",
            "actor": "twilio",
            "received_at": "2026-03-08T12:00:05.123456Z"
        }),
    }
}

fn header<'a>(properties: &'a BasicProperties, key: &str) -> &'a AMQPValue {
    properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get(key))
        .unwrap_or_else(|| panic!("header {key} is missing"))
}

#[test]
fn it_should_route_by_aggregate_type_and_event_type() {
    assert_eq!(routing_key("Call", "OwnerAnswered"), "Call.OwnerAnswered");
}

#[test]
fn it_should_cut_an_overlong_routing_key_at_a_character_boundary() {
    let key = routing_key("Call", &"é".repeat(200));

    assert!(key.len() <= 255);
    assert!(key.starts_with("Call.é"));
}

#[test]
fn it_should_publish_persistent_json_identified_by_the_global_position() {
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();

    let message = Outgoing::new(&event(), now).unwrap();

    let properties = &message.properties;
    assert_eq!(message.routing_key.as_str(), "Call.OwnerAnswered");
    assert_eq!(
        properties.message_id().as_ref().map(ShortString::as_str),
        Some("42")
    );
    assert_eq!(*properties.delivery_mode(), Some(2));
    assert_eq!(
        properties.content_type().as_ref().map(ShortString::as_str),
        Some("application/json")
    );
    assert_eq!(
        properties.kind().as_ref().map(ShortString::as_str),
        Some("OwnerAnswered")
    );
    assert_eq!(
        properties.app_id().as_ref().map(ShortString::as_str),
        Some("callassist")
    );
    assert_eq!(
        properties
            .correlation_id()
            .as_ref()
            .map(ShortString::as_str),
        Some("CA0123456789abcdef0123456789abcdef")
    );
    let received = Utc.with_ymd_and_hms(2026, 3, 8, 12, 0, 5).unwrap();
    assert_eq!(
        *properties.timestamp(),
        Some(received.timestamp().unsigned_abs()),
        "the timestamp is when the command was received, in seconds"
    );
    assert_eq!(header(properties, "sequence"), &AMQPValue::LongLongInt(3));
    assert_eq!(
        header(properties, "aggregate_id"),
        &AMQPValue::LongString("CA0123456789abcdef0123456789abcdef".into())
    );
}

#[test]
fn it_should_stamp_the_publish_time_when_the_metadata_has_no_received_at() {
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let mut event = event();
    event.metadata = json!({});

    let message = Outgoing::new(&event, now).unwrap();

    assert_eq!(
        *message.properties.timestamp(),
        Some(now.timestamp().unsigned_abs())
    );
    assert_eq!(*message.properties.correlation_id(), None);
}

#[test]
fn it_should_pin_the_json_body_consumers_read() {
    let message = Outgoing::new(&event(), Utc::now()).unwrap();

    let body: Value = serde_json::from_slice(&message.body).unwrap();

    assert_eq!(
        body,
        json!({
            "global_position": 42,
            "transaction_id": 812,
            "aggregate_type": "Call",
            "aggregate_id": "CA0123456789abcdef0123456789abcdef",
            "sequence": 3,
            "event_type": "OwnerAnswered",
            "event_version": "1.0",
            "payload": {"OwnerAnswered": {"at": "2026-03-08T12:00:05Z"}},
            "metadata": {
                "correlation_id": "CA0123456789abcdef0123456789abcdef",
                "causation": "webhook:/twilio/voice/dial-result",
                "actor": "twilio",
                "received_at": "2026-03-08T12:00:05.123456Z"
            }
        })
    );
    let parsed: EventMessage = serde_json::from_value(body).unwrap();
    assert_eq!(parsed, EventMessage::from(&event()));
}

#[test]
fn it_should_double_the_backoff_up_to_its_cap_and_start_over_after_a_reset() {
    let mut backoff = Backoff::new(MIN_BACKOFF, MAX_BACKOFF);

    let steps: Vec<Duration> = (0..10).map(|_| backoff.step()).collect();
    backoff.reset();

    assert_eq!(steps[0], Duration::from_millis(100));
    assert_eq!(steps[1], Duration::from_millis(200));
    assert_eq!(steps[6], Duration::from_millis(6_400));
    assert_eq!(steps[7], Duration::from_secs(10));
    assert_eq!(steps[9], Duration::from_secs(10));
    assert_eq!(backoff.step(), Duration::from_millis(100));
}

#[test]
fn it_should_jitter_each_pause_between_half_and_all_of_the_nominal_backoff() {
    let mut backoff = Backoff::new(MIN_BACKOFF, MAX_BACKOFF);

    for nominal in [100, 200, 400] {
        let pause = backoff.next_pause();
        assert!(
            pause >= Duration::from_millis(nominal / 2) && pause <= Duration::from_millis(nominal),
            "{pause:?} is not within [{}, {nominal}] ms",
            nominal / 2
        );
    }
}

use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::event_store::Position;

fn event(event_type: &str, received_at: &str) -> RecordedEvent {
    RecordedEvent {
        position: Position {
            transaction_id: 7,
            global_position: 42,
        },
        aggregate_type: "Call".into(),
        aggregate_id: "CA1".into(),
        sequence: 5,
        event_type: event_type.into(),
        event_version: "1.0".into(),
        payload: json!({}),
        metadata: json!({ "received_at": received_at }),
    }
}

#[test]
fn it_should_back_off_exponentially_up_to_the_cap() {
    let policy = NotifyPolicy::default();
    assert_eq!(policy.delay(1), Duration::from_secs(30));
    assert_eq!(policy.delay(2), Duration::from_secs(60));
    assert_eq!(policy.delay(5), Duration::from_secs(480));
    assert_eq!(policy.delay(9), Duration::from_secs(1800));
    assert_eq!(policy.delay(u32::MAX), Duration::from_secs(1800));
}

#[test]
fn it_should_give_up_only_after_enough_attempts_over_enough_time() {
    let policy = NotifyPolicy::default();
    assert!(!policy.gives_up(10, Duration::from_secs(3600)));
    assert!(!policy.gives_up(9, Duration::from_secs(3 * 3600)));
    assert!(policy.gives_up(10, Duration::from_secs(2 * 3600)));
}

#[test]
fn it_should_judge_a_missed_call_after_the_grace_period_and_tell_messages_at_once() {
    let policy = NotifyPolicy::default();
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
    let ended = event("CallEnded", "2026-11-26T09:59:58Z");
    assert_eq!(
        policy.due(Happening::CallEnded, &ended, now),
        Some(now + chrono::Duration::seconds(30))
    );
    let message = event("MessageTaken", "2026-11-26T09:59:58Z");
    assert_eq!(
        policy.due(Happening::MessageTaken, &message, now),
        Some(now)
    );
}

#[test]
fn it_should_not_tell_of_happenings_older_than_a_day() {
    let policy = NotifyPolicy::default();
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
    let old = event("MessageTaken", "2026-11-25T09:59:59Z");
    assert_eq!(policy.due(Happening::MessageTaken, &old, now), None);
    let unreadable_time = event("MessageTaken", "yesterday");
    assert_eq!(
        policy.due(Happening::MessageTaken, &unreadable_time, now),
        Some(now)
    );
}

#[test]
fn it_should_queue_only_call_events_that_may_notify() {
    let mut business = event("MessageTaken", "2026-11-26T09:59:58Z");
    business.aggregate_type = "Business".into();
    let batch = vec![
        event("TranscriptSegmentRecorded", "2026-11-26T09:59:58Z"),
        event("MessageTaken", "2026-11-26T09:59:58Z"),
        business,
        event("VoicemailRecorded", "2026-11-26T09:59:58Z"),
    ];
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
    let found = queue::candidates(&batch, |_, _| Some(now));
    let happenings: Vec<Happening> = found.iter().map(|c| c.happening).collect();
    assert_eq!(
        happenings,
        vec![Happening::MessageTaken, Happening::VoicemailRecorded]
    );
    assert_eq!(found[0].sequence, 5);
    assert_eq!(found[0].call_sid, "CA1");
}

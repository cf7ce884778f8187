//! The summariser's pure parts: its retry policy, which events queue work, which calls want a
//! summary, and the text OpenAI is given. The whole loop is tested end to end in
//! `tests/tests/suite/summaries.rs`.

use std::time::Duration;

use domain::call::{CallEvent, FinalStatus, Speaker, Urgency};
use domain::routing::RouteReason;
use domain::values::{BusinessId, CallSid, CallerId, E164};
use serde_json::json;

use super::queue::candidates;
use super::transcript::{conversation, CallFacts, Line};
use super::RetryPolicy;
use crate::event_store::{Position, RecordedEvent};

fn sid() -> CallSid {
    CallSid::parse("CA0123456789abcdef0123456789abcdef").unwrap()
}

fn received() -> CallEvent {
    CallEvent::CallReceived {
        call_sid: sid(),
        from: CallerId::Number(E164::parse("+12125550199").unwrap()),
        to: "+14155550100".into(),
        business_id: Some(BusinessId(uuid::Uuid::from_u128(0xB05))),
    }
}

fn said(speaker: Speaker, text: &str, offset_ms: u64) -> CallEvent {
    CallEvent::TranscriptSegmentRecorded {
        speaker,
        text: text.into(),
        offset_ms,
    }
}

/// An AI call with a conversation, up to (not including) its end.
fn ai_call() -> Vec<CallEvent> {
    vec![
        received(),
        CallEvent::CallRoutedToAi {
            why: RouteReason::OwnerUnavailable,
        },
        CallEvent::AiSessionStarted {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
        },
        said(Speaker::Agent, "Joe's Plumbing, how can I help?", 0),
        said(Speaker::Caller, "My sink leaks. I'm Ann.", 2_400),
        CallEvent::MessageTaken {
            caller_name: Some("Ann".into()),
            callback_number: Some("+12125550199".into()),
            message: "Leaking sink, please call back today.".into(),
            urgency: Urgency::High,
        },
    ]
}

fn session_ended() -> CallEvent {
    CallEvent::AiSessionEnded {
        reason: "caller hung up".into(),
    }
}

fn ended() -> CallEvent {
    CallEvent::CallEnded {
        status: FinalStatus::Completed,
        duration_secs: Some(73),
    }
}

fn facts(events: Vec<CallEvent>) -> CallFacts {
    CallFacts::from_events(events)
}

fn recorded(
    aggregate_type: &str,
    id: &str,
    event_type: &str,
    global_position: i64,
) -> RecordedEvent {
    RecordedEvent {
        position: Position {
            transaction_id: 1,
            global_position,
        },
        aggregate_type: aggregate_type.into(),
        aggregate_id: id.into(),
        sequence: 1,
        event_type: event_type.into(),
        event_version: "1.0".into(),
        payload: json!({}),
        metadata: json!({}),
    }
}

#[test]
fn it_should_double_the_pause_up_to_the_cap() {
    let policy = RetryPolicy::default();

    let pauses: Vec<u64> = (1..=7).map(|n| policy.delay(n).as_secs()).collect();

    assert_eq!(pauses, vec![30, 60, 120, 240, 480, 600, 600]);
    assert_eq!(policy.delay(u32::MAX), Duration::from_secs(600));
}

#[test]
fn it_should_give_up_only_after_enough_attempts_over_enough_time() {
    let policy = RetryPolicy::default();
    let minutes = |m: u64| Duration::from_secs(m * 60);

    assert!(!policy.gives_up(8, minutes(29)), "not yet long enough");
    assert!(!policy.gives_up(7, minutes(90)), "not yet enough attempts");
    assert!(policy.gives_up(8, minutes(30)));
}

#[test]
fn it_should_queue_work_on_the_end_of_a_call_or_of_its_ai_session_once_per_call() {
    let batch = [
        recorded("Call", "CA1", "TranscriptSegmentRecorded", 1),
        recorded("Call", "CA1", "AiSessionEnded", 2),
        recorded("Business", "CA1", "CallEnded", 3),
        recorded("Call", "CA2", "CallEnded", 4),
        recorded("Call", "CA1", "CallEnded", 5),
    ];

    let (sids, positions) = candidates(&batch);

    assert_eq!(sids, vec!["CA1".to_owned(), "CA2".to_owned()]);
    assert_eq!(positions, vec![2, 4]);
}

#[test]
fn it_should_want_a_summary_only_for_an_ended_call_with_a_conversation_and_no_outcome() {
    let mut complete = ai_call();
    complete.extend([session_ended(), ended()]);
    let mut summarized = complete.clone();
    summarized.push(CallEvent::CallSummarized {
        summary: "Ann.".into(),
    });
    let mut failed = complete.clone();
    failed.push(CallEvent::CallSummaryFailed {
        reason: "no OpenAI key".into(),
    });
    let silent = vec![
        received(),
        CallEvent::CallRoutedToAi {
            why: RouteReason::OwnerUnavailable,
        },
        ended(),
    ];

    assert!(facts(complete).wants_summary());
    assert!(!facts(ai_call()).wants_summary(), "not ended");
    assert!(!facts(summarized).wants_summary());
    assert!(!facts(failed).wants_summary());
    assert!(!facts(silent).wants_summary(), "nothing was said");
}

#[test]
fn it_should_see_that_the_agents_session_is_still_open() {
    let mut open = ai_call();
    open.push(ended());
    let mut closed = open.clone();
    closed.push(session_ended());

    assert!(facts(open).session_open());
    assert!(!facts(closed).session_open());
}

#[test]
fn it_should_give_openai_the_caller_the_messages_and_the_conversation() {
    let mut events = ai_call();
    events.extend([session_ended(), ended()]);

    let text = facts(events).render("Joe's Plumbing");

    assert_eq!(
        text,
        "Business: Joe's Plumbing\n\
         Caller's number: +12125550199\n\
         Call length: 01:13\n\
         \n\
         Messages the receptionist took:\n\
         - from Ann, call back on +12125550199 (urgency high): Leaking sink, please call back today.\n\
         \n\
         Conversation (Receptionist is the AI agent):\n\
         [00:00] Receptionist: Joe's Plumbing, how can I help?\n\
         [00:02] Caller: My sink leaks. I'm Ann.\n"
    );
}

#[test]
fn it_should_leave_out_the_middle_of_a_conversation_too_long_to_send() {
    let lines: Vec<Line> = (0..100)
        .map(|n| Line {
            speaker: if n % 2 == 0 {
                Speaker::Caller
            } else {
                Speaker::Agent
            },
            text: format!("line {n:03} {}", "x".repeat(70)),
            offset_ms: n * 1_000,
        })
        .collect();

    let kept = conversation(&lines, 2_000);

    let total: usize = kept.iter().map(|l| l.chars().count() + 1).sum();
    assert!(total <= 2_100, "about the budget: {total}");
    assert!(kept[0].contains("line 000"), "{kept:?}");
    assert!(kept.last().unwrap().contains("line 099"), "{kept:?}");
    let note = kept.iter().find(|l| l.contains("left out")).unwrap();
    let shown = kept.len() - 1;
    assert_eq!(*note, format!("[… {} lines left out …]", 100 - shown));
    assert_eq!(
        conversation(&lines[..3], 2_000).len(),
        3,
        "short ones whole"
    );
}

mod voicemail;

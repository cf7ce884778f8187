// Test code: a panic is a failed assertion with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use infrastructure::audit::HistoryEntry;
use serde_json::json;

use super::*;

fn history(events: &[(&str, Value)]) -> History {
    History {
        aggregate_type: "Call",
        aggregate_id: "CA1".into(),
        entries: events
            .iter()
            .enumerate()
            .map(|(i, (kind, payload))| HistoryEntry {
                sequence: i + 1,
                event_type: (*kind).to_owned(),
                event_version: "1.0".into(),
                stored_version: "1.0".into(),
                received_at: None,
                actor: None,
                causation: None,
                correlation_id: None,
                event: json!({ *kind: payload }),
                state_after: Value::Null,
            })
            .collect(),
    }
}

fn demo_call() -> History {
    history(&[
        ("CallReceived", json!({})),
        ("CallRoutedToOwner", json!({})),
        ("OwnerMissed", json!({})),
        ("CallRoutedToAi", json!({})),
        (
            "AiSessionStarted",
            json!({"model": "demo", "voice": "marin"}),
        ),
        (
            "TranscriptSegmentRecorded",
            json!({"speaker": "agent", "text": "Hello", "offset_ms": 0}),
        ),
        (
            "TranscriptSegmentRecorded",
            json!({"speaker": "caller", "text": "(demo caller audio)", "offset_ms": 2000}),
        ),
        (
            "MessageTaken",
            json!({"caller_name": "Demo Caller", "callback_number": "+15555550199", "message": "Call back", "urgency": "normal"}),
        ),
        ("AiSessionEnded", json!({"reason": "agent ended the call"})),
        ("CallEnded", json!({"status": "completed"})),
    ])
}

#[test]
fn it_should_read_the_route_the_message_and_the_demo_agent_off_the_events() {
    let facts = Facts::of(&demo_call());

    assert_eq!(facts.route, ["owner", "AI agent"]);
    assert!(facts.ai_started && facts.demo_agent && !facts.voicemail_after_ai);
    assert_eq!(facts.ai_ended.as_deref(), Some("agent ended the call"));
    assert_eq!(
        facts.messages,
        [Message {
            caller_name: Some("Demo Caller".into()),
            callback_number: Some("+15555550199".into()),
            text: "Call back".into(),
            urgency: "normal".into(),
        }]
    );
}

#[test]
fn it_should_tell_a_voicemail_fallback_and_a_real_agent_apart() {
    let facts = Facts::of(&history(&[
        ("CallRoutedToAi", json!({})),
        (
            "AiSessionStarted",
            json!({"model": "gpt-realtime", "voice": "marin"}),
        ),
        ("AiSessionEnded", json!({"reason": "openai connect failed"})),
        ("CallRoutedToVoicemail", json!({"why": "agent_failed"})),
    ]));

    assert!(facts.voicemail_after_ai);
    assert!(!facts.demo_agent);
    assert_eq!(facts.route, ["AI agent", "voicemail"]);
}

#[test]
fn it_should_summarise_the_stream_and_the_events() {
    let stream = StreamReport {
        agent_audio: Duration::from_millis(3_100),
        marks: 155,
        clears: 0,
        closed_by_server: true,
        lasted: Duration::from_millis(6_420),
    };

    let lines = lines(Some(&stream), Some(&Facts::of(&demo_call())));

    assert_eq!(
        lines,
        [
            "  route: owner → AI agent",
            "  media stream: 3.1 s of agent audio received, 155 marks echoed, 0 clears; the server closed the stream after 6.4 s",
            "  events recorded (10): CallReceived, CallRoutedToOwner, OwnerMissed, CallRoutedToAi, AiSessionStarted, TranscriptSegmentRecorded ×2, MessageTaken, AiSessionEnded, CallEnded",
            "  AI session ended: agent ended the call",
            "  message taken: \"Call back\" (Demo Caller, call back +15555550199, urgency normal)",
            "  answered by the built-in demo agent (no OpenAI key configured)",
        ]
    );
}

#[test]
fn it_should_say_where_to_find_the_events_without_a_database() {
    let lines = lines(None, None);

    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("DATABASE_URL"));
}

#[test]
fn it_should_show_the_voicemails_transcription() {
    let facts = Facts::of(&history(&[
        ("CallReceived", json!({})),
        ("CallRoutedToVoicemail", json!({"why": "owner_missed"})),
        ("VoicemailRecorded", json!({})),
        ("CallEnded", json!({"status": "completed"})),
        (
            "VoicemailTranscribed",
            json!({"transcription_sid": "TR1", "recording_sid": "RE1", "text": "Call me back."}),
        ),
    ]));

    let lines = lines(None, Some(&facts));

    assert_eq!(facts.voicemail_transcript.as_deref(), Some("Call me back."));
    assert_eq!(
        lines.last().map(String::as_str),
        Some("  voicemail transcript: \"Call me back.\"")
    );
}

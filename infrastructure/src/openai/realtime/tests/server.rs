use std::borrow::Cow;
use std::sync::OnceLock;

use async_openai::types::realtime::RealtimeServerEvent;
use serde_json::Value;

use crate::openai::realtime::*;

/// Real event shapes (checked against OpenAI's own SDK models), by interface and name; `lean`
/// holds the minimal shapes PROTOCOLS.md lists (no `event_id`), as a bare fake may send them.
fn events() -> &'static Value {
    static EVENTS: OnceLock<Value> = OnceLock::new();
    EVENTS.get_or_init(|| serde_json::from_str(include_str!("events.json")).unwrap())
}

fn event(set: &str, name: &str) -> String {
    let event = &events()[set][name];
    assert!(event.is_object(), "no fixture {set}/{name}");
    event.to_string()
}

/// The fixture's event, parsed; its text lives for the rest of the test run (audio borrows it).
fn parse(set: &str, name: &str) -> ServerEvent<'static> {
    let interface = if set == "beta" {
        Interface::Beta
    } else {
        Interface::Ga
    };
    let text: &'static str = Box::leak(event(set, name).into_boxed_str());
    parse_server_event(text, interface).unwrap_or_else(|err| panic!("{set}/{name}: {err}"))
}

#[test]
fn it_should_read_the_session_events_of_both_interfaces() {
    for set in ["ga", "beta"] {
        assert_eq!(parse(set, "session.created"), ServerEvent::SessionCreated);
        assert_eq!(parse(set, "session.updated"), ServerEvent::SessionUpdated);
    }
}

#[test]
fn it_should_read_agent_audio_of_both_interfaces() {
    for set in ["ga", "beta", "lean"] {
        let ServerEvent::AudioDelta {
            response_id,
            item_id,
            content_index,
            delta,
        } = parse(set, "audio.delta")
        else {
            panic!("{set}: not audio");
        };
        assert_eq!(
            (response_id.as_ref(), item_id.as_ref(), content_index),
            ("resp_1", "item_4", 0),
            "{set}"
        );
        assert!(delta == "//7+/w==" || delta == "AAAA", "{set}: {delta}");
        // The hot path: nothing of a delta is copied out of its frame.
        for field in [&response_id, &item_id, &delta] {
            assert!(
                matches!(field, Cow::Borrowed(_)),
                "{set}: {field} was copied"
            );
        }
    }
    for set in ["ga", "beta"] {
        assert_eq!(
            parse(set, "audio.done"),
            ServerEvent::AudioDone {
                item_id: "item_4".to_owned()
            }
        );
    }
}

#[test]
fn it_should_read_the_caller_starting_and_stopping_to_speak() {
    for (set, start) in [("ga", 1000), ("beta", 1000), ("lean", 20)] {
        assert_eq!(
            parse(set, "speech_started"),
            ServerEvent::SpeechStarted {
                item_id: "item_2".to_owned(),
                audio_start_ms: start
            },
            "{set}"
        );
    }
    assert_eq!(parse("ga", "speech_stopped"), ServerEvent::SpeechStopped);
}

#[test]
fn it_should_read_both_sides_transcripts() {
    for set in ["ga", "beta"] {
        assert_eq!(
            parse(set, "transcript.done"),
            ServerEvent::AgentTranscriptDone {
                item_id: "item_4".to_owned(),
                transcript: "Hello, Bob's Plumbing.".to_owned()
            },
            "{set}"
        );
        assert_eq!(
            parse(set, "caller.completed"),
            ServerEvent::CallerTranscriptDone {
                item_id: "item_2".to_owned(),
                transcript: "I need a plumber.".to_owned()
            },
            "{set}"
        );
        assert_eq!(
            parse(set, "caller.failed"),
            ServerEvent::CallerTranscriptFailed {
                item_id: "item_2".to_owned()
            },
            "{set}"
        );
    }
    assert!(matches!(
        parse("lean", "caller.completed"),
        ServerEvent::CallerTranscriptDone { .. }
    ));
}

#[test]
fn it_should_read_responses_starting_and_ending() {
    for set in ["ga", "beta"] {
        assert_eq!(
            parse(set, "response.created"),
            ServerEvent::ResponseCreated {
                response_id: "resp_1".to_owned()
            }
        );
        assert_eq!(
            parse(set, "response.done"),
            ServerEvent::ResponseDone {
                response_id: "resp_1".to_owned(),
                status: ResponseStatus::Completed
            },
            "{set}"
        );
    }
    assert_eq!(
        parse("ga", "response.done.cancelled"),
        ServerEvent::ResponseDone {
            response_id: "resp_3".to_owned(),
            status: ResponseStatus::Cancelled
        }
    );
    assert!(matches!(
        parse("lean", "response.done"),
        ServerEvent::ResponseDone {
            status: ResponseStatus::Completed,
            ..
        }
    ));
}

#[test]
fn it_should_read_function_calls_with_their_name_where_the_interface_gives_it() {
    assert_eq!(
        parse("ga", "function_call.done"),
        ServerEvent::FunctionCall {
            call_id: "call_1".to_owned(),
            name: Some("take_message".to_owned()),
            arguments: r#"{"message":"Call me back"}"#.to_owned()
        }
    );
    assert_eq!(
        parse("beta", "function_call.done"),
        ServerEvent::FunctionCall {
            call_id: "call_1".to_owned(),
            name: None,
            arguments: r#"{"message":"Call me back"}"#.to_owned()
        },
        "beta: no name here"
    );
    for set in ["ga", "beta"] {
        assert_eq!(
            parse(set, "output_item.added.function_call"),
            ServerEvent::OutputItemAdded {
                item_id: "item_5".to_owned(),
                function_call: Some(("call_1".to_owned(), "take_message".to_owned()))
            },
            "{set}: where the beta bridge learns the name"
        );
    }
    assert_eq!(
        parse("ga", "output_item.added.message"),
        ServerEvent::OutputItemAdded {
            item_id: "item_4".to_owned(),
            function_call: None
        }
    );
}

#[test]
fn it_should_read_error_events_and_classify_them() {
    assert_eq!(
        parse("ga", "error"),
        ServerEvent::Error {
            kind: ErrorKind::Harmless,
            code: Some("response_cancel_not_active".to_owned()),
            message: "Cancellation failed: no active response found.".to_owned()
        }
    );
    assert!(matches!(
        parse("beta", "error"),
        ServerEvent::Error {
            kind: ErrorKind::Harmless,
            ..
        }
    ));
    assert_eq!(
        parse("lean", "error"),
        ServerEvent::Error {
            kind: ErrorKind::Fatal,
            code: None,
            message: "The server had an error.".to_owned()
        }
    );
}

#[test]
fn it_should_classify_each_listed_error() {
    for (error_type, code) in [
        ("invalid_request_error", Some("response_cancel_not_active")),
        (
            "invalid_request_error",
            Some("conversation_already_has_active_response"),
        ),
        ("invalid_request_error", Some("invalid_value")),
        (
            "invalid_request_error",
            Some("item_truncate_invalid_item_id"),
        ),
        ("invalid_request_error", Some("unknown_parameter")),
        ("invalid_request_error", Some("invalid_event")),
        ("invalid_request_error", Some("rate_limit_exceeded")),
        ("invalid_request_error", None),
        ("transcription_error", Some("audio_unintelligible")),
    ] {
        assert_eq!(
            ErrorKind::of(error_type, code),
            ErrorKind::Harmless,
            "{error_type}/{code:?}"
        );
    }
    for (error_type, code) in [
        ("invalid_request_error", Some("session_expired")),
        ("invalid_request_error", Some("invalid_api_key")),
        ("authentication_error", None),
        ("permission_error", None),
        ("insufficient_quota", Some("insufficient_quota")),
        ("invalid_request_error", Some("insufficient_quota")),
        ("invalid_request_error", Some("billing_hard_limit_reached")),
        ("invalid_request_error", Some("account_deactivated")),
        ("server_error", None),
        ("server_error", Some("internal_error")),
    ] {
        assert_eq!(
            ErrorKind::of(error_type, code),
            ErrorKind::Fatal,
            "{error_type}/{code:?}"
        );
    }
}

#[test]
fn it_should_map_beta_names_and_pass_other_events_through() {
    assert_eq!(
        parse("beta", "item.created"),
        ServerEvent::Other("conversation.item.added".to_owned())
    );
    assert_eq!(
        parse("beta", "transcript.delta"),
        ServerEvent::Other("response.output_audio_transcript.delta".to_owned())
    );
    for name in [
        "committed",
        "transcript.delta",
        "item.added",
        "item.done",
        "truncated",
        "rate_limits",
    ] {
        assert!(matches!(parse("ga", name), ServerEvent::Other(_)), "{name}");
    }
    assert_eq!(
        parse_server_event(
            r#"{"type":"response.mcp_call.failed","event_id":"e","item_id":"i","output_index":0}"#,
            Interface::Ga
        )
        .unwrap(),
        ServerEvent::Other("response.mcp_call.failed".to_owned())
    );
}

#[test]
fn it_should_ignore_unknown_events_even_when_their_fields_clash_with_ours() {
    for text in [
        r#"{"type":"future.event"}"#,
        r#"{"type":"future.event","delta":{"nested":true},"item":7,"response":"x","error":[]}"#,
    ] {
        assert_eq!(
            parse_server_event(text, Interface::Ga).unwrap(),
            ServerEvent::Other("future.event".to_owned()),
            "{text}"
        );
    }
}

#[test]
fn it_should_call_malformed_what_is_not_an_event_or_lacks_what_the_bridge_needs() {
    for text in [
        "",
        "not json",
        "[]",
        "{}",
        r#"{"type":7}"#,
        r#"{"type":"response.output_audio.delta","item_id":"i","response_id":"r"}"#,
        r#"{"type":"response.output_audio.delta","item_id":"i","response_id":"r","delta":5}"#,
        r#"{"type":"response.audio.delta","response_id":"r","delta":"AA"}"#,
        r#"{"type":"input_audio_buffer.speech_started"}"#,
        r#"{"type":"response.done","response":{"id":"r"}}"#,
        r#"{"type":"response.done","response":{"id":"r","status":"exploded"}}"#,
        r#"{"type":"response.created","response":{}}"#,
        r#"{"type":"error"}"#,
        r#"{"type":"error","error":{"code":"x"}}"#,
        r#"{"type":"response.function_call_arguments.done","call_id":"c"}"#,
        r#"{"type":"response.output_item.added","item":{"type":"function_call","id":"i"}}"#,
        r#"{"type":"conversation.item.input_audio_transcription.completed","item_id":"i"}"#,
    ] {
        assert!(
            matches!(
                parse_server_event(text, Interface::Ga),
                Err(RealtimeError::Malformed(_))
            ),
            "{text}: {:?}",
            parse_server_event(text, Interface::Ga)
        );
    }
}

#[test]
fn it_should_read_only_events_async_openai_also_accepts_as_ga_events() {
    // Our fixtures are real shapes: async-openai's own GA enum reads them all, except the
    // ones it is stricter about than the API (documented in `server.rs`).
    for (name, event) in events()["ga"].as_object().unwrap() {
        let parsed: Result<RealtimeServerEvent, _> = serde_json::from_value(event.clone());
        assert!(parsed.is_ok(), "{name}: {parsed:?}");
    }
}

#[test]
fn it_should_never_panic_on_damaged_events() {
    let samples: Vec<String> = ["ga", "beta", "lean"]
        .iter()
        .flat_map(|set| events()[set].as_object().unwrap().values())
        .map(Value::to_string)
        .collect();
    for text in &samples {
        for cut in 0..text.len() {
            if text.is_char_boundary(cut) {
                let _ = parse_server_event(&text[..cut], Interface::Ga);
                let _ = parse_server_event(&text[cut..], Interface::Beta);
            }
        }
    }
}

#[test]
fn it_should_read_the_beta_and_lean_events_async_openai_would_reject() {
    // Why `server.rs` does not decode through `RealtimeServerEvent`: these real beta shapes and
    // PROTOCOLS.md's lean shapes (no `event_id`) fail there, and the bridge needs every one.
    for (set, name, ga_type) in [
        ("beta", "session.created", "session.created"),
        ("beta", "response.created", "response.created"),
        ("beta", "response.done", "response.done"),
        (
            "beta",
            "function_call.done",
            "response.function_call_arguments.done",
        ),
        ("lean", "audio.delta", "response.output_audio.delta"),
        (
            "lean",
            "speech_started",
            "input_audio_buffer.speech_started",
        ),
        ("lean", "error", "error"),
    ] {
        let mut as_ga = events()[set][name].clone();
        as_ga["type"] = Value::String(ga_type.to_owned());
        let theirs: Result<RealtimeServerEvent, _> = serde_json::from_value(as_ga);
        assert!(theirs.is_err(), "{set}/{name} now decodes in async-openai");
        assert!(
            !matches!(parse(set, name), ServerEvent::Other(_)),
            "{set}/{name}"
        );
    }
}

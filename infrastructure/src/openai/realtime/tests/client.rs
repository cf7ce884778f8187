use serde_json::{json, Value};

use crate::openai::realtime::*;

fn config() -> SessionConfig {
    SessionConfig {
        model: "gpt-realtime".to_owned(),
        voice: "marin".to_owned(),
        instructions: "You answer for Bob's Plumbing.".to_owned(),
        tools: vec![Tool {
            name: "take_message".to_owned(),
            description: "Take a message for the owner.".to_owned(),
            parameters: json!({
                "type": "object",
                "properties": {"message": {"type": "string"}},
                "required": ["message"],
            }),
        }],
    }
}

fn sent(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn expected_tools() -> Value {
    json!([{
        "type": "function",
        "name": "take_message",
        "description": "Take a message for the owner.",
        "parameters": {
            "type": "object",
            "properties": {"message": {"type": "string"}},
            "required": ["message"],
        },
    }])
}

#[test]
fn it_should_write_the_ga_session_update_field_by_field() {
    let event = sent(&session_update(&config(), Interface::Ga));
    assert_eq!(event["type"], "session.update");
    assert_eq!(event.as_object().unwrap().len(), 2, "{event}");
    let session = &event["session"];
    assert_eq!(session["type"], "realtime");
    assert_eq!(session["instructions"], "You answer for Bob's Plumbing.");
    assert_eq!(session["output_modalities"], json!(["audio"]));
    assert_eq!(
        session["audio"],
        json!({
            "input": {
                "format": {"type": "audio/pcmu"},
                "turn_detection": {"type": "server_vad"},
                "transcription": {"model": "gpt-4o-transcribe"},
            },
            "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"},
        })
    );
    assert_eq!(session["tools"], expected_tools());
    assert_eq!(session["tool_choice"], "auto");
    assert_eq!(session.as_object().unwrap().len(), 6, "{session}");
}

#[test]
fn it_should_write_the_beta_session_update_field_by_field() {
    let event = sent(&session_update(&config(), Interface::Beta));
    assert_eq!(event["type"], "session.update");
    let session = &event["session"];
    assert_eq!(session["modalities"], json!(["audio", "text"]));
    assert_eq!(session["instructions"], "You answer for Bob's Plumbing.");
    assert_eq!(session["voice"], "marin");
    assert_eq!(session["input_audio_format"], "g711_ulaw");
    assert_eq!(session["output_audio_format"], "g711_ulaw");
    assert_eq!(session["turn_detection"], json!({"type": "server_vad"}));
    assert_eq!(
        session["input_audio_transcription"],
        json!({"model": "whisper-1"})
    );
    assert_eq!(session["tools"], expected_tools());
    assert_eq!(session["tool_choice"], "auto");
    assert_eq!(session.as_object().unwrap().len(), 9, "{session}");
    assert!(session.get("type").is_none(), "no GA session type in beta");
    assert!(session.get("audio").is_none(), "no GA audio block in beta");
}

#[test]
fn it_should_write_an_empty_tool_list_when_the_agent_has_no_tools() {
    let mut config = config();
    config.tools.clear();
    for interface in [Interface::Ga, Interface::Beta] {
        let event = sent(&session_update(&config, interface));
        assert_eq!(event["session"]["tools"], json!([]));
    }
}

#[test]
fn it_should_append_the_audio_as_it_came() {
    assert_eq!(
        append_audio("//7+/w=="),
        r#"{"type":"input_audio_buffer.append","audio":"//7+/w=="}"#
    );
    assert_eq!(
        sent(&append_audio("a\"b")),
        json!({"type": "input_audio_buffer.append", "audio": "a\"b"}),
        "escaped, should it ever need to be"
    );
}

#[test]
fn it_should_write_the_other_client_events() {
    assert_eq!(sent(&response_create()), json!({"type": "response.create"}));
    assert_eq!(sent(&response_cancel()), json!({"type": "response.cancel"}));
    assert_eq!(
        sent(&truncate("item_9", 0, 1_240)),
        json!({
            "type": "conversation.item.truncate",
            "item_id": "item_9",
            "content_index": 0,
            "audio_end_ms": 1_240,
        })
    );
    assert_eq!(
        sent(&truncate("item_9", 0, u64::MAX))["audio_end_ms"],
        json!(u32::MAX),
        "capped, not wrapped"
    );
    assert_eq!(
        sent(&function_call_output("call_1", r#"{"ok":true}"#)),
        json!({
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": "call_1",
                "output": "{\"ok\":true}",
            },
        })
    );
}

#[test]
fn it_should_write_client_events_async_openai_reads_back() {
    use async_openai::types::realtime::RealtimeClientEvent;
    for text in [
        append_audio("AAAA"),
        response_cancel(),
        truncate("item_9", 0, 10),
        response_create(),
    ] {
        let parsed: Result<RealtimeClientEvent, _> = serde_json::from_str(&text);
        assert!(parsed.is_ok(), "{text}: {parsed:?}");
    }
}

#[test]
fn it_should_read_the_interface_setting() {
    assert_eq!(Interface::parse("ga"), Some(Interface::Ga));
    assert_eq!(Interface::parse(" BETA "), Some(Interface::Beta));
    assert_eq!(Interface::parse("v1"), None);
    assert_eq!(Interface::default(), Interface::Ga);
}

#[test]
fn it_should_set_the_model_of_the_realtime_url() {
    let base = url::Url::parse("wss://api.openai.com/v1/realtime?model=gpt-realtime").unwrap();
    assert_eq!(
        realtime_url(&base, "gpt-realtime-mini").as_str(),
        "wss://api.openai.com/v1/realtime?model=gpt-realtime-mini"
    );
    let fake = url::Url::parse("ws://127.0.0.1:9000/realtime?token=x").unwrap();
    assert_eq!(
        realtime_url(&fake, "gpt-4o-realtime-preview").as_str(),
        "ws://127.0.0.1:9000/realtime?token=x&model=gpt-4o-realtime-preview"
    );
}

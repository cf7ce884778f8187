//! `FakeRealtime` against a plain WebSocket client.

use std::time::{Duration, Instant};

use async_openai::types::realtime::RealtimeServerEvent;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use support::fake_openai::{
    Behaviour, FakeRealtime, Mode, Pacing, ScriptedResponse, FAKE_OPENAI_KEY,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(5);

async fn connect(fake: &FakeRealtime, key: &str, beta: bool) -> Result<Ws, tungstenite::Error> {
    let mut request = fake.url().into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert("Authorization", format!("Bearer {key}").parse().unwrap());
    if beta {
        headers.insert("OpenAI-Beta", "realtime=v1".parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

async fn connected(fake: &FakeRealtime) -> Ws {
    let mut ws = connect(fake, FAKE_OPENAI_KEY, false).await.unwrap();
    assert_eq!(next_event(&mut ws).await["type"], "session.created");
    ws
}

async fn send(ws: &mut Ws, event: Value) {
    ws.send(Message::text(event.to_string())).await.unwrap();
}

/// The next server event (panics on a timeout or a closed socket).
async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a server event in time")
            .expect("the socket is open")
            .expect("no socket error");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// Server events up to and including the first of type `last`.
async fn events_until(ws: &mut Ws, last: &str) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let event = next_event(ws).await;
        let done = event["type"] == last;
        events.push(event);
        if done {
            return events;
        }
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect()
}

/// The GA `session.update` PROTOCOLS.md §6 describes.
fn ga_session_update(interrupt_response: bool) -> Value {
    json!({"type": "session.update", "session": {
        "type": "realtime",
        "instructions": "You answer the phone for Joe's Plumbing.",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcmu"},
                "turn_detection": {"type": "server_vad", "interrupt_response": interrupt_response},
                "transcription": {"model": "gpt-4o-transcribe"},
            },
            "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"},
        },
        "tools": [{"type": "function", "name": "take_message", "description": "Take a message.",
                   "parameters": {"type": "object", "properties": {"message": {"type": "string"}}}}],
        "tool_choice": "auto",
    }})
}

fn beta_session_update() -> Value {
    json!({"type": "session.update", "session": {
        "modalities": ["audio", "text"],
        "instructions": "You answer the phone.",
        "voice": "alloy",
        "input_audio_format": "g711_ulaw",
        "output_audio_format": "g711_ulaw",
        "turn_detection": {"type": "server_vad"},
        "input_audio_transcription": {"model": "whisper-1"},
        "tools": [],
    }})
}

/// Connects and configures a GA session.
async fn ga_session(fake: &FakeRealtime) -> Ws {
    let mut ws = connected(fake).await;
    send(&mut ws, ga_session_update(true)).await;
    assert_eq!(next_event(&mut ws).await["type"], "session.updated");
    ws
}

fn fast(chunks: usize) -> Behaviour {
    Behaviour {
        pacing: Pacing::Fast,
        audio_chunks: chunks,
        ..Behaviour::default()
    }
}

/// The GA events a typed client must understand parse with async-openai's types (an
/// independent model of the GA wire format). Caller items are left out: the real server sends
/// their `transcript` as null, which those types do not accept.
fn assert_parse_as_ga(events: &[Value]) {
    for event in events {
        if event["item"]["role"] == "user" {
            continue;
        }
        if let Err(err) = serde_json::from_value::<RealtimeServerEvent>(event.clone()) {
            panic!(
                "{} does not parse as a GA server event: {err}\n{event:#}",
                event["type"]
            );
        }
    }
}

#[tokio::test]
async fn it_should_refuse_an_upgrade_with_the_wrong_key_with_401() {
    let fake = FakeRealtime::start(Behaviour::default()).await;

    let refused = connect(&fake, "sk-wrong", false).await;
    let mut ws = connect(&fake, FAKE_OPENAI_KEY, false).await.unwrap();

    match refused {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["error"]["code"], "invalid_api_key");
        }
        other => panic!("expected a 401 refusal, got {other:?}"),
    }
    let created = next_event(&mut ws).await;
    assert_eq!(created["type"], "session.created");
    assert_eq!(created["session"]["model"], "gpt-realtime");
    assert_eq!(fake.refusals(), vec![401]);
    assert_eq!(fake.sessions().len(), 1);
    assert_eq!(fake.connection_attempts(), 2);
}

#[tokio::test]
async fn it_should_answer_session_update_with_session_updated_and_keep_the_config() {
    let fake = FakeRealtime::start(Behaviour::default()).await;
    let mut ws = connect(&fake, FAKE_OPENAI_KEY, false).await.unwrap();
    let created = next_event(&mut ws).await;

    send(&mut ws, ga_session_update(true)).await;
    let updated = next_event(&mut ws).await;

    assert_eq!(updated["type"], "session.updated");
    let session = &updated["session"];
    assert_eq!(
        session["instructions"],
        "You answer the phone for Joe's Plumbing."
    );
    assert_eq!(session["audio"]["input"]["format"]["type"], "audio/pcmu");
    assert_eq!(session["audio"]["output"]["voice"], "marin");
    assert_eq!(
        session["audio"]["input"]["turn_detection"]["prefix_padding_ms"], 300,
        "defaults kept"
    );
    assert_eq!(session["tools"][0]["name"], "take_message");
    let handle = fake.session(0, WAIT).await;
    assert_eq!(handle.session_config(), *session);
    assert_eq!(handle.client_events_of("session.update").len(), 1);
    assert!(handle.violations().is_empty(), "{:?}", handle.violations());
    assert_parse_as_ga(&[created, updated]);
}

#[tokio::test]
async fn it_should_refuse_a_beta_session_update_on_the_ga_interface() {
    let fake = FakeRealtime::start(Behaviour::default()).await;
    let mut ws = connected(&fake).await;

    send(&mut ws, beta_session_update()).await;
    let error = next_event(&mut ws).await;

    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["code"], "unknown_parameter");
    let handle = fake.session(0, WAIT).await;
    assert_eq!(handle.violations().len(), 1, "{:?}", handle.violations());
}

#[tokio::test]
async fn it_should_play_a_response_as_160_byte_deltas_then_complete_it() {
    let fake = FakeRealtime::start(Behaviour {
        script: vec![ScriptedResponse::new(5, "Hello, Joe's Plumbing.")],
        ..fast(0)
    })
    .await;
    let mut ws = ga_session(&fake).await;

    send(&mut ws, json!({"type": "response.create"})).await;
    let events = events_until(&mut ws, "response.done").await;

    let deltas: Vec<&Value> = events
        .iter()
        .filter(|event| event["type"] == "response.output_audio.delta")
        .collect();
    assert_eq!(deltas.len(), 5);
    let response_id = events[0]["response"]["id"].as_str().unwrap();
    for delta in &deltas {
        assert_eq!(
            STANDARD
                .decode(delta["delta"].as_str().unwrap())
                .unwrap()
                .len(),
            160
        );
        assert_eq!(delta["response_id"], response_id);
        assert!(delta["item_id"].as_str().unwrap().starts_with("item_"));
        assert_eq!(delta["output_index"], 0);
        assert_eq!(delta["content_index"], 0);
    }
    let names = types(&events);
    assert_eq!(names.first(), Some(&"response.created"));
    let position = |name: &str| names.iter().position(|n| *n == name).unwrap();
    assert!(position("response.output_audio.done") > position("response.output_audio.delta"));
    let transcript = &events[position("response.output_audio_transcript.done")];
    assert_eq!(transcript["transcript"], "Hello, Joe's Plumbing.");
    let done = events.last().unwrap();
    assert_eq!(done["response"]["status"], "completed");
    assert_eq!(
        done["response"]["output"][0]["content"][0]["type"],
        "output_audio"
    );
    let handle = fake.session(0, WAIT).await;
    assert_eq!(handle.audio_sent_bytes(), 800);
    assert_eq!(
        handle.agent_item_ids(),
        vec![deltas[0]["item_id"].as_str().unwrap().to_owned()]
    );
    assert!(handle.violations().is_empty(), "{:?}", handle.violations());
    assert_parse_as_ga(&events);
}

#[tokio::test]
async fn it_should_pace_the_audio_in_real_time_by_default() {
    let fake = FakeRealtime::start(Behaviour {
        audio_chunks: 10,
        ..Behaviour::default()
    })
    .await;
    let mut ws = ga_session(&fake).await;
    let started = Instant::now();

    send(&mut ws, json!({"type": "response.create"})).await;
    events_until(&mut ws, "response.done").await;

    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(180),
        "10 × 20 ms took {elapsed:?}"
    );
}

#[tokio::test]
async fn it_should_cancel_the_response_in_progress_when_speech_starts() {
    let fake = FakeRealtime::start(Behaviour {
        audio_chunks: 100,
        ..Behaviour::default()
    })
    .await;
    let mut ws = ga_session(&fake).await;
    let handle = fake.session(0, WAIT).await;
    send(&mut ws, json!({"type": "response.create"})).await;
    events_until(&mut ws, "response.output_audio.delta").await;

    handle.speech_started();
    let events = events_until(&mut ws, "response.done").await;

    let started = events
        .iter()
        .find(|event| event["type"] == "input_audio_buffer.speech_started")
        .expect("speech_started");
    assert!(started["audio_start_ms"].is_u64());
    assert!(started["item_id"].as_str().unwrap().starts_with("item_"));
    let done = events.last().unwrap();
    assert_eq!(done["response"]["status"], "cancelled");
    assert_eq!(
        done["response"]["status_details"]["reason"],
        "turn_detected"
    );
    let deltas = handle.audio_sent_bytes() / 160;
    assert!(deltas < 100, "cancelled early, after {deltas} deltas");
    assert_parse_as_ga(&events);
}

#[tokio::test]
async fn it_should_leave_the_cancel_to_the_client_when_interrupt_response_is_off() {
    let fake = FakeRealtime::start(Behaviour {
        audio_chunks: 100,
        ..Behaviour::default()
    })
    .await;
    let mut ws = connected(&fake).await;
    send(&mut ws, ga_session_update(false)).await;
    next_event(&mut ws).await;
    let handle = fake.session(0, WAIT).await;
    send(&mut ws, json!({"type": "response.create"})).await;
    events_until(&mut ws, "response.output_audio.delta").await;

    handle.speech_started();
    events_until(&mut ws, "input_audio_buffer.speech_started").await;
    send(
        &mut ws,
        json!({"type": "response.cancel", "event_id": "evt_cancel"}),
    )
    .await;
    let events = events_until(&mut ws, "response.done").await;

    let done = events.last().unwrap();
    assert_eq!(done["response"]["status"], "cancelled");
    assert_eq!(
        done["response"]["status_details"]["reason"],
        "client_cancelled"
    );
}

#[tokio::test]
async fn it_should_answer_a_cancel_with_nothing_in_progress_with_response_cancel_not_active() {
    let fake = FakeRealtime::start(fast(2)).await;
    let mut ws = ga_session(&fake).await;

    send(
        &mut ws,
        json!({"type": "response.cancel", "event_id": "evt_1"}),
    )
    .await;
    let error = next_event(&mut ws).await;
    send(&mut ws, json!({"type": "response.create"})).await;
    let after = events_until(&mut ws, "response.done").await;

    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(error["error"]["code"], "response_cancel_not_active");
    assert_eq!(error["error"]["event_id"], "evt_1");
    assert_eq!(
        after.last().unwrap()["response"]["status"],
        "completed",
        "the session goes on"
    );
    assert_parse_as_ga(&[error]);
}

#[tokio::test]
async fn it_should_refuse_a_second_response_while_one_is_in_progress() {
    let fake = FakeRealtime::start(Behaviour {
        audio_chunks: 50,
        ..Behaviour::default()
    })
    .await;
    let mut ws = ga_session(&fake).await;

    send(&mut ws, json!({"type": "response.create"})).await;
    send(&mut ws, json!({"type": "response.create"})).await;
    let events = events_until(&mut ws, "error").await;

    assert_eq!(
        events.last().unwrap()["error"]["code"],
        "conversation_already_has_active_response"
    );
}

#[tokio::test]
async fn it_should_shape_a_ga_function_call_with_its_name() {
    let fake = FakeRealtime::start(fast(1)).await;
    let mut ws = ga_session(&fake).await;
    let handle = fake.session(0, WAIT).await;

    let call_id = handle.function_call("take_message", r#"{"message":"call me back"}"#);
    let events = events_until(&mut ws, "response.done").await;

    let added = events
        .iter()
        .find(|event| event["type"] == "response.output_item.added")
        .unwrap();
    assert_eq!(added["item"]["type"], "function_call");
    assert_eq!(added["item"]["name"], "take_message");
    let arguments = events
        .iter()
        .find(|event| event["type"] == "response.function_call_arguments.done")
        .unwrap();
    assert_eq!(arguments["call_id"], call_id.as_str());
    assert_eq!(arguments["name"], "take_message");
    assert_eq!(arguments["arguments"], r#"{"message":"call me back"}"#);
    assert_eq!(events.last().unwrap()["response"]["status"], "completed");
    assert_parse_as_ga(&events);

    send(
        &mut ws,
        json!({"type": "conversation.item.create", "item": {
        "type": "function_call_output", "call_id": call_id, "output": "{\"ok\":true}"}}),
    )
    .await;
    let added = events_until(&mut ws, "conversation.item.added").await;
    assert_eq!(added.last().unwrap()["item"]["call_id"], call_id.as_str());
    assert!(handle.violations().is_empty(), "{:?}", handle.violations());
}

#[tokio::test]
async fn it_should_shape_a_beta_function_call_without_a_name_in_the_arguments() {
    let fake = FakeRealtime::start(Behaviour {
        pacing: Pacing::Fast,
        ..Behaviour::beta()
    })
    .await;
    let mut ws = connect(&fake, FAKE_OPENAI_KEY, true).await.unwrap();
    let created = next_event(&mut ws).await;
    send(&mut ws, beta_session_update()).await;
    let updated = next_event(&mut ws).await;
    let handle = fake.session(0, WAIT).await;

    handle.function_call("end_call", "{}");
    let events = events_until(&mut ws, "response.done").await;

    assert_eq!(created["session"]["voice"], "alloy");
    assert_eq!(updated["type"], "session.updated");
    assert_eq!(updated["session"]["output_audio_format"], "g711_ulaw");
    let added = events
        .iter()
        .find(|event| event["type"] == "response.output_item.added")
        .unwrap();
    assert_eq!(added["item"]["name"], "end_call");
    assert!(types(&events).contains(&"conversation.item.created"));
    let arguments = events
        .iter()
        .find(|event| event["type"] == "response.function_call_arguments.done")
        .unwrap();
    assert!(
        arguments.get("name").is_none(),
        "beta has no name here: {arguments}"
    );
    assert!(handle.violations().is_empty(), "{:?}", handle.violations());
}

#[tokio::test]
async fn it_should_use_the_beta_event_names_for_audio() {
    let fake = FakeRealtime::start(Behaviour {
        pacing: Pacing::Fast,
        audio_chunks: 2,
        ..Behaviour::beta()
    })
    .await;
    let mut ws = connect(&fake, FAKE_OPENAI_KEY, true).await.unwrap();
    next_event(&mut ws).await;
    send(&mut ws, beta_session_update()).await;
    next_event(&mut ws).await;

    send(&mut ws, json!({"type": "response.create"})).await;
    let events = events_until(&mut ws, "response.done").await;

    let names = types(&events);
    assert!(names.contains(&"response.audio.delta"), "{names:?}");
    assert!(
        names.contains(&"response.audio_transcript.done"),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|name| name.contains("output_audio")),
        "{names:?}"
    );
}

#[tokio::test]
async fn it_should_play_a_caller_turn_and_answer_it() {
    let fake = FakeRealtime::start(fast(2)).await;
    let mut ws = ga_session(&fake).await;
    let handle = fake.session(0, WAIT).await;
    let frame = STANDARD.encode([0xFF_u8; 160]);
    for _ in 0..3 {
        send(
            &mut ws,
            json!({"type": "input_audio_buffer.append", "audio": frame}),
        )
        .await;
    }
    handle
        .wait_until(|record| record.appended_bytes == 480, WAIT)
        .await;

    handle.caller_turn("I need a plumber");
    let events = events_until(
        &mut ws,
        "conversation.item.input_audio_transcription.completed",
    )
    .await;

    let names = types(&events);
    for expected in [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "response.created",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let committed = events
        .iter()
        .find(|event| event["type"] == "input_audio_buffer.committed")
        .unwrap();
    let transcript = events.last().unwrap();
    assert_eq!(transcript["transcript"], "I need a plumber");
    assert_eq!(transcript["item_id"], committed["item_id"]);
    assert_eq!(handle.appended_audio_bytes(), 480);
    assert_eq!(handle.appended_audio(), vec![0xFF; 480]);
    assert_parse_as_ga(&events);
}

#[tokio::test]
async fn it_should_truncate_within_the_audio_sent_and_refuse_beyond_it() {
    let fake = FakeRealtime::start(fast(5)).await;
    let mut ws = ga_session(&fake).await;
    send(&mut ws, json!({"type": "response.create"})).await;
    let events = events_until(&mut ws, "response.done").await;
    let item_id = events[1]["item"]["id"].as_str().unwrap().to_owned();

    send(&mut ws, json!({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 60})).await;
    let truncated = events_until(&mut ws, "conversation.item.truncated")
        .await
        .pop()
        .unwrap();
    send(&mut ws, json!({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 500})).await;
    let refused = events_until(&mut ws, "error").await.pop().unwrap();

    assert_eq!(truncated["type"], "conversation.item.truncated");
    assert_eq!(truncated["audio_end_ms"], 60);
    assert_eq!(refused["type"], "error");
    assert_eq!(
        refused["error"]["message"],
        "Audio content of 100ms is already shorter than 500ms"
    );
    let handle = fake.session(0, WAIT).await;
    assert_eq!(handle.truncates().len(), 2);
    assert_eq!(handle.violations().len(), 1, "{:?}", handle.violations());
}

#[tokio::test]
async fn it_should_inject_an_error_and_go_on() {
    let fake = FakeRealtime::start(fast(1)).await;
    let mut ws = ga_session(&fake).await;
    let handle = fake.session(0, WAIT).await;

    handle.error(
        "invalid_request_error",
        "invalid_value",
        "Something about one event.",
    );
    let error = next_event(&mut ws).await;
    send(&mut ws, json!({"type": "response.create"})).await;
    let after = events_until(&mut ws, "response.done").await;

    assert_eq!(error["error"]["code"], "invalid_value");
    assert_eq!(after.last().unwrap()["response"]["status"], "completed");
}

#[tokio::test]
async fn it_should_record_unknown_client_events_without_ending_the_session() {
    let fake = FakeRealtime::start(fast(1)).await;
    let mut ws = ga_session(&fake).await;

    send(&mut ws, json!({"type": "no.such.event"})).await;
    let error = next_event(&mut ws).await;
    send(&mut ws, json!({"type": "response.create"})).await;
    events_until(&mut ws, "response.done").await;

    assert_eq!(error["error"]["code"], "invalid_value");
    let handle = fake.session(0, WAIT).await;
    let recorded = handle.wait_for_event("no.such.event", WAIT).await;
    assert_eq!(recorded["type"], "no.such.event");
    assert_eq!(handle.violations().len(), 1);
}

#[tokio::test]
async fn it_should_expire_with_session_expired_then_close_the_socket() {
    let fake = FakeRealtime::start(Behaviour::default()).await;
    let mut ws = ga_session(&fake).await;
    let handle = fake.session(0, WAIT).await;

    handle.expire();
    let error = next_event(&mut ws).await;
    let close = tokio::time::timeout(WAIT, ws.next()).await.unwrap();

    assert_eq!(error["error"]["code"], "session_expired");
    match close {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert_eq!(handle.wait_closed(WAIT).await, "session expired");
}

#[tokio::test]
async fn it_should_disconnect_abruptly_on_demand() {
    let fake = FakeRealtime::start(Behaviour::default()).await;
    let mut ws = ga_session(&fake).await;
    let handle = fake.session(0, WAIT).await;

    handle.disconnect();
    let end = tokio::time::timeout(WAIT, ws.next()).await.unwrap();

    assert!(
        !matches!(end, Some(Ok(Message::Close(_)))),
        "no close frame: {end:?}"
    );
    fake.wait_all_closed(WAIT).await;
}

#[tokio::test]
async fn it_should_refuse_the_upgrade_with_the_configured_status() {
    let fake = FakeRealtime::start(Behaviour::mode(Mode::RefuseConnect(429))).await;

    let refused = connect(&fake, FAKE_OPENAI_KEY, false).await;

    match refused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("expected a 429 refusal, got {other:?}"),
    }
    assert_eq!(fake.refusals(), vec![429]);
    assert!(fake.sessions().is_empty());
}

#[tokio::test]
async fn it_should_hang_the_handshake_until_the_client_gives_up() {
    let fake = FakeRealtime::start(Behaviour::mode(Mode::Hang)).await;

    let attempt = tokio::time::timeout(
        Duration::from_millis(300),
        connect(&fake, FAKE_OPENAI_KEY, false),
    )
    .await;

    assert!(attempt.is_err(), "the handshake never completes");
    assert_eq!(fake.connection_attempts(), 1);
    assert!(fake.sessions().is_empty());
    fake.wait_all_closed(WAIT).await;
}

#[tokio::test]
async fn it_should_drop_the_socket_after_the_configured_number_of_client_events() {
    let fake = FakeRealtime::start(Behaviour::mode(Mode::DropAfter(2))).await;
    let mut ws = connected(&fake).await;

    send(&mut ws, ga_session_update(true)).await;
    send(
        &mut ws,
        json!({"type": "input_audio_buffer.append", "audio": STANDARD.encode([0xFF_u8; 160])}),
    )
    .await;
    let mut ended = false;
    for _ in 0..10 {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Text(_))) => {}
            Some(Ok(Message::Close(_))) => panic!("dropped, not closed"),
            _ => {
                ended = true;
                break;
            }
        }
    }

    assert!(ended);
    let handle = fake.session(0, WAIT).await;
    assert_eq!(
        handle.wait_closed(WAIT).await,
        "dropped after 2 client events"
    );
    assert_eq!(handle.client_events().len(), 2);
}

#[tokio::test]
async fn it_should_record_a_beta_header_sent_to_a_ga_session_as_a_violation() {
    let fake = FakeRealtime::start(Behaviour::default()).await;

    let mut ws = connect(&fake, FAKE_OPENAI_KEY, true).await.unwrap();
    next_event(&mut ws).await;

    let handle = fake.session(0, WAIT).await;
    assert_eq!(
        handle.handshake().header("OpenAI-Beta"),
        Some("realtime=v1")
    );
    assert_eq!(handle.violations().len(), 1, "{:?}", handle.violations());
}

#[tokio::test]
async fn it_should_record_pcm_output_as_a_violation() {
    let fake = FakeRealtime::start(fast(1)).await;
    let mut ws = connected(&fake).await;

    send(&mut ws, json!({"type": "response.create"})).await;
    events_until(&mut ws, "response.done").await;

    let handle = fake.session(0, WAIT).await;
    let violations = handle.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("not μ-law"), "{violations:?}");
}

#[tokio::test]
async fn it_should_serve_many_sessions_at_once() {
    let fake = FakeRealtime::start(Behaviour {
        audio_chunks: 10,
        record_audio: false,
        ..Behaviour::default()
    })
    .await;

    let calls = (0..50).map(|_| {
        let url_fake = &fake;
        async move {
            let mut ws = ga_session(url_fake).await;
            send(&mut ws, json!({"type": "response.create"})).await;
            events_until(&mut ws, "response.done").await;
            ws.close(None).await.unwrap();
        }
    });
    futures::future::join_all(calls).await;

    assert_eq!(fake.sessions().len(), 50);
    fake.wait_all_closed(WAIT).await;
}

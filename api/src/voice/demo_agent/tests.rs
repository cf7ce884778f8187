// Test code: a panic is a failed assertion with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use futures::{SinkExt, StreamExt};
use infrastructure::openai::realtime::{self, Interface, ServerEvent};
use serde_json::Value;

use super::audio::{self, Tone, FRAME_BYTES, SILENCE};
use super::*;

fn types(events: &[String]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(e).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn parsed(events: &[String]) -> Vec<ServerEvent<'_>> {
    events
        .iter()
        .map(|e| realtime::parse_server_event(e, Interface::Ga).unwrap())
        .collect()
}

fn append(audio: &[u8]) -> String {
    realtime::append_audio(&base64::engine::general_purpose::STANDARD.encode(audio))
}

/// Feeds `frames` frames of `frame` and returns every event they caused.
fn feed(script: &mut Script, frame: &[u8], frames: usize) -> Vec<String> {
    (0..frames)
        .flat_map(|_| script.on_client_event(&append(frame)))
        .collect()
}

fn function_call(events: &[String]) -> (String, String, String) {
    parsed(events)
        .into_iter()
        .find_map(|event| match event {
            ServerEvent::FunctionCall {
                call_id,
                name,
                arguments,
            } => Some((call_id, name.unwrap(), arguments)),
            _ => None,
        })
        .expect("a function call")
}

fn audio_bytes(events: &[String]) -> usize {
    parsed(events)
        .into_iter()
        .map(|event| match event {
            ServerEvent::AudioDelta { delta, .. } => base64::engine::general_purpose::STANDARD
                .decode(delta.as_bytes())
                .unwrap()
                .len(),
            _ => 0,
        })
        .sum()
}

#[test]
fn it_should_confirm_the_session_and_greet_with_a_soft_tone_naming_itself() {
    let mut script = Script::new();

    let opening = script.opening();
    let updated = script.on_client_event(&realtime::session_update(
        &realtime::SessionConfig {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
            instructions: "Be nice.".into(),
            tools: Vec::new(),
        },
        Interface::Ga,
    ));
    let greeting = script.on_client_event(&realtime::response_create());

    assert_eq!(parsed(&opening), [ServerEvent::SessionCreated]);
    assert_eq!(parsed(&updated), [ServerEvent::SessionUpdated]);
    let session: Value = serde_json::from_str(&updated[0]).unwrap();
    assert_eq!(session["session"]["model"], MODEL);
    assert_eq!(session["session"]["instructions"], "Be nice.");
    let kinds = types(&greeting);
    assert_eq!(kinds.first().unwrap(), "response.created");
    assert_eq!(kinds.last().unwrap(), "response.done");
    assert_eq!(audio_bytes(&greeting), 12_000, "1.5 s of μ-law");
    for event in parsed(&greeting) {
        if let ServerEvent::AudioDelta { delta, .. } = event {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(delta.as_bytes())
                .unwrap();
            assert_eq!(bytes.len(), FRAME_BYTES);
        }
    }
    let transcript = parsed(&greeting).into_iter().find_map(|e| match e {
        ServerEvent::AgentTranscriptDone { transcript, .. } => Some(transcript),
        _ => None,
    });
    assert!(transcript.unwrap().contains("built-in demo agent"));
    assert!(matches!(
        parsed(&greeting).last(),
        Some(ServerEvent::ResponseDone { .. })
    ));
}

#[test]
fn it_should_take_its_turn_once_the_caller_has_spoken_and_fallen_silent() {
    let mut script = Script::new();
    script.on_client_event(&realtime::response_create());
    let silence = [SILENCE; FRAME_BYTES];
    let mut tone = Tone::new(300, 10_000);

    let during_greeting = feed(&mut script, &silence, 75);
    let before_speech = feed(&mut script, &silence, 10);
    let speech: Vec<String> = (0..50)
        .flat_map(|_| script.on_client_event(&append(&tone.next(FRAME_BYTES))))
        .collect();
    let pause = feed(&mut script, &silence, 24);
    let turn = feed(&mut script, &silence, 1);
    let after = feed(&mut script, &silence, 200);

    assert!(
        during_greeting.is_empty(),
        "the greeting's own time is ignored"
    );
    assert!(before_speech.is_empty());
    let speech = parsed(&speech);
    let ServerEvent::SpeechStarted {
        item_id,
        audio_start_ms,
    } = &speech[0]
    else {
        panic!("speech started: {speech:?}");
    };
    assert_eq!(speech.len(), 1);
    assert_eq!(*audio_start_ms, 1_700, "where the input's speech began");
    assert!(pause.is_empty(), "less than 500 ms of silence");
    assert_eq!(
        types(&turn)[..5],
        [
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.input_audio_transcription.completed",
            "response.created",
        ]
    );
    assert!(parsed(&turn).contains(&ServerEvent::CallerTranscriptDone {
        item_id: item_id.clone(),
        transcript: CALLER_TRANSCRIPT.into(),
    }));
    let (_, name, arguments) = function_call(&turn);
    assert_eq!(name, "take_message");
    let call = crate::voice::tools::parse(&name, &arguments).unwrap();
    assert_eq!(
        call,
        crate::voice::tools::ToolCall::TakeMessage {
            caller_name: Some(CALLER_NAME.into()),
            callback_number: Some(CALLBACK_NUMBER.into()),
            message: MESSAGE.into(),
            urgency: domain::call::Urgency::Normal,
        }
    );
    assert!(after.is_empty(), "one turn only");
}

#[test]
fn it_should_take_its_turn_after_two_seconds_of_silence_too() {
    let mut script = Script::new();
    script.on_client_event(&realtime::response_create());
    let silence = [SILENCE; FRAME_BYTES];

    let before = feed(&mut script, &silence, 75 + 99);
    let turn = feed(&mut script, &silence, 1);

    assert!(before.is_empty());
    assert_eq!(types(&turn)[0], "input_audio_buffer.speech_started");
    assert_eq!(function_call(&turn).1, "take_message");
}

#[test]
fn it_should_confirm_then_end_the_call_then_say_goodbye() {
    let mut script = Script::new();
    script.on_client_event(&realtime::response_create());
    let turn = feed(&mut script, &[SILENCE; FRAME_BYTES], 175);
    let (take_id, _, _) = function_call(&turn);

    let taken = script.on_client_event(&realtime::function_call_output(&take_id, r#"{"ok":true}"#));
    let confirmation = script.on_client_event(&realtime::response_create());
    let (end_id, end_name, end_arguments) = function_call(&confirmation);
    script.on_client_event(&realtime::function_call_output(&end_id, r#"{"ok":true}"#));
    let goodbye = script.on_client_event(&realtime::response_create());
    let more = script.on_client_event(&realtime::response_create());

    assert_eq!(types(&taken), ["conversation.item.added"]);
    assert!(audio_bytes(&confirmation) > 0, "the confirmation is spoken");
    assert_eq!(end_name, "end_call");
    assert_eq!(
        crate::voice::tools::parse(&end_name, &end_arguments),
        Ok(crate::voice::tools::ToolCall::EndCall)
    );
    assert!(audio_bytes(&goodbye) > 0);
    assert!(script.is_done());
    assert!(
        audio_bytes(&more) > 0,
        "any further response is a short line"
    );
}

#[test]
fn it_should_answer_a_cancel_a_truncate_and_garbage_without_ending() {
    let mut script = Script::new();

    let cancel = script.on_client_event(&realtime::response_cancel());
    let truncate = script.on_client_event(&realtime::truncate("item_1", 0, 700));
    let garbage = script.on_client_event("not json");
    let unknown = script.on_client_event(r#"{"type":"output_audio_buffer.clear"}"#);

    assert!(matches!(
        &parsed(&cancel)[0],
        ServerEvent::Error { code: Some(code), .. } if code == "response_cancel_not_active"
    ));
    assert_eq!(types(&truncate), ["conversation.item.truncated"]);
    assert_eq!(types(&garbage), ["error"]);
    assert!(unknown.is_empty());
}

#[test]
fn it_should_tell_speech_from_silence() {
    let mut tone = Tone::new(440, 2_500);

    assert!(!audio::is_loud(&[SILENCE; FRAME_BYTES]));
    assert!(audio::is_loud(&tone.next(FRAME_BYTES)));
    for sample in [-20_000_i16, -1_000, 0, 1_000, 20_000] {
        let back = audio::ulaw_to_linear(audio::linear_to_ulaw(sample));
        assert!(
            (i32::from(back) - i32::from(sample)).abs() <= i32::from(sample).abs() / 16 + 8,
            "{sample} → {back}"
        );
    }
}

#[tokio::test]
async fn it_should_play_a_session_over_channels_until_the_client_closes() {
    let (client_tx, client_rx) = futures::channel::mpsc::unbounded::<Result<String, String>>();
    let (server_tx, mut server_rx) = futures::channel::mpsc::unbounded::<String>();
    let agent = tokio::spawn(converse(client_rx, server_tx));

    let created = server_rx.next().await.unwrap();
    client_tx
        .unbounded_send(Ok(realtime::response_create()))
        .unwrap();
    let first = server_rx.next().await.unwrap();
    client_tx.close_channel();
    agent.await.unwrap();
    let rest: Vec<String> = server_rx.collect().await;

    assert_eq!(types(&[created]), ["session.created"]);
    assert_eq!(types(&[first]), ["response.created"]);
    assert_eq!(types(&rest).last().unwrap(), "response.done");
}

#[tokio::test]
async fn it_should_serve_the_realtime_protocol_on_a_local_socket() {
    let url = url().unwrap();
    let again = super::url().unwrap();
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();

    let first = socket.next().await.unwrap().unwrap();
    socket
        .send(Message::text(realtime::response_create()))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    while kinds.last().map(String::as_str) != Some("response.done") {
        let text = socket.next().await.unwrap().unwrap().into_text().unwrap();
        kinds.extend(types(&[text.as_str().to_owned()]));
    }
    socket.close(None).await.unwrap();

    assert_eq!(url, again, "one demo agent per process");
    assert_eq!(url.host_str(), Some("127.0.0.1"));
    assert_eq!(
        types(&[first.into_text().unwrap().as_str().to_owned()]),
        ["session.created"]
    );
    assert!(kinds.contains(&"response.output_audio.delta".to_owned()));
}

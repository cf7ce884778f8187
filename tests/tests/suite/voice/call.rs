//! A whole AI call, and what the socket itself refuses or skips.

use support::fake_openai::{Pacing, ScriptedResponse};
use support::fake_twilio_media::{SignatureMode, SILENCE};
use tokio_tungstenite::tungstenite;

use super::*;

const GREETING: &str = "Thanks for calling Joe's Plumbing, how can I help you today?";

/// Two seconds of greeting sent at once, so the caller can interrupt it while it plays.
fn conversation() -> Behaviour {
    Behaviour {
        pacing: Pacing::Fast,
        script: vec![
            ScriptedResponse::new(100, GREETING),
            ScriptedResponse::new(10, "Sorry, go ahead."),
            ScriptedResponse::new(10, "I have passed your message on."),
            ScriptedResponse::new(10, "Goodbye!"),
        ],
        ..Behaviour::default()
    }
}

#[tokio::test]
async fn it_should_carry_a_whole_ai_call_from_greeting_to_hang_up() {
    let rig = Rig::start(conversation()).await;
    let (sid, stream) = rig.call().await;
    let session = rig.openai.session(0, WAIT).await;

    // The session: μ-law both ways, server VAD, transcription, the business' voice and tools.
    let update = session.wait_for_event("session.update", WAIT).await;
    let config = &update["session"];
    assert_eq!(config["audio"]["input"]["format"]["type"], "audio/pcmu");
    assert_eq!(config["audio"]["output"]["format"]["type"], "audio/pcmu");
    assert_eq!(
        config["audio"]["input"]["turn_detection"]["type"],
        "server_vad"
    );
    assert_eq!(config["audio"]["output"]["voice"], "marin");
    let instructions = config["instructions"].as_str().unwrap();
    assert!(instructions.starts_with("You are the receptionist of Joe's Plumbing."));
    assert!(
        instructions.contains("for Joe's Plumbing"),
        "{instructions}"
    );
    let tools: Vec<&str> = config["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert_eq!(tools, ["take_message", "end_call", "transfer_to_owner"]);
    assert!(session.handshake().uri.contains("model=gpt-realtime"));
    assert_eq!(
        session.handshake().header("authorization"),
        Some(format!("Bearer {FAKE_OPENAI_KEY}").as_str())
    );

    // The agent greets first; its audio reaches the caller untouched, in 20 ms deltas, with a
    // mark after every 100 ms of it.
    stream
        .wait_for(|log| log.received_audio_ms() >= 2_000, WAIT)
        .await;
    assert_eq!(
        stream.received_audio().len() as u64,
        session.audio_sent_bytes()
    );
    assert_eq!(stream.marks_received().len(), 20);
    // The caller's audio reaches OpenAI untouched.
    session
        .wait_until(|record| record.appended_bytes >= 1_600, WAIT)
        .await;
    assert!(session.appended_audio().iter().all(|byte| *byte == SILENCE));

    // Barge-in after about half a second of the greeting.
    let deadline = Instant::now() + WAIT;
    while stream.played_audio_ms() < 500 {
        assert!(Instant::now() < deadline, "the greeting does not play");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    session.speech_started();
    stream.wait_for(|log| !log.clears.is_empty(), WAIT).await;
    session
        .wait_until(|record| !record.truncates.is_empty(), WAIT)
        .await;
    let clear = &stream.clears()[0];
    let heard_ms = 2_000 - clear.dropped_audio.as_millis() as u64;
    let truncate = &session.truncates()[0];
    assert_eq!(truncate["item_id"], session.agent_item_ids()[0].as_str());
    assert_eq!(truncate["content_index"], 0);
    let cut_ms = truncate["audio_end_ms"].as_u64().unwrap();
    assert!(
        cut_ms.abs_diff(heard_ms) <= 100,
        "truncated at {cut_ms} ms, the caller heard {heard_ms} ms"
    );
    assert!(session.client_events_of("response.cancel").is_empty());

    // The caller speaks; the agent takes a message and ends the call.
    session.speech_stopped();
    session.caller_says("This is Ann, my sink is leaking, call me back at 415 555 0111.");
    let message = json!({"caller_name": "Ann", "callback_number": "+14155550111",
                         "message": "Her sink is leaking.", "urgency": "high"});
    let take = session.function_call("take_message", &message.to_string());
    let outputs = session
        .wait_for(
            |events| {
                events
                    .iter()
                    .any(|event| event["item"]["call_id"] == take.as_str())
            },
            WAIT,
        )
        .await;
    let output = outputs
        .iter()
        .find(|event| event["item"]["call_id"] == take.as_str())
        .unwrap();
    assert_eq!(output["item"]["output"], r#"{"ok":true}"#);
    session.function_call("end_call", "{}");

    // Once the goodbye has played, the call is hung up through Twilio's REST API.
    rig.wait_call_update(&sid, "Status", "completed").await;
    session.wait_closed(WAIT).await;
    let events = rig.wait_event(&sid, "AiSessionEnded").await;
    assert_eq!(
        payload_of(&events, "AiSessionEnded")["reason"],
        "agent ended the call"
    );
    assert_eq!(
        payload_of(&events, "AiSessionStarted"),
        &json!({"model": "gpt-realtime", "voice": "marin"})
    );
    assert_eq!(payload_of(&events, "MessageTaken")["urgency"], "high");
    assert_eq!(payload_of(&events, "MessageTaken")["caller_name"], "Ann");
    assert_eq!(
        metadata_of(&events, "MessageTaken")["actor"],
        "voice-bridge"
    );
    let segments: Vec<(String, String)> = events
        .iter()
        .filter(|(kind, _, _)| kind == "TranscriptSegmentRecorded")
        .map(|(_, payload, _)| {
            (
                payload["TranscriptSegmentRecorded"]["speaker"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                payload["TranscriptSegmentRecorded"]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    // The interrupted greeting holds only what the caller heard.
    let (speaker, greeting) = &segments[0];
    assert_eq!(speaker, "agent");
    assert!(
        greeting.ends_with('…') && greeting.len() < GREETING.len(),
        "{greeting}"
    );
    assert!(
        GREETING.starts_with(greeting.trim_end_matches('…')),
        "{greeting}"
    );
    assert!(segments.contains(&(
        "caller".into(),
        "This is Ann, my sink is leaking, call me back at 415 555 0111.".into()
    )));
    assert!(
        segments.contains(&("agent".into(), "Goodbye!".into())),
        "{segments:?}"
    );
    assert!(stream.violations().is_empty(), "{:?}", stream.violations());
    assert!(
        session.violations().is_empty(),
        "{:?}",
        session.violations()
    );
    rig.wait_no_live_sessions().await;
}

#[tokio::test]
async fn it_should_refuse_an_unsigned_or_wrongly_signed_handshake_before_the_upgrade() {
    let rig = Rig::start(Behaviour::default()).await;
    let (sid, _, _) = rig.incoming_call().await;

    for signature in [
        SignatureMode::Missing,
        SignatureMode::Given("RSOYDt4T1cUTdK1PDd93/VVr8B8=".into()),
    ] {
        let mut options = rig.stream_options(&sid);
        options.signature = signature.clone();
        let refused = MediaStreamClient::connect_with(options).await;
        match refused {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403, "{signature:?}");
            }
            Err(other) => panic!("{signature:?}: refused otherwise: {other}"),
            Ok(_) => panic!("{signature:?}: the upgrade was accepted"),
        }
    }
    assert_eq!(rig.openai.connection_attempts(), 0);
    assert_eq!(rig.sessions.live(), 0);
}

#[tokio::test]
async fn it_should_skip_malformed_frames_and_go_on_relaying() {
    let rig = Rig::start(Behaviour::default()).await;
    let (sid, stream) = rig.call().await;
    let session = rig.openai.session(0, WAIT).await;
    session
        .wait_until(|record| record.appended_bytes > 0, WAIT)
        .await;

    stream.send_raw("not json at all");
    stream.send_raw(r#"{"event":"teleport","streamSid":"MZ1"}"#);
    stream.send_raw(r#"{"event":"media","streamSid":"MZ1"}"#);
    stream.send_dtmf('5');
    let before = session.appended_audio_bytes();

    session
        .wait_until(|record| record.appended_bytes >= before + 800, WAIT)
        .await;
    stream.stop().await;
    let events = rig.wait_event(&sid, "AiSessionEnded").await;
    assert_eq!(
        payload_of(&events, "AiSessionEnded")["reason"],
        "caller hung up"
    );
    session.wait_closed(WAIT).await;
    rig.wait_no_live_sessions().await;
}

#[tokio::test]
async fn it_should_close_the_openai_session_when_twilios_socket_drops() {
    let rig = Rig::start(Behaviour::default()).await;
    let (sid, stream) = rig.call().await;
    let session = rig.openai.session(0, WAIT).await;
    session
        .wait_until(|record| record.appended_bytes > 0, WAIT)
        .await;

    stream.drop_connection().await;

    session.wait_closed(WAIT).await;
    let events = rig.wait_event(&sid, "AiSessionEnded").await;
    let reason = payload_of(&events, "AiSessionEnded")["reason"]
        .as_str()
        .unwrap();
    assert!(reason.starts_with("twilio"), "{reason}");
    assert!(
        rig.call_updates(&sid).await.is_empty(),
        "nothing to tell Twilio"
    );
    rig.wait_no_live_sessions().await;
}

#[tokio::test]
async fn it_should_refuse_a_stream_for_a_call_that_is_not_with_the_agent() {
    let rig = Rig::start(Behaviour::default()).await;
    let sid = new_call_sid();

    let stream = MediaStreamClient::connect_with(rig.stream_options(&sid))
        .await
        .expect("a signed handshake is upgraded");

    stream.wait_closed(WAIT).await;
    assert_eq!(rig.openai.connection_attempts(), 0);
    assert!(rig.app.event_types_of(&sid).await.is_empty());
    rig.wait_no_live_sessions().await;
}

//! Every way the agent can fail ends with the caller in voicemail (a Twilio REST redirect) and
//! the reason recorded — never silence.

use support::fake_openai::Mode;

use super::*;

/// Waits for the voicemail redirect and the voicemail route; returns the call's events.
async fn sent_to_voicemail(rig: &Rig, sid: &str) -> Vec<(String, Value, Value)> {
    let twiml = rig.wait_call_update(sid, "Twiml", "<Record").await;
    assert!(
        twiml.contains("Joe&apos;s Plumbing") || twiml.contains("Joe's Plumbing"),
        "{twiml}"
    );
    let events = rig.wait_event(sid, "CallRoutedToVoicemail").await;
    assert_eq!(
        payload_of(&events, "CallRoutedToVoicemail")["why"],
        "agent_failed"
    );
    events
}

/// The recorded reason: with the session's end, else in the voicemail route's metadata.
fn reason(events: &[(String, Value, Value)]) -> String {
    let recorded = events
        .iter()
        .find(|(kind, _, _)| kind == "AiSessionEnded")
        .map_or_else(
            || metadata_of(events, "CallRoutedToVoicemail")["reason"].clone(),
            |(_, payload, _)| payload["AiSessionEnded"]["reason"].clone(),
        );
    recorded.as_str().unwrap().to_owned()
}

#[tokio::test]
async fn it_should_send_the_caller_to_voicemail_when_openai_refuses_the_connection() {
    let rig = Rig::start(Behaviour::mode(Mode::RefuseConnect(500))).await;
    let (sid, stream) = rig.call().await;

    let events = sent_to_voicemail(&rig, &sid).await;

    assert!(
        reason(&events).starts_with("openai connect failed"),
        "{}",
        reason(&events)
    );
    assert!(!events.iter().any(|(kind, _, _)| kind == "AiSessionStarted"));
    stream.wait_closed(WAIT).await;
    rig.wait_no_live_sessions().await;
}

#[tokio::test]
async fn it_should_send_the_caller_to_voicemail_when_openai_does_not_answer_in_time() {
    let rig = Rig::start_with(
        Behaviour::mode(Mode::Hang),
        &[("OPENAI_CONNECT_TIMEOUT_MS", "300")],
    )
    .await;
    let (sid, stream) = rig.call().await;

    let events = sent_to_voicemail(&rig, &sid).await;

    assert_eq!(reason(&events), "openai connect timed out");
    stream.wait_closed(WAIT).await;
    rig.openai.wait_all_closed(WAIT).await;
    rig.wait_no_live_sessions().await;
}

/// A call whose session is up and relaying.
async fn live_call(
    rig: &Rig,
) -> (
    String,
    MediaStreamClient,
    support::fake_openai::RealtimeSession,
) {
    let (sid, stream) = rig.call().await;
    let session = rig.openai.session(0, WAIT).await;
    session
        .wait_until(|record| record.appended_bytes > 0, WAIT)
        .await;
    rig.wait_event(&sid, "AiSessionStarted").await;
    (sid, stream, session)
}

#[tokio::test]
async fn it_should_send_the_caller_to_voicemail_on_a_fatal_openai_error() {
    let rig = Rig::start(Behaviour::default()).await;
    let (sid, stream, session) = live_call(&rig).await;

    session.error(
        "invalid_request_error",
        "response_cancel_not_active",
        "harmless",
    );
    session.error("server_error", "server_error", "The server had an error.");

    let events = sent_to_voicemail(&rig, &sid).await;
    assert_eq!(reason(&events), "openai error: server_error");
    session.wait_closed(WAIT).await;
    stream.wait_closed(WAIT).await;
    rig.wait_no_live_sessions().await;
}

#[tokio::test]
async fn it_should_send_the_caller_to_voicemail_when_openai_drops_the_socket() {
    let rig = Rig::start(Behaviour::default()).await;
    let (sid, stream, session) = live_call(&rig).await;

    session.disconnect();

    let events = sent_to_voicemail(&rig, &sid).await;
    assert!(
        reason(&events).starts_with("openai socket"),
        "{}",
        reason(&events)
    );
    stream.wait_closed(WAIT).await;
    rig.wait_no_live_sessions().await;
}

#[tokio::test]
async fn it_should_send_the_caller_to_voicemail_when_the_session_expires() {
    let rig = Rig::start(Behaviour::default()).await;
    let (sid, stream, session) = live_call(&rig).await;

    session.expire();

    let events = sent_to_voicemail(&rig, &sid).await;
    assert_eq!(reason(&events), "openai error: session_expired");
    stream.wait_closed(WAIT).await;
    rig.wait_no_live_sessions().await;
}

#[tokio::test]
async fn it_should_ask_the_agent_to_wrap_up_and_end_at_the_session_limit() {
    let rig = Rig::start_with(
        Behaviour::default(),
        &[
            ("AI_SESSION_MAX_SECS", "3"),
            ("AI_SESSION_WRAP_UP_SECS", "2"),
        ],
    )
    .await;
    let (sid, stream, session) = live_call(&rig).await;

    let wrap_up = session
        .wait_for(
            |events| {
                events.iter().any(|event| {
                    event["type"] == "conversation.item.create" && event["item"]["role"] == "system"
                })
            },
            WAIT,
        )
        .await;
    let events = sent_to_voicemail(&rig, &sid).await;

    let text = wrap_up
        .iter()
        .find(|event| event["item"]["role"] == "system")
        .map(|event| {
            event["item"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .unwrap();
    assert!(text.contains("end_call"), "{text}");
    assert_eq!(reason(&events), "the session reached its time limit");
    stream.wait_closed(WAIT).await;
    session.wait_closed(WAIT).await;
    rig.wait_no_live_sessions().await;
}

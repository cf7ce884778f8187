//! How the loop ends when something fails, and what it skips.

use super::*;

fn voicemail(kind: &str, ending: &Ending) -> String {
    match ending {
        Ending::Voicemail(failure) if failure.kind == kind => failure.reason.clone(),
        other => panic!("expected a {kind} voicemail, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn it_should_fall_back_to_voicemail_when_openai_closes_the_socket() {
    let call = Call::greeted().await;

    call.openai.close_channel();

    let reason = voicemail("openai_closed", &call.ended().await);
    assert_eq!(reason, "openai socket closed");
}

#[tokio::test(start_paused = true)]
async fn it_should_fall_back_to_voicemail_when_the_openai_socket_fails() {
    let call = Call::greeted().await;

    call.openai
        .unbounded_send(Err("connection reset".into()))
        .unwrap();

    let reason = voicemail("openai_closed", &call.ended().await);
    assert!(reason.contains("connection reset"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn it_should_fall_back_to_voicemail_on_a_fatal_error_and_go_on_after_a_harmless_one() {
    let mut call = Call::greeted().await;

    call.openai_sends(json!({"type": "error", "error": {"type": "invalid_request_error", "code": "response_cancel_not_active", "message": "no response", "event_id": null}}));
    call.caller_audio(20, "AA==");
    assert_eq!(
        call.next_to_openai().await["type"],
        "input_audio_buffer.append"
    );
    call.openai_sends(json!({"type": "error", "error": {"type": "invalid_request_error", "code": "session_expired", "message": "Your session hit the maximum duration of 60 minutes.", "event_id": null}}));

    let reason = voicemail("openai_error", &call.ended().await);
    assert_eq!(reason, "openai error: session_expired");
}

#[tokio::test(start_paused = true)]
async fn it_should_fall_back_to_voicemail_when_openai_never_confirms_the_session() {
    let call = Call::start(plan());
    let waiting = Instant::now();

    voicemail("no_session", &call.ended().await);
    assert_eq!(waiting.elapsed(), plan().limits.greeting_timeout);
}

#[tokio::test(start_paused = true)]
async fn it_should_ask_the_agent_to_wrap_up_before_the_limit_and_send_the_caller_to_voicemail_at_it(
) {
    let limits = Limits {
        session_max: Duration::from_secs(30),
        wrap_up_lead: Duration::from_secs(10),
        ..plan().limits
    };
    let mut call = Call::greeted_with(Plan { limits, ..plan() }).await;
    let started = Instant::now();
    call.response_created("resp_greeting");
    call.response_done("resp_greeting", "completed");

    tokio::time::sleep(Duration::from_millis(19_900)).await;
    assert!(call.to_openai.try_recv().is_err(), "not yet");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let wrap_up = call.next_to_openai().await;
    assert_eq!(wrap_up["type"], "conversation.item.create");
    assert_eq!(wrap_up["item"]["role"], "system");
    let text = wrap_up["item"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("10 seconds") && text.contains("end_call"),
        "{text}"
    );
    assert_eq!(
        call.next_to_openai().await,
        json!({"type": "response.create"})
    );

    voicemail("session_limit", &call.ended().await);
    assert_eq!(started.elapsed(), Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn it_should_end_when_twilio_stops_the_stream() {
    let call = Call::greeted().await;

    call.twilio_sends(json!({"event": "stop", "sequenceNumber": "99", "streamSid": STREAM, "stop": {"accountSid": "AC1", "callSid": "CA1"}}));

    assert_eq!(
        call.ended().await,
        Ending::CallerLeft("caller hung up".into())
    );
}

#[tokio::test(start_paused = true)]
async fn it_should_end_when_twilios_socket_drops() {
    let call = Call::greeted().await;

    call.twilio.close_channel();

    assert!(matches!(call.ended().await, Ending::CallerLeft(_)));
}

#[tokio::test(start_paused = true)]
async fn it_should_end_when_twilio_can_no_longer_be_sent_to() {
    let mut call = Call::greeted().await;
    call.to_twilio.close();

    call.agent_audio("resp_1", "item_a", &audio(20));

    assert!(matches!(call.ended().await, Ending::CallerLeft(_)));
}

#[tokio::test(start_paused = true)]
async fn it_should_skip_unreadable_messages_from_either_side() {
    let mut call = Call::greeted().await;

    for junk in [
        "not json",
        r#"{"event":"media"}"#,
        r#"{"event":"teleport"}"#,
        "[]",
    ] {
        call.twilio.unbounded_send(Ok(junk.into())).unwrap();
    }
    for junk in [
        "{",
        r#"{"type":"response.output_audio.delta"}"#,
        r#"{"type":"rate_limits.updated","rate_limits":[]}"#,
    ] {
        call.openai.unbounded_send(Ok(junk.into())).unwrap();
    }
    call.twilio_sends(json!({"event": "dtmf", "streamSid": STREAM, "sequenceNumber": "5", "dtmf": {"track": "inbound_track", "digit": "1"}}));
    call.caller_audio(40, "AA==");

    assert_eq!(
        call.next_to_openai().await,
        json!({"type": "input_audio_buffer.append", "audio": "AA=="})
    );
    call.nothing_sent().await;
    assert!(!call.ended.is_finished());
}

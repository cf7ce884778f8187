//! Other turns a call with the agent takes: a transfer to the owner, the beta interface.

use super::*;

#[tokio::test]
async fn it_should_put_the_caller_through_to_the_owner_when_the_agent_transfers() {
    let rig = Rig::start(Behaviour::default()).await;
    let (sid, stream) = rig.call().await;
    let session = rig.openai.session(0, WAIT).await;
    session
        .wait_until(|record| record.appended_bytes > 0, WAIT)
        .await;

    session.function_call("transfer_to_owner", "{}");

    let twiml = rig.wait_call_update(&sid, "Twiml", "<Dial").await;
    assert!(
        twiml.contains(&format!(">{}</Number>", rig.seeded.owner_phone)),
        "{twiml}"
    );
    assert!(twiml.contains("/twilio/voice/dial-result"), "{twiml}");
    let events = rig.wait_event(&sid, "CallRoutedToOwner").await;
    assert_eq!(
        payload_of(&events, "AiSessionEnded")["reason"],
        "transferred to the owner"
    );
    stream.wait_closed(WAIT).await;
    session.wait_closed(WAIT).await;
    rig.wait_no_live_sessions().await;
}

#[tokio::test]
async fn it_should_speak_the_beta_interface_when_told_to() {
    let rig = Rig::start_with(Behaviour::beta(), &[("OPENAI_REALTIME_INTERFACE", "beta")]).await;
    let (sid, stream) = rig.call().await;
    let session = rig.openai.session(0, WAIT).await;
    stream
        .wait_for(|log| log.received_audio_ms() >= 200, WAIT)
        .await;

    // Beta sends no function name with the arguments: it comes from the output item.
    session.function_call("take_message", r#"{"message":"Call back","urgency":"low"}"#);

    let events = rig.wait_event(&sid, "MessageTaken").await;
    assert_eq!(payload_of(&events, "MessageTaken")["message"], "Call back");
    let update = session.client_events_of("session.update");
    assert_eq!(update[0]["session"]["input_audio_format"], "g711_ulaw");
    stream.stop().await;
    session.wait_closed(WAIT).await;
    assert!(
        session.violations().is_empty(),
        "{:?}",
        session.violations()
    );
    rig.wait_no_live_sessions().await;
}

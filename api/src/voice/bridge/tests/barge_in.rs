//! Barge-in (PROTOCOLS.md §7): the caller interrupts the agent.

use super::*;

#[tokio::test(start_paused = true)]
async fn it_should_clear_twilio_and_truncate_the_item_at_what_the_caller_heard() {
    let mut call = Call::greeted().await;
    call.caller_audio(1_000, "AA==");
    call.next_to_openai().await;
    call.response_created("resp_1");
    // A whole second of audio arrives at once; Twilio plays it in real time.
    call.play("resp_1", "item_a", &audio(600)).await;
    call.play("resp_1", "item_a", &audio(400)).await;
    call.caller_audio(1_420, "AA==");
    call.next_to_openai().await;

    call.speech_started("item_caller");

    assert_eq!(
        call.next_to_twilio().await,
        json!({"event": "clear", "streamSid": STREAM})
    );
    assert_eq!(
        call.next_to_openai().await,
        json!({"type": "conversation.item.truncate", "item_id": "item_a", "content_index": 0, "audio_end_ms": 420})
    );
    // The session cancels the response itself (server VAD's interrupt_response).
    call.agent_audio("resp_1", "item_a", &audio(100));
    call.nothing_sent().await;
}

#[tokio::test(start_paused = true)]
async fn it_should_cap_the_cut_at_the_audio_sent() {
    let mut call = Call::greeted().await;
    call.caller_audio(0, "AA==");
    call.next_to_openai().await;
    call.play("resp_1", "item_a", &audio(250)).await;
    call.caller_audio(3_000, "AA==");
    call.next_to_openai().await;

    call.speech_started("item_caller");

    call.next_to_twilio().await;
    assert_eq!(call.next_to_openai().await["audio_end_ms"], 250);
}

#[tokio::test(start_paused = true)]
async fn it_should_cancel_the_response_itself_when_the_session_does_not() {
    let mut call = Call::greeted_with(Plan {
        cancel_on_barge_in: true,
        ..plan()
    })
    .await;
    call.response_created("resp_1");
    call.play("resp_1", "item_a", &audio(500)).await;

    call.speech_started("item_caller");

    assert_eq!(call.next_to_twilio().await["event"], "clear");
    assert_eq!(
        call.next_to_openai().await["type"],
        "conversation.item.truncate"
    );
    assert_eq!(
        call.next_to_openai().await,
        json!({"type": "response.cancel"})
    );
}

#[tokio::test(start_paused = true)]
async fn it_should_not_interrupt_when_everything_sent_has_been_heard() {
    let mut call = Call::greeted().await;
    let mark = call.play("resp_1", "item_a", &audio(200)).await;
    call.mark_played(&mark);

    call.speech_started("item_caller");

    call.nothing_sent().await;
}

#[tokio::test(start_paused = true)]
async fn it_should_record_only_what_the_caller_heard_of_an_interrupted_agent() {
    let mut call = Call::greeted().await;
    call.caller_audio(0, "AA==");
    call.next_to_openai().await;
    call.play("resp_1", "item_a", &audio(1_000)).await;
    // The text is complete long before its audio has played.
    call.openai_sends(json!({"type": "response.output_audio_transcript.done", "item_id": "item_a", "output_index": 0, "content_index": 0, "transcript": "Thanks for calling Joe's Plumbing, how can I help you today?"}));
    call.caller_audio(500, "AA==");
    call.next_to_openai().await;

    call.speech_started("item_caller");

    assert_eq!(
        call.next_fact().await,
        CallCommand::RecordTranscriptSegment {
            speaker: Speaker::Agent,
            text: "Thanks for calling Joe's…".into(),
            offset_ms: 0,
        }
    );
}

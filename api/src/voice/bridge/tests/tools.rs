//! The agent's tools through the loop.

use domain::call::Urgency;

use super::*;

fn function_call(call: &Call, call_id: &str, name: Option<&str>, arguments: &str) {
    let mut event = json!({
        "type": "response.function_call_arguments.done", "response_id": "resp_1",
        "item_id": "item_fc", "output_index": 0, "call_id": call_id, "arguments": arguments
    });
    if let Some(name) = name {
        event["name"] = json!(name);
    }
    call.openai_sends(event);
}

async fn output_of(call: &mut Call, call_id: &str) -> Value {
    let sent = call.next_to_openai().await;
    assert_eq!(sent["type"], "conversation.item.create", "{sent}");
    assert_eq!(sent["item"]["type"], "function_call_output");
    assert_eq!(sent["item"]["call_id"], call_id);
    serde_json::from_str(sent["item"]["output"].as_str().unwrap()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn it_should_take_a_message_answer_ok_and_let_the_agent_speak_after_its_response() {
    let mut call = Call::greeted().await;
    call.response_created("resp_1");

    function_call(
        &call,
        "call_1",
        Some("take_message"),
        r#"{"caller_name":"Ann","callback_number":"+14155550111","message":"Sink leaks","urgency":"high"}"#,
    );

    assert_eq!(
        call.next_fact().await,
        CallCommand::TakeMessage {
            caller_name: Some("Ann".into()),
            callback_number: Some("+14155550111".into()),
            message: "Sink leaks".into(),
            urgency: Urgency::High,
        }
    );
    assert_eq!(output_of(&mut call, "call_1").await, json!({"ok": true}));
    // The response holding the call is still in progress: the next one waits for it.
    call.nothing_sent().await;
    call.response_done("resp_1", "completed");
    assert_eq!(
        call.next_to_openai().await,
        json!({"type": "response.create"})
    );
}

#[tokio::test(start_paused = true)]
async fn it_should_answer_an_error_for_an_unknown_tool_or_bad_arguments_and_go_on() {
    let mut call = Call::greeted().await;
    call.response_created("resp_0");
    call.response_done("resp_0", "completed");

    function_call(&call, "call_1", Some("order_pizza"), "{}");
    let unknown = output_of(&mut call, "call_1").await;
    assert_eq!(call.next_to_openai().await["type"], "response.create");
    function_call(
        &call,
        "call_2",
        Some("take_message"),
        r#"{"urgency":"low"}"#,
    );
    let bad = output_of(&mut call, "call_2").await;

    assert_eq!(unknown["ok"], false);
    assert!(unknown["error"].as_str().unwrap().contains("order_pizza"));
    assert_eq!(bad["ok"], false);
    assert!(bad["error"].as_str().unwrap().contains("take_message"));
    call.caller_audio(20, "AA==");
    // Still relaying (the second response.create is deferred behind the first).
    assert_eq!(
        call.next_to_openai().await["type"],
        "input_audio_buffer.append"
    );
    assert!(call.facts.try_recv().is_err(), "nothing recorded");
}

#[tokio::test(start_paused = true)]
async fn it_should_take_the_function_name_from_the_output_item_on_the_beta_interface() {
    let mut call = Call::greeted_with(Plan {
        interface: Interface::Beta,
        ..plan()
    })
    .await;
    call.response_created("resp_1");
    call.openai_sends(json!({
        "type": "response.output_item.added", "response_id": "resp_1", "output_index": 0,
        "item": {"id": "item_fc", "type": "function_call", "call_id": "call_7", "name": "take_message", "arguments": ""}
    }));

    function_call(
        &call,
        "call_7",
        None,
        r#"{"message":"Call back","urgency":"normal"}"#,
    );

    assert!(matches!(
        call.next_fact().await,
        CallCommand::TakeMessage { .. }
    ));
    assert_eq!(output_of(&mut call, "call_7").await, json!({"ok": true}));
}

/// The agent calls `tool`; the goodbye response follows and plays.
async fn goodbye_after(tool: &str) -> (Call, String) {
    let mut call = Call::greeted().await;
    call.response_created("resp_1");
    function_call(&call, "call_1", Some(tool), "{}");
    assert_eq!(output_of(&mut call, "call_1").await, json!({"ok": true}));
    call.response_done("resp_1", "completed");
    assert_eq!(call.next_to_openai().await["type"], "response.create");
    call.response_created("resp_2");
    let mark = call.play("resp_2", "item_bye", &audio(800)).await;
    call.response_done("resp_2", "completed");
    (call, mark)
}

#[tokio::test(start_paused = true)]
async fn it_should_hang_up_once_the_goodbye_has_been_heard() {
    let (mut call, mark) = goodbye_after("end_call").await;
    call.nothing_sent().await;
    assert!(!call.ended.is_finished(), "the goodbye is still playing");

    call.mark_played(&mark);

    assert_eq!(call.ended().await, Ending::HangUp);
}

#[tokio::test(start_paused = true)]
async fn it_should_hang_up_anyway_when_the_goodbye_never_finishes_playing() {
    let (call, _mark) = goodbye_after("end_call").await;
    let waiting = Instant::now();

    assert_eq!(call.ended().await, Ending::HangUp);
    assert_eq!(waiting.elapsed(), plan().limits.goodbye_timeout);
}

#[tokio::test(start_paused = true)]
async fn it_should_transfer_to_the_owner_after_announcing_it() {
    let (call, mark) = goodbye_after("transfer_to_owner").await;

    call.mark_played(&mark);

    assert_eq!(call.ended().await, Ending::Transfer);
}

#[tokio::test(start_paused = true)]
async fn it_should_refuse_a_transfer_when_the_owner_has_no_phone() {
    let mut call = Call::greeted_with(Plan {
        can_transfer: false,
        ..plan()
    })
    .await;

    function_call(&call, "call_1", Some("transfer_to_owner"), "");

    let output = output_of(&mut call, "call_1").await;
    assert_eq!(output["ok"], false);
    assert!(output["error"].as_str().unwrap().contains("owner"));
    assert!(!call.ended.is_finished());
}

//! Many calls at once, ending every way: every task and socket of each ends with it.

use support::fake_openai::Pacing;

use super::*;

const CALLS: usize = 20;

#[tokio::test]
async fn it_should_leave_no_session_task_or_socket_behind_after_many_concurrent_calls() {
    let rig = Rig::start(Behaviour {
        pacing: Pacing::Fast,
        audio_chunks: 5,
        record_audio: false,
        ..Behaviour::default()
    })
    .await;
    let mut calls = Vec::new();
    for index in 0..CALLS {
        calls.push(rig.call().await);
        // One at a time, so the fake's sessions are in the calls' order.
        rig.openai.session(index, WAIT).await;
    }
    let sessions = rig.openai.sessions();
    for session in &sessions {
        session
            .wait_until(|record| record.appended_bytes > 0, WAIT)
            .await;
    }
    assert_eq!(rig.sessions.live(), CALLS, "all calls are live at once");

    for (index, (_, stream)) in calls.iter().enumerate() {
        match index % 5 {
            0 => stream.stop().await,
            1 => stream.drop_connection().await,
            2 => sessions[index].disconnect(),
            3 => sessions[index].expire(),
            _ => {
                sessions[index].function_call("end_call", "{}");
            }
        }
    }

    rig.wait_no_live_sessions().await;
    rig.openai.wait_all_closed(WAIT).await;
    for (index, (sid, stream)) in calls.iter().enumerate() {
        let events = rig.wait_event(sid, "AiSessionEnded").await;
        let reason = payload_of(&events, "AiSessionEnded")["reason"]
            .as_str()
            .unwrap()
            .to_owned();
        let expected = [
            "caller hung up",
            "twilio",
            "openai socket",
            "openai error",
            "agent ended",
        ];
        assert!(
            reason.starts_with(expected[index % 5]),
            "call {index}: {reason}"
        );
        stream.wait_closed(WAIT).await;
    }
    let metrics = rig.app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("callassist_voice_sessions_live 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"callassist_voice_fallbacks_total{reason="openai_closed"} 4"#),
        "{metrics}"
    );
}

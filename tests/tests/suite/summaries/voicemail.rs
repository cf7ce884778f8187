//! Summaries of voicemails: the caller's words reach us as Twilio's transcription, usually after
//! the call ended, and that transcription is what makes the call worth summarising.

use super::*;

const VOICEMAIL: &str =
    "Hi, it's Ann Baker. My kitchen sink is leaking, please call me back today on this number.";

/// The real server talking to `openai`, and a business whose calls go to voicemail (owner away,
/// agent disabled) but which keeps its sealed OpenAI key.
async fn app_with_voicemail_business(openai: &MockServer) -> (TestApp, Seeded) {
    let (app, seeded) = app_with_ai_business(openai).await;
    app.stores()
        .businesses
        .execute(
            &seeded.business_id.to_string(),
            BusinessCommand::DisableAgent,
            &meta("seed", Actor::Cli),
        )
        .await
        .unwrap();
    (app, seeded)
}

/// Twilio's webhooks of a call that goes to voicemail, where the caller leaves a message and
/// hangs up: incoming, the `<Record action>`, the recording and the end.
async fn voicemail_left(app: &TestApp, seeded: &Seeded) -> String {
    let sid = new_call_sid();
    let incoming = app
        .post_twilio("/twilio/voice/incoming", &webhook(&sid, seeded, "ringing"))
        .await;
    assert_eq!(incoming.status(), 200);
    let mut recorded = webhook(&sid, seeded, "in-progress");
    recorded.extend([
        ("RecordingUrl", "https://api.twilio.com/Recordings/RE1"),
        ("RecordingDuration", "11"),
        ("Digits", "hangup"),
    ]);
    let voicemail = app.post_twilio("/twilio/voice/voicemail", &recorded).await;
    assert_eq!(voicemail.status(), 200);
    call_ends(app, seeded, &sid).await;
    assert_eq!(
        app.event_types_of(&sid).await,
        vec![
            "CallReceived",
            "CallRoutedToVoicemail",
            "VoicemailRecorded",
            "CallEnded"
        ]
    );
    sid
}

/// Twilio's transcription callback, some time after the end.
async fn transcribed(app: &TestApp, seeded: &Seeded, sid: &str, status: &str, text: &str) {
    let mut params = webhook(sid, seeded, "completed");
    params.extend([
        ("TranscriptionSid", "TR0123456789abcdef0123456789abcdef"),
        ("TranscriptionText", text),
        ("TranscriptionStatus", status),
        ("RecordingSid", "RE0123456789abcdef0123456789abcdef"),
        ("RecordingUrl", "https://api.twilio.com/Recordings/RE1"),
    ]);
    let response = app
        .post_twilio("/twilio/voice/transcription", &params)
        .await;
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn it_should_summarise_a_voicemail_once_its_transcription_arrives_after_the_end() {
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(answer(SUMMARY))
        .mount(&openai)
        .await;
    let (app, seeded) = app_with_voicemail_business(&openai).await;
    let sid = voicemail_left(&app, &seeded).await;

    transcribed(&app, &seeded, &sid, "completed", VOICEMAIL).await;

    let events = events_once(&app.db.pool, &sid, "CallSummarized").await;
    let summarized = of_type(&events, "CallSummarized");
    assert_eq!(summarized.len(), 1);
    assert_eq!(summarized[0].1["CallSummarized"]["summary"], SUMMARY);
    assert_eq!(summarized[0].2["actor"], "system");
    let sent = requests(&openai).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].headers["authorization"],
        format!("Bearer {OPENAI_KEY}").as_str()
    );
    let input = body(&sent[0])["input"].as_str().unwrap().to_owned();
    for expected in [
        "Business: Joe's Plumbing",
        "Caller's number: +14155550111",
        "The caller left a voicemail",
        &format!("Voicemail (the caller's words):\nCaller: {VOICEMAIL}"),
    ] {
        assert!(input.contains(expected), "{expected:?} not in:\n{input}");
    }
    assert!(!input.contains("Conversation"), "{input}");
    app.projections_caught_up().await;
    let admin = app.admin().await;
    let detail: Value = app
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/calls/{sid}"),
            Some(&admin.token),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["summary"], SUMMARY, "{detail}");
    assert_eq!(detail["voicemail_transcript"], VOICEMAIL, "{detail}");
}

#[tokio::test]
async fn it_should_not_summarise_a_voicemail_whose_transcription_failed() {
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer(SUMMARY))
        .mount(&openai)
        .await;
    let (app, seeded) = app_with_voicemail_business(&openai).await;
    let failed = voicemail_left(&app, &seeded).await;
    let blank = voicemail_left(&app, &seeded).await;
    let fine = voicemail_left(&app, &seeded).await;

    transcribed(&app, &seeded, &failed, "failed", "").await;
    transcribed(&app, &seeded, &blank, "completed", "  ").await;
    transcribed(&app, &seeded, &fine, "completed", VOICEMAIL).await;

    // The summariser reads in stream order: once the last call is summarised, it has passed
    // the failed transcriptions.
    events_once(&app.db.pool, &fine, "CallSummarized").await;
    for sid in [&failed, &blank] {
        assert_eq!(
            app.event_types_of(sid).await,
            vec![
                "CallReceived",
                "CallRoutedToVoicemail",
                "VoicemailRecorded",
                "CallEnded",
                "VoicemailTranscriptionFailed"
            ]
        );
    }
    assert_eq!(requests(&openai).await.len(), 1, "only the transcribed one");
    assert_eq!(Summarizer::pending(&app.db.pool).await.unwrap(), 0);
}

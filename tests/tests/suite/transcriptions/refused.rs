//! Transcription callbacks that record nothing: unsigned, malformed, for a call we do not know
//! or that never went to voicemail — and, when the event store hangs, Twilio still gets its
//! answer in time.

use std::time::{Duration, Instant};

use support::{expect_problem, new_call_sid, seed, SeedBusiness, TestApp};

use super::{app_with_voicemail_business, call, transcription, voicemail_left, WORDS};

#[tokio::test]
async fn it_should_refuse_an_unsigned_transcription_and_append_nothing() {
    let (app, seeded) = app_with_voicemail_business().await;
    let (_, sid) = voicemail_left(&app, &seeded).await;
    let before = app.event_types_of(&sid).await;

    let response = app
        .post_unsigned(
            "/twilio/voice/transcription",
            &transcription(&sid, &seeded, "completed", WORDS),
            None,
        )
        .await;

    expect_problem(response, 403, "invalid_twilio_signature").await;
    assert_eq!(app.event_types_of(&sid).await, before);
}

#[tokio::test]
async fn it_should_answer_400_to_a_transcription_without_its_sids_or_with_a_malformed_body() {
    let (app, seeded) = app_with_voicemail_business().await;
    let (_, sid) = voicemail_left(&app, &seeded).await;
    let mut params = transcription(&sid, &seeded, "completed", WORDS);
    params.retain(|(name, _)| *name != "TranscriptionSid");
    let before = app.event_types_of(&sid).await;

    let missing = app
        .post_twilio("/twilio/voice/transcription", &params)
        .await;
    let oversized = app
        .client
        .post(format!("{}/twilio/voice/transcription", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("TranscriptionText={}", "a".repeat(70_000)))
        .send()
        .await
        .unwrap();

    let problem = expect_problem(missing, 400, "missing_parameter").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("TranscriptionSid"),
        "{problem}"
    );
    expect_problem(oversized, 400, "malformed_form").await;
    assert_eq!(app.event_types_of(&sid).await, before);
}

#[tokio::test]
async fn it_should_answer_a_transcription_for_an_unknown_call_without_recording_anything() {
    let (app, seeded) = app_with_voicemail_business().await;
    let unknown = new_call_sid();

    let response = app
        .post_twilio(
            "/twilio/voice/transcription",
            &transcription(&unknown, &seeded, "completed", WORDS),
        )
        .await;

    assert_eq!(response.status(), 204);
    assert!(app.event_types_of(&unknown).await.is_empty());
}

#[tokio::test]
async fn it_should_record_nothing_for_a_call_that_never_went_to_voicemail() {
    let app = TestApp::spawn().await;
    let seeded = seed(&app.stores(), SeedBusiness::default()).await;
    let sid = new_call_sid();
    let incoming = app
        .post_twilio("/twilio/voice/incoming", &call(&sid, &seeded, "ringing"))
        .await;
    assert_eq!(incoming.status(), 200);

    let response = app
        .post_twilio(
            "/twilio/voice/transcription",
            &transcription(&sid, &seeded, "completed", WORDS),
        )
        .await;

    assert_eq!(response.status(), 204);
    assert_eq!(
        app.event_types_of(&sid).await,
        vec!["CallReceived", "CallRoutedToOwner"]
    );
}

#[tokio::test]
async fn it_should_answer_twilio_in_time_when_the_event_store_hangs() {
    let app = TestApp::spawn_with(&[("WEBHOOK_STORE_TIMEOUT_MS", "300")]).await;
    let seeded = seed(
        &app.stores(),
        SeedBusiness {
            owner_available: false,
            agent: false,
            ..SeedBusiness::default()
        },
    )
    .await;
    let (_, sid) = voicemail_left(&app, &seeded).await;
    let mut blocker = app.db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();

    let started = Instant::now();
    let response = app
        .post_twilio(
            "/twilio/voice/transcription",
            &transcription(&sid, &seeded, "completed", WORDS),
        )
        .await;
    let elapsed = started.elapsed();
    blocker.rollback().await.unwrap();

    assert_eq!(response.status(), 204);
    // Far inside Twilio's 15 s, whatever the machine: the bound is 0.3 s.
    assert!(elapsed < Duration::from_secs(10), "answered in {elapsed:?}");
}

//! What goes wrong: Twilio failing for a while, refusing for good, never recovering; the mail
//! server failing or refusing; quiet hours holding a text until they end.

use super::*;

#[tokio::test]
async fn it_should_try_a_text_again_after_twilio_failed_and_record_it_once() {
    let h = harness(&[]).await;
    Mock::given(method("POST"))
        .and(path(messages_path()))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&h.twilio)
        .await;
    twilio_accepts(&h.twilio).await;

    let sid = message_taken(&h, Urgency::Normal).await;

    let sent = wait_for_events(&h.app, &sid, "OwnerNotified", 2).await;
    assert_eq!(texts(&h.twilio).await.len(), 2, "one failure, one success");
    assert_eq!(sent.iter().filter(|p| p["channel"] == "sms").count(), 1);
    assert!(notification_events(&h.app, &sid)
        .await
        .iter()
        .all(|(kind, _)| kind == "OwnerNotified"));
}

#[tokio::test]
async fn it_should_record_a_text_twilio_refuses_as_failed_without_trying_again() {
    let h = harness(&[]).await;
    Mock::given(method("POST"))
        .and(path(messages_path()))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 21610, "message": "Attempt to send to unsubscribed recipient",
            "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400
        })))
        .mount(&h.twilio)
        .await;

    let sid = message_taken(&h, Urgency::Normal).await;

    let failed = wait_for_events(&h.app, &sid, "OwnerNotificationFailed", 1).await;
    assert_eq!(failed[0]["channel"], "sms");
    assert_eq!(failed[0]["trigger"], "message_taken");
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(reason.contains("unsubscribed recipient"), "{reason}");
    // The email still went out.
    wait_for_events(&h.app, &sid, "OwnerNotified", 1).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(texts(&h.twilio).await.len(), 1, "a refusal is not retried");
}

#[tokio::test]
async fn it_should_give_up_on_a_text_that_keeps_failing_and_say_why() {
    let h = harness(&[]).await;
    Mock::given(method("POST"))
        .and(path(messages_path()))
        .respond_with(ResponseTemplate::new(500))
        .mount(&h.twilio)
        .await;

    let sid = message_taken(&h, Urgency::Normal).await;

    let failed = wait_for_events(&h.app, &sid, "OwnerNotificationFailed", 1).await;
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("gave up after 3 attempts: "), "{reason}");
    assert_eq!(texts(&h.twilio).await.len(), 3);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(texts(&h.twilio).await.len(), 3, "nothing after giving up");
    assert_eq!(
        notification_events(&h.app, &sid).await.len(),
        2,
        "one per channel"
    );
}

#[tokio::test]
async fn it_should_send_an_email_again_after_a_temporary_failure_and_record_a_refused_one() {
    let h = harness(&[]).await;
    twilio_accepts(&h.twilio).await;
    h.smtp.fail_next(1);

    let first = message_taken(&h, Urgency::Low).await;
    let sent = wait_for_events(&h.app, &first, "OwnerNotified", 2).await;
    assert_eq!(sent.iter().filter(|p| p["channel"] == "email").count(), 1);
    assert_eq!(h.smtp.received().len(), 1, "the failed try left nothing");

    h.smtp.refuse(&h.owner.email);
    let second = message_taken(&h, Urgency::Low).await;
    let failed = wait_for_events(&h.app, &second, "OwnerNotificationFailed", 1).await;
    assert_eq!(failed[0]["channel"], "email");
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(reason.contains("refused"), "{reason}");
}

#[tokio::test]
async fn it_should_hold_a_text_during_quiet_hours_and_send_it_when_they_end() {
    let h = harness(&[]).await;
    twilio_accepts(&h.twilio).await;
    // Quiet from an hour ago to an hour from now (the business keeps UTC).
    let now = Utc::now();
    let hm = |at: chrono::DateTime<Utc>| at.format("%H:%M").to_string();
    let settings = json!({
        "sms": true, "email": true,
        "triggers": ["message_taken", "voicemail_recorded", "missed_call"],
        "quiet_hours": {"from": hm(now - chrono::Duration::hours(1)), "until": hm(now + chrono::Duration::hours(1))}
    });
    let response = h
        .app
        .api(
            reqwest::Method::PUT,
            &format!(
                "/api/v1/businesses/{}/notifications",
                h.business.business_id
            ),
            Some(&h.owner.token),
            Some(settings),
        )
        .await;
    assert_eq!(response.status(), 200);

    let sid = message_taken(&h, Urgency::Normal).await;

    // The email goes at once; the text waits.
    let sent = wait_for_events(&h.app, &sid, "OwnerNotified", 1).await;
    assert_eq!(sent[0]["channel"], "email");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(texts(&h.twilio).await.is_empty());
    let (why, wait_secs): (String, f64) = sqlx::query_as(
        "SELECT last_error, EXTRACT(EPOCH FROM next_attempt_at - now())::float8 FROM notification_jobs",
    )
    .fetch_one(&h.app.db.pool)
    .await
    .unwrap();
    assert_eq!(why, "waiting for the end of the quiet hours");
    assert!(
        (3000.0..=3700.0).contains(&wait_secs),
        "held until the quiet ends, about an hour: {wait_secs}"
    );

    // Two hours later by the notifier's clock, the job comes due: the text goes.
    h.clock_offset.store(2 * 3600, Ordering::SeqCst);
    sqlx::query("UPDATE notification_jobs SET next_attempt_at = now()")
        .execute(&h.app.db.pool)
        .await
        .unwrap();
    let sent = wait_for_events(&h.app, &sid, "OwnerNotified", 2).await;
    assert!(sent.iter().any(|p| p["channel"] == "sms"));
    assert_eq!(texts(&h.twilio).await.len(), 1);
}

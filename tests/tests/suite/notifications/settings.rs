//! `GET`/`PUT /api/v1/businesses/{id}/notifications`, and that the settings decide what is sent.

use support::expect_problem;

use super::*;

fn notifications_path(h: &Harness) -> String {
    format!(
        "/api/v1/businesses/{}/notifications",
        h.business.business_id
    )
}

#[tokio::test]
async fn it_should_notify_on_everything_by_text_and_email_until_told_otherwise() {
    let h = harness(&[]).await;
    let response = h
        .app
        .api(
            reqwest::Method::GET,
            &notifications_path(&h),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"sms": true, "email": true,
               "triggers": ["message_taken", "voicemail_recorded", "missed_call"],
               "quiet_hours": null})
    );
}

#[tokio::test]
async fn it_should_send_only_what_the_owner_chose() {
    let h = harness(&[]).await;
    twilio_accepts(&h.twilio).await;
    let chosen = json!({"sms": false, "email": true, "triggers": ["missed_call"],
                        "quiet_hours": {"from": "22:00", "until": "07:00"}});
    let response = h
        .app
        .api(
            reqwest::Method::PUT,
            &notifications_path(&h),
            Some(&h.owner.token),
            Some(chosen.clone()),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), chosen);

    let message = message_taken(&h, Urgency::High).await;
    calls::completed(&h.app, &message, &h.business.number, "30").await;
    let missed = missed_call(&h).await;

    let sent = wait_for_events(&h.app, &missed, "OwnerNotified", 1).await;
    assert_eq!(sent[0]["channel"], "email");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(texts(&h.twilio).await.is_empty(), "no texts at all");
    assert!(notification_events(&h.app, &message).await.is_empty());
    assert_eq!(h.smtp.received().len(), 1);
}

#[tokio::test]
async fn it_should_refuse_malformed_quiet_hours() {
    let h = harness(&[]).await;
    for (quiet, code) in [
        (
            json!({"from": "22:00", "until": "22:00"}),
            "invalid_quiet_hours",
        ),
        (
            json!({"from": "25:00", "until": "07:00"}),
            "invalid_quiet_hours",
        ),
        (
            json!({"from": "22:00", "until": "24:00"}),
            "invalid_quiet_hours",
        ),
    ] {
        let body = json!({"sms": true, "email": true, "triggers": [], "quiet_hours": quiet});
        let response = h
            .app
            .api(
                reqwest::Method::PUT,
                &notifications_path(&h),
                Some(&h.owner.token),
                Some(body),
            )
            .await;
        expect_problem(response, 400, code).await;
    }
    let unknown =
        json!({"sms": true, "email": true, "triggers": ["everything"], "quiet_hours": null});
    let response = h
        .app
        .api(
            reqwest::Method::PUT,
            &notifications_path(&h),
            Some(&h.owner.token),
            Some(unknown),
        )
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn it_should_not_show_or_change_another_owners_notifications() {
    let h = harness(&[]).await;
    let stranger = h.app.owner().await;
    let response = h
        .app
        .api(
            reqwest::Method::GET,
            &notifications_path(&h),
            Some(&stranger.token),
            None,
        )
        .await;
    expect_problem(response, 404, "business_not_found").await;
    let body = json!({"sms": false, "email": false, "triggers": [], "quiet_hours": null});
    let response = h
        .app
        .api(
            reqwest::Method::PUT,
            &notifications_path(&h),
            Some(&stranger.token),
            Some(body),
        )
        .await;
    expect_problem(response, 404, "business_not_found").await;
    let types = h.app.event_types_of(&h.business.business_id).await;
    assert!(
        !types.iter().any(|t| t == "NotificationSettingsChanged"),
        "{types:?}"
    );
}

//! The notifications form: which happenings, by text and/or email, quiet hours.

use domain::business::{ClockTime, NotificationTrigger};
use support::TestApp;

use super::{business, create_business, event_count, signed_in_owner};

#[tokio::test]
async fn it_should_save_the_notification_settings_and_show_them_again() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let page = browser.get(&format!("/dashboard/businesses/{id}")).await;
    for checked in [
        "on_message_taken",
        "on_voicemail_recorded",
        "on_missed_call",
    ] {
        assert!(
            page.body.contains(&format!(
                r#"id="{checked}" name="{checked}" value="on" checked"#
            )),
            "{checked}"
        );
    }
    assert!(page
        .body
        .contains(r#"<label for="quiet_from">From</label>"#));

    // Act: only missed calls, by email, texts held from 22:00 to 07:00.
    let path = format!("/dashboard/businesses/{id}/notifications");
    let saved = browser
        .post_form(
            &path,
            &[
                ("on_missed_call", "on"),
                ("email", "on"),
                ("quiet", "on"),
                ("quiet_from", "22:00"),
                ("quiet_until", "07:00"),
            ],
        )
        .await;

    // Assert
    assert_eq!(
        (saved.status, saved.location()),
        (
            303,
            format!("/dashboard/businesses/{id}?saved=notifications#notifications").as_str()
        )
    );
    let settings = business(&app, &id).await.notifications;
    assert!(!settings.sms && settings.email);
    assert_eq!(settings.triggers, vec![NotificationTrigger::MissedCall]);
    let quiet = settings.quiet_hours.unwrap();
    assert_eq!(
        (quiet.from, quiet.until),
        (
            ClockTime::parse("22:00").unwrap(),
            ClockTime::parse("07:00").unwrap()
        )
    );
    let page = browser
        .get(&format!("/dashboard/businesses/{id}?saved=notifications"))
        .await;
    assert!(page.body.contains("Notification settings saved."));
    assert!(page
        .body
        .contains(r#"id="on_message_taken" name="on_message_taken" value="on">"#));
    assert!(page
        .body
        .contains(r#"name="quiet_from" type="time" value="22:00""#));
}

#[tokio::test]
async fn it_should_refuse_quiet_hours_that_end_when_they_start_on_the_form() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let before = event_count(&app, &id).await;

    // Act
    let refused = browser
        .post_form(
            &format!("/dashboard/businesses/{id}/notifications"),
            &[
                ("sms", "on"),
                ("quiet", "on"),
                ("quiet_from", "22:00"),
                ("quiet_until", "22:00"),
            ],
        )
        .await;

    // Assert: shown on the form with what was typed; nothing recorded.
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains(r#"id="quiet_hours-error""#),
        "{}",
        refused.body
    );
    assert!(refused
        .body
        .contains("Quiet hours must end at another time than they start."));
    assert!(refused
        .body
        .contains(r#"name="quiet_until" type="time" value="22:00" aria-invalid="true""#));
    assert_eq!(event_count(&app, &id).await, before);
}

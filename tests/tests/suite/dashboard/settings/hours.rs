//! The weekly hours editor and the ring timeout.

use chrono::Weekday;
use support::TestApp;

use super::{business, create_business, event_count, signed_in_owner};

#[tokio::test]
async fn it_should_save_the_weekly_hours_and_show_them_again() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let page = browser.get(&format!("/dashboard/businesses/{id}")).await;
    assert!(page
        .body
        .contains(r#"id="monday_open" name="monday_open" value="on" checked"#));
    assert!(page.body.contains(r#"name="monday_closes" value="24:00""#));
    assert!(page
        .body
        .contains(r#"<label for="monday_opens_0">From</label>"#));

    // Act: Monday with a lunch break, Tuesday all afternoon, the rest closed; the extra empty
    // range the form offers is sent empty, and Wednesday's times without its box are ignored.
    let saved = browser
        .post_form(
            &format!("/dashboard/businesses/{id}/hours"),
            &[
                ("monday_open", "on"),
                ("monday_opens", "13:00"),
                ("monday_closes", "17:00"),
                ("monday_opens", "09:00"),
                ("monday_closes", "12:00"),
                ("monday_opens", ""),
                ("monday_closes", ""),
                ("tuesday_open", "on"),
                ("tuesday_opens", "12:00"),
                ("tuesday_closes", "24:00"),
                ("wednesday_opens", "09:00"),
                ("wednesday_closes", "17:00"),
            ],
        )
        .await;

    // Assert
    assert_eq!(
        (saved.status, saved.location()),
        (
            303,
            format!("/dashboard/businesses/{id}?saved=hours#hours").as_str()
        )
    );
    let hours = business(&app, &id).await.hours;
    let day = |weekday| -> Vec<String> {
        hours
            .day(weekday)
            .iter()
            .map(|range| format!("{}-{}", range.opens, range.closes))
            .collect()
    };
    assert_eq!(day(Weekday::Mon), ["09:00-12:00", "13:00-17:00"]);
    assert_eq!(day(Weekday::Tue), ["12:00-24:00"]);
    assert!(day(Weekday::Wed).is_empty());
    assert!(day(Weekday::Sun).is_empty());
    let events = app.events_of(&id).await;
    let (event_type, _, metadata) = events.last().unwrap();
    assert_eq!(event_type, "BusinessHoursChanged");
    assert_eq!(
        metadata["causation"],
        "dashboard:POST /dashboard/businesses/{id}/hours"
    );
    let page = browser
        .get(&format!("/dashboard/businesses/{id}?saved=hours"))
        .await;
    assert!(page.body.contains("Business hours saved."));
    assert!(page
        .body
        .contains(r#"id="monday_opens_1" name="monday_opens" value="13:00""#));
    assert!(page
        .body
        .contains(r#"id="monday_opens_2" name="monday_opens" value="""#));
    assert!(page
        .body
        .contains(r#"id="wednesday_open" name="wednesday_open" value="on">"#));
}

#[tokio::test]
async fn it_should_refuse_a_reversed_or_overlapping_range_on_the_form_and_keep_the_hours() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let before = event_count(&app, &id).await;
    let path = format!("/dashboard/businesses/{id}/hours");

    // Act
    let reversed = browser
        .post_form(
            &path,
            &[
                ("friday_open", "on"),
                ("friday_opens", "17:00"),
                ("friday_closes", "09:00"),
            ],
        )
        .await;
    let overlapping = browser
        .post_form(
            &path,
            &[
                ("friday_open", "on"),
                ("friday_opens", "09:00"),
                ("friday_closes", "12:00"),
                ("friday_opens", "11:00"),
                ("friday_closes", "14:00"),
            ],
        )
        .await;
    let malformed = browser
        .post_form(
            &path,
            &[
                ("friday_open", "on"),
                ("friday_opens", "9am"),
                ("friday_closes", "17:00"),
            ],
        )
        .await;
    let open_without_hours = browser.post_form(&path, &[("friday_open", "on")]).await;

    // Assert: each comes back with the error on the form and the times as typed.
    assert_eq!(reversed.status, 422);
    assert!(
        reversed
            .body
            .contains("a range closes at 09:00 before it opens at 17:00."),
        "{}",
        reversed.body
    );
    assert!(reversed.body.contains(r#"role="alert" id="hours-error""#));
    assert!(reversed
        .body
        .contains(r#"id="friday_opens_0" name="friday_opens" value="17:00""#));
    assert_eq!(overlapping.status, 422);
    assert!(
        overlapping.body.contains("two ranges overlap."),
        "{}",
        overlapping.body
    );
    assert_eq!(malformed.status, 422);
    assert!(malformed
        .body
        .contains("is not a time of day (HH:MM, 00:00 to 24:00)."));
    assert_eq!(open_without_hours.status, 422);
    assert!(open_without_hours
        .body
        .contains("Friday is marked open: give its hours"));
    assert_eq!(event_count(&app, &id).await, before, "nothing recorded");
    assert_eq!(
        business(&app, &id).await.hours,
        domain::business::WeeklyHours::always_open()
    );
}

#[tokio::test]
async fn it_should_take_a_ring_timeout_of_5_to_60_seconds_only() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let path = format!("/dashboard/businesses/{id}/ring-timeout");
    let before = event_count(&app, &id).await;

    // Act / Assert: out of bounds or not a number, refused on the form.
    for bad in ["4", "61", "-1", "twenty", ""] {
        let refused = browser.post_form(&path, &[("ring_timeout", bad)]).await;
        assert_eq!(refused.status, 422, "{bad}");
        assert!(
            refused.body.contains(r#"id="ring_timeout-error""#),
            "{bad}: {}",
            refused.body
        );
        assert!(
            refused.body.contains(&format!(r#"value="{bad}" aria-describedby="ring_timeout-hint ring_timeout-error" aria-invalid="true""#)),
            "{bad}: {}",
            refused.body
        );
    }
    let four = browser.post_form(&path, &[("ring_timeout", "4")]).await;
    assert!(four
        .body
        .contains("Ring timeout must be between 5 and 60 seconds, not 4."));
    assert_eq!(event_count(&app, &id).await, before);

    // In bounds, saved.
    for good in ["5", "60"] {
        let saved = browser.post_form(&path, &[("ring_timeout", good)]).await;
        assert_eq!(
            (saved.status, saved.location()),
            (
                303,
                format!("/dashboard/businesses/{id}?saved=ring#ring").as_str()
            )
        );
    }
    assert_eq!(business(&app, &id).await.ring_timeout.secs(), 60);
    let page = browser.get(&format!("/dashboard/businesses/{id}")).await;
    assert!(page
        .body
        .contains(r#"value="60" aria-describedby="ring_timeout-hint""#));
}

//! The businesses list and creating a business from its form.

use reqwest::Method;
use support::TestApp;

use super::{create_business, signed_in_owner};

#[tokio::test]
async fn it_should_create_a_business_from_the_form_and_list_it_with_its_switch() {
    // Arrange
    let app = TestApp::spawn().await;
    let (owner, browser) = signed_in_owner(&app).await;
    let empty = browser.get("/dashboard/businesses").await;
    assert_eq!(empty.status, 200);
    assert!(
        empty.body.contains(r#"id="no-businesses""#),
        "{}",
        empty.body
    );
    let form = browser.get("/dashboard/businesses/new").await;
    assert_eq!(form.status, 200);
    for field in ["name", "description", "owner_phone", "timezone"] {
        assert!(
            form.body.contains(&format!(r#"<label for="{field}">"#)),
            "{field} has a label"
        );
        assert!(
            form.body
                .contains(&format!(r#"id="{field}" name="{field}""#)),
            "{field}"
        );
    }

    // Act
    let id = create_business(&browser, "Joe & Sons", "+14155550123").await;

    // Assert: the settings page opens with every control.
    let page = browser
        .get(&format!("/dashboard/businesses/{id}?saved=created"))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<h1>Joe &#38; Sons</h1>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Business created."));
    for section in [
        "availability",
        "hours",
        "ring",
        "agent",
        "numbers",
        "profile",
    ] {
        assert!(
            page.body.contains(&format!(r#"id="{section}""#)),
            "{section}"
        );
    }
    // The same business as the API registers: the owner's, with the dashboard as causation.
    let events = app.events_of(&id).await;
    assert_eq!(events[0].0, "BusinessRegistered");
    assert_eq!(events[0].2["actor"], format!("user:{}", owner.id));
    assert_eq!(
        events[0].2["causation"],
        "dashboard:POST /dashboard/businesses"
    );
    app.projections_caught_up().await;
    let row: serde_json::Value = app
        .api(
            Method::GET,
            &format!("/api/v1/businesses/{id}"),
            Some(&owner.token),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(row["owner_user_id"], owner.id.to_string());
    assert_eq!(row["owner_phone"], "+14155550123");
    assert_eq!(row["timezone"], "Europe/Berlin");
    let list = browser.get("/dashboard/businesses").await;
    assert!(list
        .body
        .contains(&format!(r#"href="/dashboard/businesses/{id}""#)));
    assert!(list.body.contains(&format!(r#"id="availability-{id}""#)));
    assert!(list.body.contains(r#"aria-pressed="true""#));
}

#[tokio::test]
async fn it_should_show_a_bad_phone_number_or_timezone_on_the_form_and_create_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;

    // Act
    let bad_phone = browser
        .post_form(
            "/dashboard/businesses",
            &[
                ("name", "Tom's Diner"),
                ("description", ""),
                ("owner_phone", "0151 1234"),
                ("timezone", "Europe/Berlin"),
            ],
        )
        .await;
    let bad_timezone = browser
        .post_form(
            "/dashboard/businesses",
            &[
                ("name", "Tom's Diner"),
                ("description", ""),
                ("owner_phone", ""),
                ("timezone", "Mars/Olympus"),
            ],
        )
        .await;

    // Assert: each form comes back with its error on the field and the values as typed.
    assert_eq!(bad_phone.status, 422);
    assert!(
        bad_phone
            .body
            .contains("is not an E.164 phone number (+ and 2 to 15 digits)."),
        "{}",
        bad_phone.body
    );
    assert!(bad_phone.body.contains(r#"value="0151 1234""#));
    assert!(bad_phone.body.contains(r#"value="Tom&#39;s Diner""#));
    assert!(bad_phone
        .body
        .contains(r#"aria-describedby="owner_phone-hint profile-error" aria-invalid="true""#));
    assert_eq!(bad_timezone.status, 422);
    assert!(bad_timezone
        .body
        .contains("&#39;Mars/Olympus&#39; is not an IANA timezone such as Europe/Berlin."));
    assert!(bad_timezone.body.contains(r#"value="Mars/Olympus""#));
    let registered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Business'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(registered, 0, "nothing was created");
}

#[tokio::test]
async fn it_should_change_the_details_on_the_settings_page_and_refuse_a_bad_one_whole() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let path = format!("/dashboard/businesses/{id}/profile");

    // Act: a bad timezone with a new name, then good details without an owner phone.
    let refused = browser
        .post_form(
            &path,
            &[
                ("name", "Joe's Pipes"),
                ("description", ""),
                ("owner_phone", "+14155550123"),
                ("timezone", "Europe/Atlantis"),
            ],
        )
        .await;
    let saved = browser
        .post_form(
            &path,
            &[
                ("name", "Joe's Pipes"),
                ("description", "Pipes, faster."),
                ("owner_phone", ""),
                ("timezone", "America/New_York"),
            ],
        )
        .await;

    // Assert: the refused form changed nothing, not even the name.
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains(r#"value="Europe/Atlantis""#));
    assert!(refused.body.contains(r#"value="Joe&#39;s Pipes""#));
    assert_eq!(
        (saved.status, saved.location()),
        (
            303,
            format!("/dashboard/businesses/{id}?saved=profile#profile").as_str()
        )
    );
    let business = super::business(&app, &id).await;
    assert_eq!(business.name, "Joe's Pipes");
    assert_eq!(business.description, "Pipes, faster.");
    assert_eq!(business.owner_phone, None);
    assert_eq!(business.timezone, chrono_tz::America::New_York);
    let types = app.event_types_of(&id).await;
    assert_eq!(
        types,
        [
            "BusinessRegistered",
            "BusinessProfileUpdated",
            "OwnerPhoneChanged",
            "TimezoneChanged"
        ]
    );
}

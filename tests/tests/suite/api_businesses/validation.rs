//! Malformed input answers 400 problem+json with a stable code, and appends nothing.

use reqwest::Method;
use serde_json::json;
use support::{expect_problem, TestApp};

use super::{call, id_of, register};

#[tokio::test]
async fn it_should_reject_malformed_settings_with_a_stable_code() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let id = id_of(&register(&app, &owner, "Joe's Plumbing").await);
    let at = |suffix: &str| format!("/api/v1/businesses/{id}{suffix}");
    let cases = [
        (
            at("/owner-phone"),
            json!({"owner_phone": "0415 555 0123"}),
            "invalid_owner_phone",
        ),
        (
            at("/owner-phone"),
            json!({"owner_phone": "+1"}),
            "invalid_owner_phone",
        ),
        (
            at("/timezone"),
            json!({"timezone": "Mars/Olympus_Mons"}),
            "invalid_timezone",
        ),
        (at("/timezone"), json!({"timezone": ""}), "invalid_timezone"),
        (
            at("/hours"),
            json!({"monday": [{"opens": "09:00", "closes": "12:00"}, {"opens": "11:00", "closes": "14:00"}]}),
            "invalid_hours",
        ),
        (
            at("/hours"),
            json!({"tuesday": [{"opens": "17:00", "closes": "09:00"}]}),
            "invalid_hours",
        ),
        (
            at("/hours"),
            json!({"tuesday": [{"opens": "9am", "closes": "5pm"}]}),
            "invalid_hours",
        ),
        (at("/hours"), json!({"someday": []}), "malformed_body"),
        (
            at("/ring-timeout"),
            json!({"seconds": 3}),
            "invalid_ring_timeout",
        ),
        (
            at("/ring-timeout"),
            json!({"seconds": 61}),
            "invalid_ring_timeout",
        ),
        (
            at("/ring-timeout"),
            json!({"seconds": -5}),
            "invalid_ring_timeout",
        ),
        (
            at("/ring-timeout"),
            json!({"seconds": "20"}),
            "malformed_body",
        ),
        (
            at("/profile"),
            json!({"name": "  ", "description": ""}),
            "invalid_name",
        ),
        (
            at("/profile"),
            json!({"name": "x".repeat(121), "description": ""}),
            "invalid_name",
        ),
        (
            at("/profile"),
            json!({"name": "Joe\u{0}", "description": ""}),
            "invalid_name",
        ),
        (
            at("/profile"),
            json!({"name": "Joe", "description": "x".repeat(2001)}),
            "invalid_description",
        ),
        (
            at("/profile"),
            json!({"name": "Joe", "description": "", "owner": "me"}),
            "malformed_body",
        ),
        (at("/profile"), json!({"name": "Joe"}), "malformed_body"),
        (
            at("/availability"),
            json!({"available": "yes"}),
            "malformed_body",
        ),
        (
            at("/agent"),
            json!({"model": "", "voice": "marin", "instructions": "Hi.", "openai_api_key": "sk-0123456789"}),
            "invalid_model",
        ),
        (
            at("/agent"),
            json!({"model": "gpt-realtime", "voice": "marin", "instructions": "x".repeat(20_001), "openai_api_key": "sk-0123456789"}),
            "invalid_instructions",
        ),
        (
            at("/deactivate"),
            json!({"reason": "x".repeat(2001)}),
            "invalid_reason",
        ),
    ];

    // Act and assert
    for (path, body, code) in cases {
        let method = if path.ends_with("/deactivate") {
            Method::POST
        } else {
            Method::PUT
        };
        let response = call(&app, &owner, method, &path, Some(body.clone())).await;
        let problem = expect_problem(response, 400, code).await;
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{path} {body}"
        );
    }
    assert_eq!(app.event_types_of(&id).await, ["BusinessRegistered"]);
}

#[tokio::test]
async fn it_should_reject_a_malformed_registration_with_a_stable_code() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let cases = [
        (
            json!({"name": "Joe", "timezone": "Nowhere/Land"}),
            "invalid_timezone",
        ),
        (
            json!({"name": "Joe", "timezone": "UTC", "owner_phone": "555-0123"}),
            "invalid_owner_phone",
        ),
        (json!({"name": "", "timezone": "UTC"}), "invalid_name"),
        (json!({"name": "Joe"}), "malformed_body"),
        (
            json!({"name": "Joe", "timezone": "UTC", "active": false}),
            "malformed_body",
        ),
        (json!(["Joe", "UTC"]), "malformed_body"),
    ];

    // Act and assert
    for (body, code) in cases {
        let response = call(&app, &owner, Method::POST, "/api/v1/businesses", Some(body)).await;
        expect_problem(response, 400, code).await;
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn it_should_reject_malformed_json_and_a_missing_body() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let id = id_of(&register(&app, &owner, "Joe's Plumbing").await);
    let send = |path: String, body: &'static str, content_type: &'static str| {
        app.client
            .put(format!("{}{path}", app.address))
            .bearer_auth(&owner.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    // Act
    let truncated = send(
        format!("/api/v1/businesses/{id}/timezone"),
        r#"{"timezone": "UT"#,
        "application/json",
    )
    .await
    .unwrap();
    let empty = send(
        format!("/api/v1/businesses/{id}/availability"),
        "",
        "application/json",
    )
    .await
    .unwrap();
    let not_json = send(
        format!("/api/v1/businesses/{id}/availability"),
        "available=true",
        "application/x-www-form-urlencoded",
    )
    .await
    .unwrap();

    // Assert
    expect_problem(truncated, 400, "malformed_body").await;
    expect_problem(empty, 400, "malformed_body").await;
    expect_problem(not_json, 400, "malformed_body").await;
    assert_eq!(app.event_types_of(&id).await, ["BusinessRegistered"]);
}

//! An owner registers a business and changes each of its settings; every event names them.

use reqwest::Method;
use serde_json::{json, Value};
use support::TestApp;

use super::{call, id_of, ok, register};

#[tokio::test]
async fn it_should_register_a_business_owned_by_the_owner_who_created_it() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;

    // Act
    let response = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/businesses",
        Some(json!({"name": " Joe's Plumbing ", "timezone": "America/New_York"})),
    )
    .await;

    // Assert
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let business: Value = response.json().await.unwrap();
    let id = id_of(&business);
    assert_eq!(location, format!("/api/v1/businesses/{id}"));
    assert_eq!(
        business,
        json!({
            "id": id,
            "name": "Joe's Plumbing",
            "description": "",
            "owner_user_id": owner.id,
            "owner_phone": null,
            "timezone": "America/New_York",
            "hours": {
                "monday": [{"opens": "00:00", "closes": "24:00"}],
                "tuesday": [{"opens": "00:00", "closes": "24:00"}],
                "wednesday": [{"opens": "00:00", "closes": "24:00"}],
                "thursday": [{"opens": "00:00", "closes": "24:00"}],
                "friday": [{"opens": "00:00", "closes": "24:00"}],
                "saturday": [{"opens": "00:00", "closes": "24:00"}],
                "sunday": [{"opens": "00:00", "closes": "24:00"}],
            },
            "owner_available": true,
            "ring_timeout_secs": 20,
            "agent": null,
            "active": true,
        })
    );
    let events = app.events_of(&id).await;
    assert_eq!(events.len(), 1);
    let (event_type, _, metadata) = &events[0];
    assert_eq!(event_type, "BusinessRegistered");
    assert_eq!(metadata["actor"], format!("user:{}", owner.id));
    assert_eq!(metadata["causation"], "rest:POST /api/v1/businesses");
    assert!(metadata["correlation_id"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
}

#[tokio::test]
async fn it_should_change_each_setting_and_record_who_changed_it() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let id = id_of(&register(&app, &owner, "Joe's Plumbing").await);
    let at = |suffix: &str| format!("/api/v1/businesses/{id}{suffix}");

    // Act and assert, one setting at a time: each answers the business after the change.
    let after = ok(
        call(
            &app,
            &owner,
            Method::PUT,
            &at("/profile"),
            Some(json!({"name": "Joe & Sons", "description": "Pipes, faster."})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (after["name"].as_str(), after["description"].as_str()),
        (Some("Joe & Sons"), Some("Pipes, faster."))
    );

    let after = ok(
        call(
            &app,
            &owner,
            Method::PUT,
            &at("/owner-phone"),
            Some(json!({"owner_phone": "+442071838750"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(after["owner_phone"], "+442071838750");
    let after = ok(
        call(
            &app,
            &owner,
            Method::PUT,
            &at("/owner-phone"),
            Some(json!({"owner_phone": null})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(after["owner_phone"], Value::Null);

    let after = ok(
        call(
            &app,
            &owner,
            Method::PUT,
            &at("/timezone"),
            Some(json!({"timezone": "Europe/Berlin"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(after["timezone"], "Europe/Berlin");

    let hours = json!({
        "monday": [{"opens": "13:00", "closes": "17:00"}, {"opens": "09:00", "closes": "12:00"}],
        "friday": [{"opens": "09:00", "closes": "24:00"}],
        "sunday": [],
    });
    let after = ok(
        call(&app, &owner, Method::PUT, &at("/hours"), Some(hours)).await,
        200,
    )
    .await;
    let expected_hours = json!({
        "monday": [{"opens": "09:00", "closes": "12:00"}, {"opens": "13:00", "closes": "17:00"}],
        "tuesday": [], "wednesday": [], "thursday": [],
        "friday": [{"opens": "09:00", "closes": "24:00"}],
        "saturday": [], "sunday": [],
    });
    assert_eq!(after["hours"], expected_hours);

    let after = ok(
        call(
            &app,
            &owner,
            Method::PUT,
            &at("/ring-timeout"),
            Some(json!({"seconds": 35})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(after["ring_timeout_secs"], 35);

    let after = ok(
        call(
            &app,
            &owner,
            Method::PUT,
            &at("/availability"),
            Some(json!({"available": false})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(after["owner_available"], false);

    // Assert: the events, each with the owner as actor and the route as causation.
    let events = app.events_of(&id).await;
    let types: Vec<&str> = events.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "BusinessRegistered",
            "BusinessProfileUpdated",
            "OwnerPhoneChanged",
            "OwnerPhoneChanged",
            "TimezoneChanged",
            "BusinessHoursChanged",
            "RingTimeoutChanged",
            "OwnerAvailabilityChanged",
        ]
    );
    for (event_type, _, metadata) in &events {
        assert_eq!(
            metadata["actor"],
            format!("user:{}", owner.id),
            "{event_type}"
        );
    }
    assert_eq!(
        events[5].2["causation"],
        "rest:PUT /api/v1/businesses/{id}/hours"
    );

    // And the read model shows the same business.
    app.projections_caught_up().await;
    let row = ok(call(&app, &owner, Method::GET, &at(""), None).await, 200).await;
    assert_eq!(row["business_id"], id);
    assert_eq!(row["name"], "Joe & Sons");
    assert_eq!(row["owner_phone"], Value::Null);
    assert_eq!(row["timezone"], "Europe/Berlin");
    assert_eq!(row["hours"], expected_hours);
    assert_eq!(row["ring_timeout_secs"], 35);
    assert_eq!(row["owner_available"], false);
    assert_eq!(row["agent_model"], Value::Null);
}

#[tokio::test]
async fn it_should_record_nothing_when_a_setting_is_set_to_what_it_is() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let id = id_of(&register(&app, &owner, "Joe's Plumbing").await);

    // Act
    let after = ok(
        call(
            &app,
            &owner,
            Method::PUT,
            &format!("/api/v1/businesses/{id}/availability"),
            Some(json!({"available": true})),
        )
        .await,
        200,
    )
    .await;

    // Assert
    assert_eq!(after["owner_available"], true);
    assert_eq!(app.event_types_of(&id).await, ["BusinessRegistered"]);
}

#[tokio::test]
async fn it_should_list_only_the_owners_own_businesses() {
    // Arrange
    let app = TestApp::spawn().await;
    let ann = app.owner().await;
    let bob = app.owner().await;
    register(&app, &ann, "Zed's Locks").await;
    register(&app, &ann, "ann's Bakery").await;
    register(&app, &bob, "Bob's Garage").await;
    app.projections_caught_up().await;

    // Act
    let listed = ok(
        call(&app, &ann, Method::GET, "/api/v1/businesses", None).await,
        200,
    )
    .await;

    // Assert: hers, by name, case-insensitively.
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann's Bakery", "Zed's Locks"]);
}

#[tokio::test]
async fn it_should_refuse_changes_to_a_deactivated_business_until_it_is_reactivated() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let id = id_of(&register(&app, &owner, "Joe's Plumbing").await);
    let at = |suffix: &str| format!("/api/v1/businesses/{id}{suffix}");
    let after = ok(
        call(
            &app,
            &owner,
            Method::POST,
            &at("/deactivate"),
            Some(json!({"reason": "closed for winter"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(after["active"], false);

    // Act and assert: every change is refused with 409.
    for (method, path, body) in super::endpoints(&id) {
        if method == Method::GET || path.ends_with("/reactivate") {
            continue;
        }
        let response = call(&app, &owner, method.clone(), &path, body).await;
        support::expect_problem(response, 409, "business_deactivated").await;
    }
    assert_eq!(
        app.event_types_of(&id).await,
        ["BusinessRegistered", "BusinessDeactivated"]
    );

    // Reactivating works once.
    let after = ok(
        call(&app, &owner, Method::POST, &at("/reactivate"), None).await,
        200,
    )
    .await;
    assert_eq!(after["active"], true);
    let again = call(&app, &owner, Method::POST, &at("/reactivate"), None).await;
    support::expect_problem(again, 409, "business_already_active").await;
    ok(
        call(
            &app,
            &owner,
            Method::PUT,
            &at("/ring-timeout"),
            Some(json!({"seconds": 10})),
        )
        .await,
        200,
    )
    .await;
}

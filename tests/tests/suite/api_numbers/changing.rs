//! Assigning, suspending, reactivating and releasing a number (admins).

use reqwest::Method;
use serde_json::{json, Value};
use support::expect_problem;
use wiremock::ResponseTemplate;

use super::*;

#[tokio::test]
async fn it_should_let_an_admin_assign_suspend_reactivate_and_release_a_number() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let business = business_of(&app, None).await;
    let (number, number_sid) = held_number(&app, None).await;
    twilio("DELETE", &format!("IncomingPhoneNumbers/{number_sid}.json"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&twilio_api)
        .await;
    let call = |verb: Method, action: &str, body: Option<Value>| {
        let path = format!("/api/v1/phone-numbers/{}/{action}", in_path(&number));
        let token = admin.token.clone();
        let app = &app;
        async move { app.api(verb, &path, Some(&token), body).await }
    };

    let assigned = call(
        Method::PUT,
        "business",
        Some(json!({"business_id": business.0})),
    )
    .await;
    let suspended = call(
        Method::POST,
        "suspend",
        Some(json!({"reason": "unpaid invoice"})),
    )
    .await;
    let suspended_again = call(Method::POST, "suspend", Some(json!({"reason": "again"}))).await;
    let reactivated = call(Method::POST, "reactivate", None).await;
    let reactivated_again = call(Method::POST, "reactivate", None).await;
    let released = call(Method::POST, "release", None).await;
    let released_again = call(Method::POST, "release", None).await;

    assert_eq!(
        json_of(assigned, 200).await["business_id"],
        business.0.to_string()
    );
    assert_eq!(json_of(suspended, 200).await["status"], "suspended");
    expect_problem(suspended_again, 409, "number_already_suspended").await;
    assert_eq!(json_of(reactivated, 200).await["status"], "active");
    expect_problem(reactivated_again, 409, "number_not_suspended").await;
    let released = json_of(released, 200).await;
    assert_eq!(released["status"], "released");
    assert_eq!(released["business_id"], Value::Null);
    expect_problem(released_again, 409, "number_released").await;
    assert_acted_by(
        &app,
        &number,
        &admin,
        &[
            "NumberAssigned",
            "NumberSuspended",
            "NumberReactivated",
            "NumberReleased",
        ],
    )
    .await;
    app.projections_caught_up().await;
    let shown = app
        .api(
            Method::GET,
            &format!("/api/v1/phone-numbers/{}", in_path(&number)),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(json_of(shown, 200).await["status"], "released");
}

#[tokio::test]
async fn it_should_record_the_release_of_a_number_twilio_no_longer_holds() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let (number, number_sid) = held_number(&app, None).await;
    twilio("DELETE", &format!("IncomingPhoneNumbers/{number_sid}.json"))
        .respond_with(twilio_error(
            404,
            20404,
            "The requested resource was not found",
        ))
        .expect(1)
        .mount(&twilio_api)
        .await;

    let response = app
        .api(
            Method::POST,
            &format!("/api/v1/phone-numbers/{}/release", in_path(&number)),
            Some(&admin.token),
            None,
        )
        .await;

    assert_eq!(json_of(response, 200).await["status"], "released");
    assert_acted_by(&app, &number, &admin, &["NumberReleased"]).await;
}

#[tokio::test]
async fn it_should_keep_a_number_twilio_failed_to_release() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let (number, number_sid) = held_number(&app, None).await;
    twilio("DELETE", &format!("IncomingPhoneNumbers/{number_sid}.json"))
        .respond_with(twilio_error(500, 20500, "Internal Server Error"))
        .mount(&twilio_api)
        .await;

    let response = app
        .api(
            Method::POST,
            &format!("/api/v1/phone-numbers/{}/release", in_path(&number)),
            Some(&admin.token),
            None,
        )
        .await;

    expect_problem(response, 502, "twilio_error").await;
    assert_eq!(app.event_types_of(&number).await, ["NumberProvisioned"]);
}

#[tokio::test]
async fn it_should_not_assign_a_number_to_an_unknown_business_or_change_an_unknown_number() {
    let (app, _twilio_api) = spawn().await;
    let admin = app.admin().await;
    let (number, _) = held_number(&app, None).await;
    let business = business_of(&app, None).await;
    let unknown = fresh_number();

    let to_nobody = app
        .api(
            Method::PUT,
            &format!("/api/v1/phone-numbers/{}/business", in_path(&number)),
            Some(&admin.token),
            Some(json!({"business_id": uuid::Uuid::new_v4()})),
        )
        .await;
    let unknown_number = app
        .api(
            Method::PUT,
            &format!("/api/v1/phone-numbers/{}/business", in_path(&unknown)),
            Some(&admin.token),
            Some(json!({"business_id": business.0})),
        )
        .await;
    let suspend_unknown = app
        .api(
            Method::POST,
            &format!("/api/v1/phone-numbers/{}/suspend", in_path(&unknown)),
            Some(&admin.token),
            Some(json!({"reason": "x"})),
        )
        .await;

    expect_problem(to_nobody, 404, "business_not_found").await;
    expect_problem(unknown_number, 404, "number_not_found").await;
    expect_problem(suspend_unknown, 404, "number_not_found").await;
    assert_eq!(app.event_types_of(&number).await, ["NumberProvisioned"]);
}

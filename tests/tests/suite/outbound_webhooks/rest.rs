//! The REST API of webhook endpoints: the secret shown once, tenancy, URL checks, deletion.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use support::calls::owned_business;
use support::{expect_problem, TestApp};

use super::{policy, register, spawn};

#[tokio::test]
async fn it_should_show_the_secret_once_and_keep_it_sealed() {
    let app = spawn(policy(2, Duration::from_millis(100))).await;
    let owner = app.owner().await;
    let ours = owned_business(&app, &owner, "Joe's Plumbing", true, chrono_tz::UTC).await;
    let created = register(
        &app,
        &owner,
        &ours.business_id,
        "https://crm.example.com/hooks/calls",
        &["message.taken", "call.ended", "message.taken"],
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(
        created["event_types"],
        json!(["message.taken", "call.ended"])
    );
    assert_eq!(created["created_by"], owner.id.to_string());

    let listed = app
        .api(
            Method::GET,
            &format!("/api/v1/businesses/{}/webhooks", ours.business_id),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(listed.status(), 200);
    let listed = listed.text().await.unwrap();
    assert!(!listed.contains(&secret));
    assert!(!listed.contains("secret"));
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["url"], "https://crm.example.com/hooks/calls");
    let stored: String = sqlx::query_scalar("SELECT secret_ciphertext FROM webhook_endpoints")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let encoded = secret.trim_start_matches("whsec_");
    assert!(!stored.contains(encoded));
    // A second endpoint gets a secret of its own.
    let second = register(
        &app,
        &owner,
        &ours.business_id,
        "https://crm.example.com/b",
        &["call.ended"],
    )
    .await;
    assert_ne!(second["secret"], created["secret"]);
}

#[tokio::test]
async fn it_should_answer_another_owner_as_if_nothing_existed() {
    let app = spawn(policy(2, Duration::from_millis(100))).await;
    let (owner, stranger, admin) = (app.owner().await, app.owner().await, app.admin().await);
    let ours = owned_business(&app, &owner, "Joe's Plumbing", true, chrono_tz::UTC).await;
    let created = register(
        &app,
        &owner,
        &ours.business_id,
        "https://crm.example.com/h",
        &["call.ended"],
    )
    .await;
    let base = format!("/api/v1/businesses/{}/webhooks", ours.business_id);
    let endpoint = format!("{base}/{}", created["id"].as_str().unwrap());
    let delivery = format!("{endpoint}/deliveries/{}/resend", uuid::Uuid::new_v4());
    let body = json!({ "url": "https://crm.example.com/x", "event_types": ["call.ended"] });
    for (method, path, body) in [
        (Method::GET, base.clone(), None),
        (Method::POST, base.clone(), Some(body)),
        (Method::GET, format!("{endpoint}/deliveries"), None),
        (Method::POST, delivery.clone(), None),
        (Method::DELETE, endpoint.clone(), None),
    ] {
        let answer = app
            .api(method.clone(), &path, Some(&stranger.token), body)
            .await;
        expect_problem(answer, 404, "business_not_found").await;
    }
    let listed: Vec<Value> = app
        .api(Method::GET, &base, Some(&admin.token), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "an admin sees every business' endpoints");
    let missing = app
        .api(Method::POST, &delivery, Some(&owner.token), None)
        .await;
    expect_problem(missing, 404, "webhook_delivery_not_found").await;
    let anonymous = app.api(Method::GET, &base, None, None).await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn it_should_delete_an_endpoint_once() {
    let app = spawn(policy(2, Duration::from_millis(100))).await;
    let owner = app.owner().await;
    let ours = owned_business(&app, &owner, "Joe's Plumbing", true, chrono_tz::UTC).await;
    let created = register(
        &app,
        &owner,
        &ours.business_id,
        "https://crm.example.com/h",
        &["call.ended"],
    )
    .await;
    let base = format!("/api/v1/businesses/{}/webhooks", ours.business_id);
    let endpoint = format!("{base}/{}", created["id"].as_str().unwrap());
    let deleted = app
        .api(Method::DELETE, &endpoint, Some(&owner.token), None)
        .await;
    assert_eq!(deleted.status(), 204);
    let again = app
        .api(Method::DELETE, &endpoint, Some(&owner.token), None)
        .await;
    expect_problem(again, 404, "webhook_endpoint_not_found").await;
    let log = app
        .api(
            Method::GET,
            &format!("{endpoint}/deliveries"),
            Some(&owner.token),
            None,
        )
        .await;
    expect_problem(log, 404, "webhook_endpoint_not_found").await;
    let listed: Vec<Value> = app
        .api(Method::GET, &base, Some(&owner.token), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty());
}

#[tokio::test]
async fn it_should_refuse_urls_that_are_not_public_https_unless_loopback_is_allowed() {
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let ours = owned_business(&app, &owner, "Joe's Plumbing", true, chrono_tz::UTC).await;
    let base = format!("/api/v1/businesses/{}/webhooks", ours.business_id);
    for url in [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://crm.example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest",
        "https://user:pass@crm.example.com/hook",
        "ftp://crm.example.com/",
        "not a url",
    ] {
        let answer = app
            .api(
                Method::POST,
                &base,
                Some(&owner.token),
                Some(json!({ "url": url, "event_types": ["call.ended"] })),
            )
            .await;
        expect_problem(answer, 400, "invalid_webhook_url").await;
    }
    for types in [json!([]), json!(["call.started"])] {
        let answer = app
            .api(
                Method::POST,
                &base,
                Some(&owner.token),
                Some(json!({ "url": "https://crm.example.com/h", "event_types": types })),
            )
            .await;
        expect_problem(answer, 400, "invalid_event_types").await;
    }
    let malformed = app
        .api(
            Method::POST,
            &base,
            Some(&owner.token),
            Some(json!({ "url": 7 })),
        )
        .await;
    assert_eq!(malformed.status(), 400);
    let listed: Vec<Value> = app
        .api(Method::GET, &base, Some(&owner.token), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty());

    let local = spawn(policy(2, Duration::from_millis(100))).await;
    let owner = local.owner().await;
    let ours = owned_business(&local, &owner, "Joe's Plumbing", true, chrono_tz::UTC).await;
    register(
        &local,
        &owner,
        &ours.business_id,
        "http://127.0.0.1:9000/hook",
        &["call.ended"],
    )
    .await;
    let still_internal = local
        .api(
            Method::POST,
            &format!("/api/v1/businesses/{}/webhooks", ours.business_id),
            Some(&owner.token),
            Some(json!({ "url": "http://10.0.0.7/hook", "event_types": ["call.ended"] })),
        )
        .await;
    expect_problem(still_internal, 400, "invalid_webhook_url").await;
}

//! Accounts over HTTP through the real server: register, log in, who am I, refresh with
//! rotation and reuse detection, log out, and the problem+json errors.

use serde_json::{json, Value};
use support::TestApp;

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.address))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn me(app: &TestApp, access_token: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/api/v1/me", app.address))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

fn owner() -> Value {
    json!({ "email": " Ann@Example.com ", "password": "correct horse battery", "first_name": "Ann", "last_name": "Smith" })
}

async fn problem(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn it_should_register_an_owner_log_in_and_say_who_is_signed_in() {
    let app = TestApp::spawn().await;

    let registered = post(&app, "/api/v1/auth/register", owner()).await;
    assert_eq!(registered.status(), 201);
    let login = post(
        &app,
        "/api/v1/auth/login",
        json!({ "email": "ann@example.com", "password": "correct horse battery" }),
    )
    .await;
    assert_eq!(login.status(), 200);
    let tokens: Value = login.json().await.unwrap();
    let profile: Value = me(&app, tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(profile["email"], "ann@example.com");
    assert_eq!(profile["role"], "business_owner");
    assert!(profile.get("password_hash").is_none());
    assert_eq!(tokens["expires_in"], 900);
}

#[tokio::test]
async fn it_should_refuse_bad_registrations_with_a_clear_problem() {
    let app = TestApp::spawn().await;
    post(&app, "/api/v1/auth/register", owner()).await;

    problem(
        post(&app, "/api/v1/auth/register", owner()).await,
        409,
        "email_taken",
    )
    .await;
    let mut weak = owner();
    weak["email"] = json!("bob@example.com");
    weak["password"] = json!("short");
    problem(
        post(&app, "/api/v1/auth/register", weak).await,
        400,
        "weak_password",
    )
    .await;
    let mut bad_email = owner();
    bad_email["email"] = json!("not-an-email");
    problem(
        post(&app, "/api/v1/auth/register", bad_email).await,
        400,
        "invalid_email",
    )
    .await;
    let mut unknown_field = owner();
    unknown_field["role"] = json!("admin");
    problem(
        post(&app, "/api/v1/auth/register", unknown_field).await,
        400,
        "malformed_body",
    )
    .await;
    let raw = app
        .client
        .post(format!("{}/api/v1/auth/register", app.address))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(raw, 400, "malformed_body").await;
}

#[tokio::test]
async fn it_should_refuse_wrong_credentials_and_bad_tokens() {
    let app = TestApp::spawn().await;
    post(&app, "/api/v1/auth/register", owner()).await;

    problem(
        post(
            &app,
            "/api/v1/auth/login",
            json!({ "email": "ann@example.com", "password": "wrong password!" }),
        )
        .await,
        401,
        "invalid_credentials",
    )
    .await;
    problem(
        post(
            &app,
            "/api/v1/auth/login",
            json!({ "email": "nobody@example.com", "password": "whatever12345" }),
        )
        .await,
        401,
        "invalid_credentials",
    )
    .await;
    problem(me(&app, "not.a.jwt").await, 401, "invalid_token").await;
    let anonymous = app
        .client
        .get(format!("{}/api/v1/me", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    problem(anonymous, 401, "missing_token").await;
}

#[tokio::test]
async fn it_should_rotate_refresh_tokens_and_revoke_the_family_when_one_is_reused() {
    let app = TestApp::spawn().await;
    post(&app, "/api/v1/auth/register", owner()).await;
    let first: Value = post(
        &app,
        "/api/v1/auth/login",
        json!({ "email": "ann@example.com", "password": "correct horse battery" }),
    )
    .await
    .json()
    .await
    .unwrap();

    let second: Value = post(
        &app,
        "/api/v1/auth/refresh",
        json!({ "refresh_token": first["refresh_token"] }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"], "rotated");
    assert_eq!(
        me(&app, second["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // The first token again: someone else has it. Its whole family dies, the newest included.
    problem(
        post(
            &app,
            "/api/v1/auth/refresh",
            json!({ "refresh_token": first["refresh_token"] }),
        )
        .await,
        401,
        "refresh_token_reused",
    )
    .await;
    problem(
        post(
            &app,
            "/api/v1/auth/refresh",
            json!({ "refresh_token": second["refresh_token"] }),
        )
        .await,
        401,
        "invalid_refresh_token",
    )
    .await;
    problem(
        post(
            &app,
            "/api/v1/auth/refresh",
            json!({ "refresh_token": "made-up" }),
        )
        .await,
        401,
        "invalid_refresh_token",
    )
    .await;
}

#[tokio::test]
async fn it_should_end_the_session_at_logout() {
    let app = TestApp::spawn().await;
    post(&app, "/api/v1/auth/register", owner()).await;
    let tokens: Value = post(
        &app,
        "/api/v1/auth/login",
        json!({ "email": "ann@example.com", "password": "correct horse battery" }),
    )
    .await
    .json()
    .await
    .unwrap();

    let logout = post(
        &app,
        "/api/v1/auth/logout",
        json!({ "refresh_token": tokens["refresh_token"] }),
    )
    .await;

    assert_eq!(logout.status(), 204);
    problem(
        post(
            &app,
            "/api/v1/auth/refresh",
            json!({ "refresh_token": tokens["refresh_token"] }),
        )
        .await,
        401,
        "invalid_refresh_token",
    )
    .await;
}

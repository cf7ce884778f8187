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

    // The first token again, at once (two nodes renewing for one browser): a new pair of the
    // same session, nothing revoked.
    let again: Value = post(
        &app,
        "/api/v1/auth/refresh",
        json!({ "refresh_token": first["refresh_token"] }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_ne!(again["refresh_token"], second["refresh_token"]);
    assert_eq!(
        me(&app, again["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // The first token again, later: someone else has it. Its whole family dies, the newest
    // included.
    sqlx::query("UPDATE refresh_tokens SET used_at = used_at - interval '1 minute' WHERE used_at IS NOT NULL")
        .execute(&app.db.pool)
        .await
        .unwrap();
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
    for survivor in [&second, &again] {
        problem(
            post(
                &app,
                "/api/v1/auth/refresh",
                json!({ "refresh_token": survivor["refresh_token"] }),
            )
            .await,
            401,
            "invalid_refresh_token",
        )
        .await;
    }
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

/// A login as if from `address` (the server trusts `X-Forwarded-For` in these tests).
async fn login_from(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/auth/login", app.address))
        .header("X-Forwarded-For", address)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

async fn register(app: &TestApp, email: &str) {
    let mut body = owner();
    body["email"] = json!(email);
    assert_eq!(post(app, "/api/v1/auth/register", body).await.status(), 201);
}

/// The Retry-After of a 429 `too_many_failed_logins`, in seconds.
async fn locked_out(response: reqwest::Response) -> u64 {
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().parse::<u64>().unwrap());
    problem(response, 429, "too_many_failed_logins").await;
    retry_after.expect("a Retry-After header")
}

#[tokio::test]
async fn it_should_lock_an_account_after_too_many_failed_logins_even_for_the_right_password() {
    let app = TestApp::spawn_with(&[
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "3"),
        ("LOGIN_FAILURE_WINDOW_SECS", "600"),
    ])
    .await;
    register(&app, "ann@example.com").await;
    register(&app, "bob@example.com").await;
    for _ in 0..3 {
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
    }

    let right_password = post(
        &app,
        "/api/v1/auth/login",
        json!({ "email": " ANN@example.com", "password": "correct horse battery" }),
    )
    .await;
    let other_account = post(
        &app,
        "/api/v1/auth/login",
        json!({ "email": "bob@example.com", "password": "correct horse battery" }),
    )
    .await;

    let retry_after = locked_out(right_password).await;
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    assert_eq!(other_account.status(), 200, "another account is unaffected");
}

#[tokio::test]
async fn it_should_forget_an_accounts_failed_logins_once_it_signs_in() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES_PER_ACCOUNT", "3")]).await;
    register(&app, "ann@example.com").await;
    let attempt = |password: &'static str| {
        post(
            &app,
            "/api/v1/auth/login",
            json!({ "email": "ann@example.com", "password": password }),
        )
    };

    for _ in 0..2 {
        assert_eq!(attempt("wrong password!").await.status(), 401);
    }
    assert_eq!(attempt("correct horse battery").await.status(), 200);
    for _ in 0..2 {
        assert_eq!(attempt("wrong password!").await.status(), 401);
    }

    assert_eq!(attempt("correct horse battery").await.status(), 200);
}

#[tokio::test]
async fn it_should_lock_an_address_spraying_many_accounts_and_no_other_address() {
    let app = TestApp::spawn_with(&[
        ("TRUST_FORWARDED_FOR", "true"),
        ("LOGIN_MAX_FAILURES_PER_ADDRESS", "3"),
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "100"),
    ])
    .await;
    register(&app, "ann@example.com").await;
    for n in 0..3 {
        let response = login_from(
            &app,
            "203.0.113.7",
            &format!("user{n}@example.com"),
            "whatever12345",
        )
        .await;
        problem(response, 401, "invalid_credentials").await;
    }

    let sprayer = login_from(
        &app,
        "203.0.113.7",
        "ann@example.com",
        "correct horse battery",
    )
    .await;
    let elsewhere = login_from(
        &app,
        "198.51.100.9",
        "ann@example.com",
        "correct horse battery",
    )
    .await;

    locked_out(sprayer).await;
    assert_eq!(elsewhere.status(), 200, "another address is unaffected");
}

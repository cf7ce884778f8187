//! The businesses part of the REST API, through the real server: registering, changing each
//! setting (every event records who did it), the sealed OpenAI key, tenants, validation and
//! the state rules of the aggregate, answered as problem+json.

mod agent;
mod settings;
mod tenants;
mod validation;

use reqwest::Method;
use serde_json::{json, Value};
use support::{TestApp, User};

/// `method path` as `user`, with a JSON body.
async fn call(
    app: &TestApp,
    user: &User,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    app.api(method, path, Some(&user.token), body).await
}

/// Asserts a 2xx answer and returns its JSON body.
async fn ok(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(actual, status, "{body}");
    body
}

/// Registers a business as `user` and returns its view.
async fn register(app: &TestApp, user: &User, name: &str) -> Value {
    ok(
        call(
            app,
            user,
            Method::POST,
            "/api/v1/businesses",
            Some(json!({
                "name": name,
                "description": "Pipes, fast.",
                "owner_phone": "+14155550123",
                "timezone": "America/New_York",
            })),
        )
        .await,
        201,
    )
    .await
}

/// The id of a business view.
fn id_of(business: &Value) -> String {
    business["id"].as_str().unwrap().to_owned()
}

/// Every endpoint on one business, with a well-formed body that changes something, in an order
/// that succeeds for someone allowed: (method, path, body).
fn endpoints(id: &str) -> Vec<(Method, String, Option<Value>)> {
    let at = |suffix: &str| format!("/api/v1/businesses/{id}{suffix}");
    vec![
        (Method::GET, at(""), None),
        (
            Method::PUT,
            at("/profile"),
            Some(json!({"name": "Mine now", "description": ""})),
        ),
        (
            Method::PUT,
            at("/owner-phone"),
            Some(json!({"owner_phone": "+14155550199"})),
        ),
        (
            Method::PUT,
            at("/timezone"),
            Some(json!({"timezone": "Europe/Berlin"})),
        ),
        (
            Method::PUT,
            at("/hours"),
            Some(json!({"monday": [{"opens": "09:00", "closes": "17:00"}]})),
        ),
        (
            Method::PUT,
            at("/ring-timeout"),
            Some(json!({"seconds": 30})),
        ),
        (
            Method::PUT,
            at("/availability"),
            Some(json!({"available": false})),
        ),
        (
            Method::PUT,
            at("/agent"),
            Some(
                json!({"model": "gpt-realtime", "voice": "marin", "instructions": "Hi.", "openai_api_key": "sk-test-stolen-0000"}),
            ),
        ),
        (Method::GET, at("/agent"), None),
        (Method::DELETE, at("/agent"), None),
        (
            Method::POST,
            at("/deactivate"),
            Some(json!({"reason": "mine"})),
        ),
        (Method::POST, at("/reactivate"), None),
    ]
}

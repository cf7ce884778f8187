//! Outbound webhooks end to end: real calls through Twilio's signed webhooks, the real server
//! delivering to a real local HTTP receiver that checks every signature with an independent
//! implementation of Standard Webhooks (the `standardwebhooks` crate), fails on purpose, and
//! records what it got by `webhook-id`.

mod dashboard;
mod delivery;
mod receiver;
mod rest;

use std::time::Duration;

use api::Application;
use infrastructure::webhooks::RetryPolicy;
use serde_json::{json, Value};
use support::{TestApp, TestDatabase, User};

/// How long the server waits for the receiver in these tests (a hanging answer outlasts it).
const TIMEOUT: Duration = Duration::from_millis(1500);

/// A short retry schedule: `tries` tries, `pause` apart.
fn policy(tries: usize, pause: Duration) -> RetryPolicy {
    RetryPolicy {
        delays: vec![pause; tries.saturating_sub(1)],
    }
}

/// The server with `http://127.0.0.1` endpoints allowed, the retry `policy` and [`TIMEOUT`], and
/// no summariser (the tests record summaries themselves).
async fn spawn(policy: RetryPolicy) -> TestApp {
    let db = TestDatabase::fresh().await;
    let settings = support::test_settings(&db.url, &[("WEBHOOKS_ALLOW_HTTP_LOOPBACK", "true")]);
    let app = Application::build(settings)
        .await
        .expect("application builds")
        .with_summaries(false)
        .with_webhook_retry_policy(policy)
        .with_webhook_timeout(TIMEOUT);
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    }
}

/// Registers an endpoint at `url` for `types` over the API; returns the answer's body (with the
/// secret).
async fn register(app: &TestApp, owner: &User, business: &str, url: &str, types: &[&str]) -> Value {
    let response = app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/businesses/{business}/webhooks"),
            Some(&owner.token),
            Some(json!({ "url": url, "event_types": types })),
        )
        .await;
    assert_eq!(response.status(), 201, "registered");
    response.json().await.unwrap()
}

/// The endpoint's delivery log over the API.
async fn deliveries(app: &TestApp, owner: &User, business: &str, endpoint: &str) -> Vec<Value> {
    let response = app
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/businesses/{business}/webhooks/{endpoint}/deliveries"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Waits (up to 30 s) until the endpoint's log has `count` deliveries, all with `status`;
/// returns them.
async fn settled(
    app: &TestApp,
    owner: &User,
    business: &str,
    endpoint: &str,
    count: usize,
    status: &str,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let log = deliveries(app, owner, business, endpoint).await;
        if log.len() == count && log.iter().all(|d| d["status"] == status) {
            return log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "expected {count} deliveries {status}, got {log:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The AI agent of the business answers a call: it takes a message, the caller hangs up
/// (Twilio's status callback ends the call), and the call is summarised. Returns its sid.
async fn call_with_message(app: &TestApp, number: &str, summary: &str) -> String {
    use domain::call::{CallCommand, Urgency};
    use domain::{Actor, CommandMetadata};

    let sid = support::calls::incoming(app, number).await;
    let stores = app.stores();
    let meta = |actor| CommandMetadata::new(sid.clone(), "test:bridge", actor, chrono::Utc::now());
    for (command, actor) in [
        (
            CallCommand::StartAiSession {
                model: "gpt-realtime".into(),
                voice: "marin".into(),
            },
            Actor::VoiceBridge,
        ),
        (
            CallCommand::TakeMessage {
                caller_name: Some("Ann Baker".into()),
                callback_number: Some(support::calls::CALLER.into()),
                message: "Kitchen sink leaks; call back today.".into(),
                urgency: Urgency::High,
            },
            Actor::VoiceBridge,
        ),
        (
            CallCommand::EndAiSession {
                reason: "caller hung up".into(),
            },
            Actor::VoiceBridge,
        ),
    ] {
        stores
            .calls
            .execute(&sid, command, &meta(actor))
            .await
            .unwrap();
    }
    support::calls::completed(app, &sid, number, "73").await;
    stores
        .calls
        .execute(
            &sid,
            CallCommand::RecordSummary {
                summary: summary.into(),
            },
            &meta(Actor::System),
        )
        .await
        .unwrap();
    sid
}

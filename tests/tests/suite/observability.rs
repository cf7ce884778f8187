//! Observability through the real server: Prometheus metrics (HTTP timings by route pattern,
//! routed calls, projection and relay lag), the readiness report with RabbitMQ, and CORS.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use support::{new_call_sid, seed, SeedBusiness, Seeded, TestApp};

const CALLER: &str = "+14155550111";
const ALLOWED_ORIGIN: &str = "https://app.example.com";

async fn metrics(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

/// The value of the sample named exactly `series` (name and labels), if it is there.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

async fn incoming(app: &TestApp, sid: &str, to: &str) -> reqwest::Response {
    let params = [
        ("CallSid", sid),
        ("AccountSid", support::TEST_ACCOUNT_SID),
        ("From", CALLER),
        ("To", to),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
    ];
    app.post_twilio("/twilio/voice/incoming", &params).await
}

async fn dial_result(app: &TestApp, sid: &str, seeded: &Seeded, status: &str) {
    let params = [
        ("CallSid", sid),
        ("AccountSid", support::TEST_ACCOUNT_SID),
        ("From", CALLER),
        ("To", seeded.number.as_str()),
        ("DialCallStatus", status),
    ];
    let response = app.post_twilio("/twilio/voice/dial-result", &params).await;
    assert_eq!(response.status(), 200);
}

async fn ready(app: &TestApp) -> (u16, Value) {
    let response = app.get("/health/ready").await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn it_should_time_requests_by_route_pattern_never_by_path() {
    let app = TestApp::spawn().await;
    let id = uuid::Uuid::new_v4();

    app.get("/health/live").await;
    app.get(&format!("/api/v1/businesses/{id}")).await;
    app.get("/no/such/thing").await;
    let text = metrics(&app).await;

    assert_eq!(
        sample(
            &text,
            r#"http_request_duration_seconds_count{method="GET",route="/health/live",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/businesses/{id}",status="401""#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(!text.contains(&id.to_string()), "no raw path in a label");
    assert!(!text.contains("/no/such/thing"), "no raw path in a label");
}

#[tokio::test]
async fn it_should_count_a_routed_call_once_when_twilio_retries_the_webhook() {
    let app = TestApp::spawn().await;
    let seeded = seed(&app.stores(), SeedBusiness::default()).await;
    let sid = new_call_sid();

    for _ in 0..3 {
        assert_eq!(incoming(&app, &sid, &seeded.number).await.status(), 200);
    }
    for _ in 0..2 {
        dial_result(&app, &sid, &seeded, "no-answer").await;
    }
    let unknown = new_call_sid();
    incoming(&app, &unknown, "+15550000000").await;
    incoming(&app, &unknown, "+15550000000").await;
    let text = metrics(&app).await;

    let routed = |route: &str| {
        sample(
            &text,
            &format!(r#"callassist_calls_routed_total{{route="{route}"}}"#),
        )
    };
    assert_eq!(routed("owner"), Some(1.0), "{text}");
    assert_eq!(
        routed("ai"),
        Some(1.0),
        "the fallback after the owner missed"
    );
    assert_eq!(routed("rejected"), Some(1.0));
    assert_eq!(routed("voicemail"), Some(0.0));
}

#[tokio::test]
async fn it_should_show_how_far_each_projection_is_behind() {
    let app = TestApp::spawn().await;
    seed(&app.stores(), SeedBusiness::default()).await;
    app.projections_caught_up().await;

    let text = metrics(&app).await;

    for projection in projections::registry::all() {
        let series = format!(
            r#"callassist_projection_lag_events{{projection="{}"}}"#,
            projection.name()
        );
        assert_eq!(sample(&text, &series), Some(0.0), "{series} in {text}");
    }
}

#[tokio::test]
async fn it_should_show_how_far_the_relay_is_behind() {
    let amqp_url = support::amqp_url();
    let app = TestApp::spawn_with(&[("AMQP_URL", &amqp_url)]).await;
    seed(&app.stores(), SeedBusiness::default()).await;

    let series = r#"callassist_relay_lag_events{relay="rabbitmq"}"#;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = metrics(&app).await;
        if sample(&text, series) == Some(0.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the relay did not catch up: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn it_should_report_each_dependency_when_ready() {
    let amqp_url = support::amqp_url();
    let app = TestApp::spawn_with(&[("AMQP_URL", &amqp_url)]).await;
    app.projections_caught_up().await;

    let (status, body) = ready(&app).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert_eq!(body["checks"]["rabbitmq"]["status"], "up");
    let reported = body["checks"]["projections"].as_object().unwrap();
    for projection in projections::registry::all() {
        let check = &reported[projection.name()];
        assert_eq!(check["status"], "up", "{body}");
        assert_eq!(check["lag_events"], 0, "{body}");
    }
}

#[tokio::test]
async fn it_should_stay_in_rotation_but_report_rabbitmq_down_when_it_cannot_be_reached() {
    let app = TestApp::spawn_with(&[("AMQP_URL", "amqp://guest:guest@127.0.0.1:1/%2f")]).await;

    let (status, body) = ready(&app).await;

    // The events table is the outbox: nothing is lost, and webhooks must keep being answered.
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["rabbitmq"]["status"], "down");
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert_eq!(app.get("/health/live").await.status(), 200);
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(
            Method::OPTIONS,
            format!("{}/api/v1/auth/login", app.address),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
}

#[tokio::test]
async fn it_should_answer_a_preflight_from_an_allowed_origin_and_no_other() {
    let app = TestApp::spawn_with(&[(
        "CORS_ALLOWED_ORIGINS",
        "https://app.example.com, http://localhost:3000",
    )])
    .await;

    let allowed = preflight(&app, ALLOWED_ORIGIN).await;
    let other = preflight(&app, "https://evil.example.net").await;
    let request = app
        .client
        .get(format!("{}/health/live", app.address))
        .header("Origin", ALLOWED_ORIGIN)
        .send()
        .await
        .unwrap();

    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some(ALLOWED_ORIGIN)
    );
    let methods = header(&allowed, "access-control-allow-methods").unwrap();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
    let headers = header(&allowed, "access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    assert_eq!(header(&other, "access-control-allow-origin"), None);
    assert_eq!(
        header(&request, "access-control-allow-origin"),
        Some(ALLOWED_ORIGIN)
    );
    assert_eq!(
        header(&request, "access-control-expose-headers").map(str::to_ascii_lowercase),
        Some("x-request-id".to_owned())
    );
}

#[tokio::test]
async fn it_should_send_no_cors_headers_unless_origins_are_configured() {
    let app = TestApp::spawn().await;

    let response = preflight(&app, ALLOWED_ORIGIN).await;
    let request = app
        .client
        .get(format!("{}/health/live", app.address))
        .header("Origin", ALLOWED_ORIGIN)
        .send()
        .await
        .unwrap();

    for response in [&response, &request] {
        let cors: Vec<_> = response
            .headers()
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{cors:?}");
    }
}

//! Health endpoints through the real server.

use support::TestApp;

#[tokio::test]
async fn it_should_answer_live_with_a_request_id() {
    let app = TestApp::spawn().await;

    let response = app.get("/health/live").await;

    assert_eq!(response.status(), 200);
    let request_id = response
        .headers()
        .get("x-request-id")
        .expect("x-request-id header");
    assert_eq!(request_id.to_str().unwrap().len(), 36, "a UUID");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "live");
}

#[tokio::test]
async fn it_should_be_ready_while_the_database_answers() {
    let app = TestApp::spawn().await;

    let response = app.get("/health/ready").await;

    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["checks"]["database"]["status"], "up");
    assert!(
        body["checks"].get("rabbitmq").is_none(),
        "no broker to check without AMQP_URL: {body}"
    );
    let projections = body["checks"]["projections"].as_object().unwrap();
    assert_eq!(projections.len(), projections::registry::all().len());
    for check in projections.values() {
        assert!(check["lag_events"].is_i64(), "{body}");
    }
}

#[tokio::test]
async fn it_should_report_unavailable_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.db.lose().await;

    let response = app.get("/health/ready").await;

    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["database"]["status"], "down");
    // Still alive: a load balancer must not restart it for a database outage.
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test]
async fn it_should_answer_unknown_paths_with_404() {
    let app = TestApp::spawn().await;

    assert_eq!(app.get("/no/such/thing").await.status(), 404);
}

//! The AI agent's settings, and the OpenAI key: sealed at rest, shown only as its last four.

use infrastructure::vault::Vault;
use reqwest::Method;
use serde_json::{json, Value};
use support::TestApp;

use super::{call, id_of, ok, register};

/// The key of the test settings' `ENCRYPTION_KEY` (base64 of these 32 bytes).
const TEST_ENCRYPTION_KEY: [u8; 32] = *b"0123456789abcdef0123456789abcdef";
const OPENAI_KEY: &str = "sk-proj-SECRET0123456789abcdefLAST";

/// The first `api_key` object inside a stored payload.
fn sealed_key_in(payload: &Value) -> Option<domain::business::SealedSecret> {
    match payload {
        Value::Object(map) => map
            .get("api_key")
            .and_then(|key| serde_json::from_value(key.clone()).ok())
            .or_else(|| map.values().find_map(sealed_key_in)),
        _ => None,
    }
}

#[tokio::test]
async fn it_should_seal_the_openai_key_and_show_only_its_last_four() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let id = id_of(&register(&app, &owner, "Joe's Plumbing").await);
    let agent_path = format!("/api/v1/businesses/{id}/agent");
    let mut answers = Vec::new();

    // Act
    let response = call(
        &app,
        &owner,
        Method::PUT,
        &agent_path,
        Some(json!({
            "model": "gpt-realtime", "voice": "marin",
            "instructions": "Take a message for Joe.", "openai_api_key": OPENAI_KEY,
        })),
    )
    .await;

    // Assert: the answer shows the agent with the last four only.
    let business = ok(response, 200).await;
    assert_eq!(
        business["agent"],
        json!({"model": "gpt-realtime", "voice": "marin", "instructions": "Take a message for Joe.",
               "enabled": true, "key_last_four": "LAST"})
    );
    answers.push(business.to_string());
    let agent = ok(
        call(&app, &owner, Method::GET, &agent_path, None).await,
        200,
    )
    .await;
    assert_eq!(agent["key_last_four"], "LAST");
    answers.push(agent.to_string());
    app.projections_caught_up().await;
    let row = ok(
        call(
            &app,
            &owner,
            Method::GET,
            &format!("/api/v1/businesses/{id}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(row["agent_key_last_four"], "LAST");
    assert_eq!(row["agent_enabled"], true);
    answers.push(row.to_string());
    answers.push(
        ok(
            call(&app, &owner, Method::GET, "/api/v1/businesses", None).await,
            200,
        )
        .await
        .to_string(),
    );
    for answer in &answers {
        assert!(!answer.contains("SECRET"), "the key leaked: {answer}");
    }

    // The stored event holds the ciphertext and the last four, never the key; it opens with
    // the configured encryption key, for this business only.
    let events = app.events_of(&id).await;
    let (event_type, payload, metadata) = events.last().unwrap();
    assert_eq!(event_type, "AgentConfigured");
    assert_eq!(metadata["actor"], format!("user:{}", owner.id));
    assert!(!payload.to_string().contains("SECRET"), "{payload}");
    let sealed = sealed_key_in(payload).expect("the event carries the sealed key");
    assert_eq!(sealed.last_four, "LAST");
    let vault = Vault::new(&TEST_ENCRYPTION_KEY, []);
    let business_id = domain::values::BusinessId(id.parse().unwrap());
    assert!(vault.open(business_id, &sealed).is_ok());
    let elsewhere = domain::values::BusinessId(uuid::Uuid::new_v4());
    assert!(vault.open(elsewhere, &sealed).is_err());
    let stored_rows: String = sqlx::query_scalar(
        "SELECT state::text FROM rm_businesses.businesses WHERE business_id = $1",
    )
    .bind(business_id.0)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert!(!stored_rows.contains("SECRET"));
}

#[tokio::test]
async fn it_should_keep_the_key_when_the_agent_is_reconfigured_without_one() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let id = id_of(&register(&app, &owner, "Joe's Plumbing").await);
    let agent_path = format!("/api/v1/businesses/{id}/agent");
    ok(call(&app, &owner, Method::PUT, &agent_path, Some(json!({
        "model": "gpt-realtime", "voice": "marin", "instructions": "Hi.", "openai_api_key": OPENAI_KEY,
    }))).await, 200).await;

    // Act
    let business = ok(
        call(
            &app,
            &owner,
            Method::PUT,
            &agent_path,
            Some(json!({
                "model": "gpt-realtime", "voice": "cedar", "instructions": "Hello.",
            })),
        )
        .await,
        200,
    )
    .await;

    // Assert
    assert_eq!(business["agent"]["voice"], "cedar");
    assert_eq!(business["agent"]["key_last_four"], "LAST");
}

#[tokio::test]
async fn it_should_disable_the_agent_and_keep_its_settings() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let id = id_of(&register(&app, &owner, "Joe's Plumbing").await);
    let agent_path = format!("/api/v1/businesses/{id}/agent");
    ok(call(&app, &owner, Method::PUT, &agent_path, Some(json!({
        "model": "gpt-realtime", "voice": "marin", "instructions": "Hi.", "openai_api_key": OPENAI_KEY,
    }))).await, 200).await;

    // Act
    let business = ok(
        call(&app, &owner, Method::DELETE, &agent_path, None).await,
        200,
    )
    .await;

    // Assert
    assert_eq!(business["agent"]["enabled"], false);
    assert_eq!(business["agent"]["model"], "gpt-realtime");
    let again = call(&app, &owner, Method::DELETE, &agent_path, None).await;
    support::expect_problem(again, 409, "agent_not_enabled").await;
    assert_eq!(
        app.event_types_of(&id).await,
        ["BusinessRegistered", "AgentConfigured", "AgentDisabled"]
    );
}

#[tokio::test]
async fn it_should_require_a_key_the_first_time_the_agent_is_configured() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let id = id_of(&register(&app, &owner, "Joe's Plumbing").await);
    let agent_path = format!("/api/v1/businesses/{id}/agent");

    // Act
    let response = call(
        &app,
        &owner,
        Method::PUT,
        &agent_path,
        Some(json!({
            "model": "gpt-realtime", "voice": "marin", "instructions": "Hi.",
        })),
    )
    .await;

    // Assert
    support::expect_problem(response, 400, "agent_key_required").await;
    let missing = call(&app, &owner, Method::GET, &agent_path, None).await;
    support::expect_problem(missing, 404, "agent_not_configured").await;
    let bad_key = call(&app, &owner, Method::PUT, &agent_path, Some(json!({
        "model": "gpt-realtime", "voice": "marin", "instructions": "Hi.", "openai_api_key": "sk secret key",
    }))).await;
    let body = support::expect_problem(bad_key, 400, "invalid_openai_api_key").await;
    assert!(!body.to_string().contains("secret"), "{body}");
    assert_eq!(app.event_types_of(&id).await, ["BusinessRegistered"]);
}

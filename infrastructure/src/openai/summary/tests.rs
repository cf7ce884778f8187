//! A fake Responses API (wiremock) answering the documented shapes, and what the client makes
//! of each answer.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{SummaryClient, SummaryError, INSTRUCTIONS};

const KEY: &str = "sk-test-0123456789abcdefWXYZ";
const TRANSCRIPT: &str =
    "[00:00] Agent: Joe's Plumbing, how can I help?\n[00:02] Caller: My sink leaks.";

fn client(server: &MockServer) -> SummaryClient {
    let base = url::Url::parse(&server.uri()).unwrap();
    SummaryClient::new(&base, "gpt-4o-mini", Duration::from_secs(5))
        .unwrap()
        .with_retries(3, Duration::from_millis(1))
}

fn key() -> SecretString {
    SecretString::from(KEY)
}

/// A Responses API answer as OpenAI sends it: a reasoning item, then the message.
fn answer(text: &str) -> Value {
    json!({
        "id": "resp_123", "object": "response", "created_at": 1_741_476_542u64,
        "status": "completed", "model": "gpt-4o-mini-2024-07-18", "error": null,
        "incomplete_details": null, "instructions": INSTRUCTIONS, "max_output_tokens": 1000,
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}
        ],
        "parallel_tool_calls": true, "store": false, "temperature": 1.0, "tool_choice": "auto",
        "tools": [], "top_p": 1.0, "truncation": "disabled",
        "usage": {"input_tokens": 80, "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": 40, "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": 120},
        "metadata": {}
    })
}

fn error_answer(status: u16, message: &str, code: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}
    }))
}

#[tokio::test]
async fn it_should_post_the_transcript_with_the_key_and_read_the_summary() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(answer(" Ann called about a leak. ")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let summary = client(&server).summarize(&key(), TRANSCRIPT).await;

    assert_eq!(summary.unwrap(), "Ann called about a leak.");
    let requests = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["input"], TRANSCRIPT);
    assert_eq!(body["instructions"], INSTRUCTIONS);
    assert_eq!(body["store"], false);
    assert_eq!(requests[0].headers["content-type"], "application/json");
}

#[tokio::test]
async fn it_should_keep_the_path_of_a_base_url_that_has_one() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/proxy/openai/v1/responses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer("Fine.")))
        .expect(1)
        .mount(&server)
        .await;
    let base = url::Url::parse(&format!("{}/proxy/openai/", server.uri())).unwrap();

    let client = SummaryClient::new(&base, "gpt-4o-mini", Duration::from_secs(5)).unwrap();

    assert_eq!(client.summarize(&key(), TRANSCRIPT).await.unwrap(), "Fine.");
}

#[tokio::test]
async fn it_should_try_again_after_a_429_and_honour_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            error_answer(429, "Rate limit reached", Some("rate_limit_exceeded"))
                .insert_header("retry-after-ms", "20"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer("Call back Ann.")))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server).with_retries(2, Duration::from_secs(60));

    let started = std::time::Instant::now();
    let summary = client.summarize(&key(), TRANSCRIPT).await;

    assert_eq!(summary.unwrap(), "Call back Ann.");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited OpenAI's 20 ms, not the 60 s backoff"
    );
}

#[tokio::test]
async fn it_should_give_up_retryably_when_openai_keeps_failing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error_answer(500, "The server had an error", None))
        .expect(3)
        .mount(&server)
        .await;

    let err = client(&server)
        .summarize(&key(), TRANSCRIPT)
        .await
        .unwrap_err();

    assert!(!err.is_permanent(), "{err}");
    assert!(
        matches!(&err, SummaryError::Retryable { status: Some(500), message } if message.contains("The server had an error")),
        "{err:?}"
    );
}

#[tokio::test]
async fn it_should_not_wait_for_a_quota_that_ran_out_nor_for_a_long_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error_answer(
            429,
            "You exceeded your current quota",
            Some("insufficient_quota"),
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(error_answer(503, "Overloaded", None).insert_header("retry-after", "120"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);

    let quota = client.summarize(&key(), TRANSCRIPT).await.unwrap_err();
    let long_pause = client.summarize(&key(), TRANSCRIPT).await.unwrap_err();

    assert!(
        matches!(
            quota,
            SummaryError::Retryable {
                status: Some(429),
                ..
            }
        ),
        "{quota:?}"
    );
    assert!(
        matches!(
            long_pause,
            SummaryError::Retryable {
                status: Some(503),
                ..
            }
        ),
        "{long_pause:?}"
    );
}

#[tokio::test]
async fn it_should_treat_other_client_errors_as_permanent_without_retrying() {
    for (status, message) in [
        (400, "Invalid 'input': string too long."),
        (401, "Incorrect API key provided: sk-test-************WXYZ."),
        (403, "Project does not have access to model gpt-4o-mini"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(error_answer(status, message, Some("invalid_api_key")))
            .expect(1)
            .mount(&server)
            .await;

        let err = client(&server)
            .summarize(&key(), TRANSCRIPT)
            .await
            .unwrap_err();

        assert!(err.is_permanent(), "{status}: {err}");
        assert_eq!(
            err,
            SummaryError::Permanent {
                status,
                message: message.to_owned()
            }
        );
    }
}

#[tokio::test]
async fn it_should_report_a_malformed_answer() {
    for body in [
        ResponseTemplate::new(200).set_body_string("<html>gateway</html>"),
        ResponseTemplate::new(200).set_body_json(json!({"status": "completed", "output": []})),
        ResponseTemplate::new(200).set_body_json(json!({
            "status": "completed",
            "output": [{"type": "message", "content": "not a list"}]
        })),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(body)
            .expect(1)
            .mount(&server)
            .await;

        let err = client(&server)
            .summarize(&key(), TRANSCRIPT)
            .await
            .unwrap_err();

        assert!(matches!(err, SummaryError::Malformed(_)), "{err:?}");
        assert!(!err.is_permanent(), "an odd answer may be a glitch");
    }
}

#[tokio::test]
async fn it_should_report_a_refusal_as_permanent() {
    let server = MockServer::start().await;
    let mut refused = answer("");
    refused["output"][1]["content"] =
        json!([{"type": "refusal", "refusal": "I can't help with that."}]);
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(refused))
        .mount(&server)
        .await;

    let err = client(&server)
        .summarize(&key(), TRANSCRIPT)
        .await
        .unwrap_err();

    assert_eq!(err, SummaryError::Refused("I can't help with that.".into()));
    assert!(err.is_permanent());
}

#[tokio::test]
async fn it_should_retry_when_openai_cannot_be_reached() {
    // A port nobody listens on: bind one, then free it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = url::Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let client = SummaryClient::new(&base, "gpt-4o-mini", Duration::from_secs(2))
        .unwrap()
        .with_retries(2, Duration::from_millis(1));

    let err = client.summarize(&key(), TRANSCRIPT).await.unwrap_err();

    assert!(
        matches!(&err, SummaryError::Retryable { status: None, message } if message.contains("could not be reached")),
        "{err:?}"
    );
}

#[tokio::test]
async fn it_should_never_repeat_the_key_in_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error_answer(401, &format!("Bad key {KEY} given"), None))
        .mount(&server)
        .await;

    let err = client(&server)
        .summarize(&key(), TRANSCRIPT)
        .await
        .unwrap_err();

    assert!(!err.to_string().contains(KEY), "{err}");
    assert!(err.to_string().contains("[api key]"), "{err}");
}

#[test]
fn it_should_refuse_unusable_settings() {
    let ws = url::Url::parse("wss://api.openai.com").unwrap();
    let http = url::Url::parse("https://api.openai.com").unwrap();

    for (base, model, timeout) in [
        (&ws, "gpt-4o-mini", Duration::from_secs(1)),
        (&http, " ", Duration::from_secs(1)),
        (&http, "gpt-4o-mini", Duration::ZERO),
    ] {
        let err = SummaryClient::new(base, model, timeout).unwrap_err();
        assert!(matches!(err, SummaryError::BadConfig(_)), "{err:?}");
    }
    let client = SummaryClient::new(&http, "gpt-4o-mini", Duration::from_secs(1)).unwrap();
    assert_eq!(
        client.endpoint().as_str(),
        "https://api.openai.com/v1/responses"
    );
}

//! Reading OpenAI's answers: the text of a Responses API answer (its `message` output items, in
//! async-openai's [`OutputItem`] shape; other items, such as reasoning, are skipped), the
//! message and code of an error answer, and the pause OpenAI asks for before another try.

use std::time::Duration;

use async_openai::types::responses::{OutputItem, OutputMessageContent, Status};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::SummaryError;

/// How much of an error answer is quoted.
const EXCERPT: usize = 300;

/// The parts of a Responses API answer read here; the rest of the object is ignored.
#[derive(Deserialize)]
struct Answer {
    status: Option<Status>,
    #[serde(default)]
    output: Vec<Value>,
    error: Option<ErrorBody>,
}

/// OpenAI's error object, in an error answer (`{"error": {…}}`) or a failed response.
#[derive(Deserialize, Default)]
struct ErrorBody {
    message: Option<String>,
    code: Option<Value>,
}

#[derive(Deserialize, Default)]
struct ErrorAnswer {
    error: Option<ErrorBody>,
}

/// The text of a success answer.
pub(super) fn read_answer(body: &[u8]) -> Result<String, SummaryError> {
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| SummaryError::Malformed(format!("{e}: {}", excerpt(body))))?;
    if let Some(Status::Failed) = answer.status {
        let message = answer
            .error
            .and_then(|e| e.message)
            .unwrap_or_else(|| "the response failed".to_owned());
        return Err(SummaryError::Retryable {
            status: None,
            message,
        });
    }
    let mut text = String::new();
    let mut refusal = None;
    for item in answer.output {
        if item.get("type").and_then(Value::as_str) != Some("message") {
            continue; // reasoning and the like: not the answer
        }
        let message = match serde_json::from_value::<OutputItem>(item) {
            Ok(OutputItem::Message(message)) => message,
            Ok(_) => continue,
            Err(e) => return Err(SummaryError::Malformed(format!("a message item: {e}"))),
        };
        for content in message.content {
            match content {
                OutputMessageContent::OutputText(part) => text.push_str(&part.text),
                OutputMessageContent::Refusal(part) => refusal = Some(part.refusal),
            }
        }
    }
    let text = text.trim();
    match (text.is_empty(), refusal) {
        (false, _) => Ok(text.to_owned()),
        (true, Some(refusal)) => Err(SummaryError::Refused(refusal)),
        (true, None) => Err(SummaryError::Malformed(format!(
            "no output text (status {})",
            answer
                .status
                .map_or_else(|| "missing".to_owned(), |s| format!("{s:?}").to_lowercase())
        ))),
    }
}

/// The message and code of an error answer (`{"error": {"message", "code", …}}`); the start of
/// the body, or the status' name, when it is not OpenAI's JSON.
pub(super) fn error_of(body: &[u8], status: StatusCode) -> (String, Option<String>) {
    let error = serde_json::from_slice::<ErrorAnswer>(body)
        .unwrap_or_default()
        .error
        .unwrap_or_default();
    let message = error
        .message
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| match excerpt(body) {
            text if text.is_empty() => status.canonical_reason().unwrap_or("error").to_owned(),
            text => text,
        });
    let code = error
        .code
        .as_ref()
        .and_then(Value::as_str)
        .map(str::to_owned);
    (message, code)
}

/// OpenAI's pause: `retry-after-ms` (milliseconds), else `Retry-After` (seconds); `None` when
/// absent or not a number (an HTTP date is not honoured: OpenAI does not send one).
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| -> Option<f64> {
        let value: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
        (value.is_finite() && value >= 0.0).then_some(value)
    };
    number("retry-after-ms")
        .map(|ms| Duration::from_secs_f64(ms / 1_000.0))
        .or_else(|| number("retry-after").map(Duration::from_secs_f64))
}

/// The start of a body, for error messages.
pub(super) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.trim().chars().take(EXCERPT).collect()
}

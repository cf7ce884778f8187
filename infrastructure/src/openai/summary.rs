//! Post-call summaries: one request to OpenAI's Responses API that turns a call's transcript
//! into a few lines for the business owner — who called, why, what was promised, what follow-up
//! is needed. The summariser ([`crate::summarizer`]) decides which calls need one and records
//! the outcome; this module only speaks HTTP.
//!
//! `POST {OPENAI_API_BASE}/v1/responses` with the business' key as a Bearer token and a JSON
//! body in async-openai's [`CreateResponse`] shape: the model (`OPENAI_SUMMARY_MODEL`), our
//! [`INSTRUCTIONS`], the transcript as the text input, `store: false` (OpenAI keeps no copy of
//! the conversation). The answer's text is that of its `message` output items
//! ([`async_openai::types::responses::OutputItem::Message`]); other items (reasoning, for
//! instance) are skipped.
//!
//! Rate limits (429), server errors (5xx), timeouts and connection failures are tried again, up
//! to [`DEFAULT_ATTEMPTS`] tries in all, after OpenAI's `retry-after-ms` or `Retry-After` when it
//! sends one, else after 0.5 s, 1 s, 2 s. Two are not waited for here, since the caller's later
//! retry suits them better (they are still [`SummaryError::Retryable`]): a `Retry-After` longer
//! than [`MAX_RETRY_AFTER`], and a 429 `insufficient_quota` (no credit left: seconds will not
//! bring it back). Every other 4xx is
//! [`SummaryError::Permanent`]: the same request cannot succeed. The key travels only in the
//! `Authorization` header and is scrubbed from every error message, which ends up in logs and
//! in events.

use std::time::Duration;

use async_openai::types::responses::{CreateResponse, InputParam};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

mod answer;

/// What the model is asked to do with a transcript.
pub const INSTRUCTIONS: &str = "\
You summarise a phone call for the owner of a small business. The call was answered by the \
business' AI receptionist, or the caller left a voicemail, because the owner could not take it; \
the owner reads your summary later, on a phone, and decides what to do. Write plain text, no \
headings or markdown, at most about 120 words, in the language of the call, covering: who \
called (name, company and callback number if given); why they called; what the receptionist \
said or promised, if anyone spoke with them; and the follow-up \
the owner should do, with any deadline or urgency. Say so when something is unclear or missing \
(for example no callback number). Use only what the transcript says; never invent details.";
/// How long one request may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// How many tries one summary gets, the first included.
pub const DEFAULT_ATTEMPTS: u32 = 4;
/// The pause before the second try when OpenAI does not say; it doubles with each further try.
pub const DEFAULT_FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest `Retry-After` waited for; a longer one ends the tries (still retryable later).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Enough for a summary of about 120 words, with room for a reasoning model's thinking.
const MAX_OUTPUT_TOKENS: u32 = 1_000;
/// Why a summary could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    /// OpenAI refused the request (a 4xx other than 429: a bad key, a model the key may not
    /// use, a request it cannot take); the same request will be refused again.
    #[error("OpenAI refused the request ({status}): {message}")]
    Permanent {
        /// The HTTP status.
        status: u16,
        /// OpenAI's explanation.
        message: String,
    },
    /// Rate-limited, failing (5xx) or unreachable through every try; worth asking again later.
    #[error("OpenAI is unavailable: {message}")]
    Retryable {
        /// The HTTP status of the last try; `None` when there was no answer.
        status: Option<u16>,
        /// What went wrong on the last try.
        message: String,
    },
    /// A success answer without readable text.
    #[error("OpenAI's answer could not be read: {0}")]
    Malformed(String),
    /// The model declined to summarise.
    #[error("OpenAI declined to summarise the call: {0}")]
    Refused(String),
    /// The client was set up with an unusable base URL, model or timeout.
    #[error("bad OpenAI client settings: {0}")]
    BadConfig(String),
}

impl SummaryError {
    /// Whether asking again cannot help, so the failure is recorded rather than retried.
    /// An unreadable answer is not: it may be a glitch, and the caller's retries are bounded.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Self::Permanent { .. } | Self::Refused(_) | Self::BadConfig(_)
        )
    }
}

/// A client of OpenAI's Responses API for summaries. Cheap to clone: clones share one
/// connection pool. Each request carries the key it is given (each business has its own).
#[derive(Debug, Clone)]
pub struct SummaryClient {
    http: reqwest::Client,
    endpoint: url::Url,
    model: String,
    attempts: u32,
    first_backoff: Duration,
}

/// What one try came to.
enum Try {
    /// Final: the summary, or an error not worth another try now.
    Done(Result<String, SummaryError>),
    /// Worth another try, after OpenAI's pause if it named one.
    Again {
        error: SummaryError,
        after: Option<Duration>,
    },
}

impl SummaryClient {
    /// A client of the API at `api_base` (`https://api.openai.com` in production) asking
    /// `model`, each request giving up after `timeout` (see [`DEFAULT_TIMEOUT`]).
    ///
    /// # Errors
    /// [`SummaryError::BadConfig`] when the base URL is not http(s), the model is blank, the
    /// timeout is zero, or the HTTP client cannot be built.
    pub fn new(api_base: &url::Url, model: &str, timeout: Duration) -> Result<Self, SummaryError> {
        let bad = |why: String| Err(SummaryError::BadConfig(why));
        if api_base.cannot_be_a_base() || !matches!(api_base.scheme(), "http" | "https") {
            return bad(format!("'{api_base}' is not an http(s) base URL"));
        }
        if model.trim().is_empty() || timeout.is_zero() {
            return bad("the model is blank or the timeout is zero".to_owned());
        }
        let mut endpoint = api_base.clone();
        endpoint.set_query(None);
        endpoint
            .path_segments_mut()
            .map_err(|()| SummaryError::BadConfig(format!("'{api_base}' has no path")))?
            .pop_if_empty()
            .extend(["v1", "responses"]);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirect would resend the key elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SummaryError::BadConfig(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            endpoint,
            model: model.trim().to_owned(),
            attempts: DEFAULT_ATTEMPTS,
            first_backoff: DEFAULT_FIRST_BACKOFF,
        })
    }

    /// Tries each summary up to `attempts` times (at least once), pausing `first_backoff`,
    /// then twice as long each time, when OpenAI names no pause. Tests shorten the pauses.
    pub fn with_retries(mut self, attempts: u32, first_backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.first_backoff = first_backoff;
        self
    }

    /// The model asked.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Where requests go: `{api_base}/v1/responses`.
    pub fn endpoint(&self) -> &url::Url {
        &self.endpoint
    }

    /// The request body for `transcript`.
    pub fn request(&self, transcript: &str) -> CreateResponse {
        CreateResponse {
            model: Some(self.model.clone()),
            instructions: Some(INSTRUCTIONS.to_owned()),
            input: InputParam::Text(transcript.to_owned()),
            store: Some(false),
            max_output_tokens: Some(MAX_OUTPUT_TOKENS),
            ..CreateResponse::default()
        }
    }

    /// Asks OpenAI to summarise `transcript` with `api_key`, retrying as the module
    /// documentation says. Returns the summary text, trimmed.
    ///
    /// # Errors
    /// [`SummaryError::Permanent`] for a 4xx other than 429, [`SummaryError::Retryable`] when
    /// every try was rate-limited, failed (5xx) or found no server, [`SummaryError::Malformed`]
    /// for a success answer without text, [`SummaryError::Refused`] when the model declined.
    #[tracing::instrument(name = "openai.summary", skip_all, fields(model = %self.model), err(level = "debug"))]
    pub async fn summarize(
        &self,
        api_key: &SecretString,
        transcript: &str,
    ) -> Result<String, SummaryError> {
        let request = self.request(transcript);
        let mut tried = 1;
        loop {
            match self.try_once(api_key, &request).await {
                Try::Done(outcome) => return outcome.map_err(|e| scrub(e, api_key)),
                Try::Again { error, after } if tried < self.attempts => {
                    let pause = after.unwrap_or_else(|| {
                        self.first_backoff
                            .saturating_mul(2u32.saturating_pow(tried - 1))
                    });
                    tracing::debug!(error = %scrub(error, api_key), tried, ?pause, "summary request failed; trying again");
                    tokio::time::sleep(pause).await;
                    tried += 1;
                }
                Try::Again { error, .. } => return Err(scrub(error, api_key)),
            }
        }
    }

    async fn try_once(&self, api_key: &SecretString, request: &CreateResponse) -> Try {
        let sent = self
            .http
            .post(self.endpoint.clone())
            .bearer_auth(api_key.expose_secret())
            .json(request)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => return unreachable(None, &err),
        };
        let status = response.status();
        let after = answer::retry_after(response.headers());
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(err) => return unreachable(Some(status), &err),
        };
        if status.is_success() {
            return Try::Done(answer::read_answer(&body));
        }
        let (message, code) = answer::error_of(&body, status);
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let quota = code.as_deref() == Some("insufficient_quota");
            let error = SummaryError::Retryable {
                status: Some(status.as_u16()),
                message: format!("{status}: {message}"),
            };
            return match after {
                _ if quota => Try::Done(Err(error)),
                Some(pause) if pause > MAX_RETRY_AFTER => Try::Done(Err(error)),
                after => Try::Again { error, after },
            };
        }
        Try::Done(Err(SummaryError::Permanent {
            status: status.as_u16(),
            message,
        }))
    }
}

/// No answer (or no whole answer) from OpenAI: worth another try.
fn unreachable(status: Option<StatusCode>, err: &reqwest::Error) -> Try {
    let what = if err.is_timeout() {
        "timed out"
    } else {
        "could not be reached"
    };
    let mut message = format!("OpenAI {what}: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Try::Again {
        error: SummaryError::Retryable {
            status: status.map(|s| s.as_u16()),
            message,
        },
        after: None,
    }
}

/// Takes the key out of an error's text, in case OpenAI (or a proxy) quoted it.
fn scrub(error: SummaryError, api_key: &SecretString) -> SummaryError {
    let key = api_key.expose_secret();
    let clean = |text: String| match key.trim().is_empty() {
        true => text,
        false => text.replace(key, "[api key]"),
    };
    match error {
        SummaryError::Permanent { status, message } => SummaryError::Permanent {
            status,
            message: clean(message),
        },
        SummaryError::Retryable { status, message } => SummaryError::Retryable {
            status,
            message: clean(message),
        },
        SummaryError::Malformed(message) => SummaryError::Malformed(clean(message)),
        SummaryError::Refused(message) => SummaryError::Refused(clean(message)),
        SummaryError::BadConfig(message) => SummaryError::BadConfig(clean(message)),
    }
}

#[cfg(test)]
mod tests;

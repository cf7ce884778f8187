//! Errors of the REST API, mapped to HTTP once, here: `application/problem+json` with a stable
//! machine-readable `code` and a message a person understands. Causes are logged, never sent.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use infrastructure::event_store::StoreError;
use serde::Serialize;
use serde_json::json;

/// A REST request that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The input is malformed or breaks a rule (400).
    #[error("{message}")]
    BadRequest {
        /// Stable code, e.g. `weak_password`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No valid credentials or token (401).
    #[error("{message}")]
    Unauthorized {
        /// Stable code, e.g. `invalid_credentials`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Signed in, but the role may not do this (403). Never used for another tenant's
    /// resources: those are [`ApiError::NotFound`], so their existence does not leak.
    #[error("{message}")]
    Forbidden {
        /// Stable code, e.g. `admin_only`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No such resource, or not one the caller may see (404).
    #[error("{message}")]
    NotFound {
        /// Stable code, e.g. `business_not_found`.
        code: &'static str,
        /// What is missing.
        message: String,
    },
    /// The request conflicts with the resource's state (409).
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. `email_taken`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Too many attempts; try again after `retry_after` (429).
    #[error("too many attempts; try again in {} s", retry_after.as_secs().max(1))]
    TooManyRequests {
        /// Stable code, e.g. `too_many_failed_logins`.
        code: &'static str,
        /// When the client may try again.
        retry_after: Duration,
    },
    /// A service we depend on (Twilio) failed or refused (502).
    #[error("{message}")]
    Upstream {
        /// Stable code, e.g. `twilio_error`.
        code: &'static str,
        /// What failed, without secrets.
        message: String,
    },
    /// A dependency of ours (the database) is unavailable for now (503, Retry-After).
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: logged with its cause, answered with a generic message (500).
    #[error("internal error")]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError {
    /// A 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl ToString) -> Self {
        Self::BadRequest {
            code,
            message: message.to_string(),
        }
    }

    /// A 401 with `code`.
    pub fn unauthorized(code: &'static str, message: impl ToString) -> Self {
        Self::Unauthorized {
            code,
            message: message.to_string(),
        }
    }

    /// A 403 with `code`.
    pub fn forbidden(code: &'static str, message: impl ToString) -> Self {
        Self::Forbidden {
            code,
            message: message.to_string(),
        }
    }

    /// A 404 with `code`.
    pub fn not_found(code: &'static str, message: impl ToString) -> Self {
        Self::NotFound {
            code,
            message: message.to_string(),
        }
    }

    /// A 409 with `code`.
    pub fn conflict(code: &'static str, message: impl ToString) -> Self {
        Self::Conflict {
            code,
            message: message.to_string(),
        }
    }

    /// A failed read of the database: unavailable (503) when it cannot be reached, else a 500.
    pub fn database(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(err.into()),
            other => Self::Unexpected(other.into()),
        }
    }

    /// A command the event store could not carry out; `rejected` maps the aggregate's own
    /// refusals (domain rules) to an answer.
    pub fn store<E: std::error::Error + Send + Sync + 'static>(
        err: StoreError<E>,
        rejected: impl FnOnce(E) -> ApiError,
    ) -> Self {
        match err {
            StoreError::Rejected(rejection) => rejected(rejection),
            StoreError::Conflict => Self::conflict(
                "concurrent_change",
                "someone else changed this resource at the same moment; try again",
            ),
            StoreError::Unavailable(source) => Self::Unavailable(anyhow::anyhow!(source)),
            StoreError::Corrupt(source) => Self::Unexpected(anyhow::anyhow!(source)),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::TooManyRequests { code, .. }
            | Self::Upstream { code, .. } => code,
            Self::Unavailable(_) => "temporarily_unavailable",
            Self::Unexpected(_) => "internal_error",
        }
    }
}

/// The body of every error answer (RFC 9457 problem details plus our `code`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status' reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// Stable machine-readable code, e.g. `business_not_found`.
    pub code: String,
    /// What went wrong, for a person.
    pub detail: String,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unexpected(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
            }
            Self::Unavailable(cause) => {
                tracing::warn!(error = format!("{cause:#}"), "dependency unavailable");
            }
            Self::Upstream { message, .. } => {
                tracing::warn!(error = %message, "upstream service failed");
            }
            _ => {}
        }
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        match self {
            Self::Unauthorized { .. } => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            Self::TooManyRequests { retry_after, .. } => {
                response.insert_header(("Retry-After", retry_after.as_secs().max(1).to_string()));
            }
            Self::Unavailable(_) => {
                response.insert_header(("Retry-After", "1"));
            }
            _ => {}
        }
        response
            .content_type("application/problem+json")
            .json(json!({
                "type": "about:blank",
                "title": status.canonical_reason().unwrap_or("Error"),
                "status": status.as_u16(),
                "code": self.code(),
                "detail": self.to_string(),
            }))
    }
}

/// Malformed JSON bodies (syntax, missing or unknown fields) answer as problems too.
pub fn json_config() -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default()
        .limit(64 * 1024)
        .error_handler(|err, _request| ApiError::bad_request("malformed_body", err).into())
}

/// Malformed query strings (unknown filter values, bad dates) answer as problems.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default()
        .error_handler(|err, _request| ApiError::bad_request("malformed_query", err).into())
}

/// A path segment that does not parse (a business id that is not a UUID) names nothing: 404.
pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default()
        .error_handler(|err, _request| ApiError::not_found("not_found", err).into())
}

/// The answer for a path no route serves.
pub async fn no_route() -> HttpResponse {
    ApiError::not_found("no_route", "no such endpoint; see /api/v1/openapi.json").error_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(err: ApiError) -> (StatusCode, serde_json::Value, Option<String>) {
        let response = err.error_response();
        let status = response.status();
        let retry = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = to_bytes(response.into_body()).await.unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or_default(),
            retry,
        )
    }

    #[actix_web::test]
    async fn a_problem_carries_status_code_and_detail() {
        let (status, body, _) = body_of(ApiError::not_found(
            "business_not_found",
            "no such business",
        ))
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"type": "about:blank", "title": "Not Found", "status": 404,
                   "code": "business_not_found", "detail": "no such business"})
        );
    }

    #[actix_web::test]
    async fn an_unexpected_error_never_shows_its_cause() {
        let (status, body, _) = body_of(ApiError::Unexpected(anyhow::anyhow!(
            "password=hunter2 in a query"
        )))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["code"], "internal_error");
        assert!(!body.to_string().contains("hunter2"));
    }

    #[actix_web::test]
    async fn too_many_requests_say_when_to_come_back() {
        let (status, body, retry) = body_of(ApiError::TooManyRequests {
            code: "too_many_failed_logins",
            retry_after: Duration::from_secs(42),
        })
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry.as_deref(), Some("42"));
        assert_eq!(body["code"], "too_many_failed_logins");
    }

    #[actix_web::test]
    async fn a_conflict_after_retries_is_a_409_and_an_outage_a_503() {
        let err: StoreError<std::fmt::Error> = StoreError::Conflict;
        let (status, body, _) = body_of(ApiError::store(err, |_| unreachable!())).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("concurrent_change"))
        );
        let err: StoreError<std::fmt::Error> = StoreError::Unavailable("gone".into());
        let (status, _, retry) = body_of(ApiError::store(err, |_| unreachable!())).await;
        assert_eq!(
            (status, retry.as_deref()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("1"))
        );
    }
}

//! Errors of the REST API, mapped to HTTP once, here: `application/problem+json` with a stable
//! machine-readable `code` and a message a person understands. Causes are logged, never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// A REST request that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The input is malformed or breaks a rule.
    #[error("{message}")]
    BadRequest {
        /// Stable code, e.g. `weak_password`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No valid credentials or token.
    #[error("{message}")]
    Unauthorized {
        /// Stable code, e.g. `invalid_credentials`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The request conflicts with what exists.
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. `email_taken`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Anything else: logged with its cause, answered with a generic message.
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

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Conflict { code, .. } => code,
            Self::Unexpected(_) => "internal_error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Unexpected(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer"));
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

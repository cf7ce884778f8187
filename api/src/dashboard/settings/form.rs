//! What the business forms share: the business a form is about (only if the viewer may manage
//! it), the REST API's refusals turned into an error shown on the form, and htmx requests.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use domain::business::Business;
use uuid::Uuid;

use crate::api_error::ApiError;
use crate::dashboard::page::{sentence, PageError};
use crate::dashboard::session::Viewer;
use crate::routes::businesses;
use crate::startup::AppState;

/// Why a form was refused, shown on it next to the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FormError {
    /// The field's name (`""` when it is about the whole form).
    pub field: &'static str,
    /// What is wrong, as a sentence.
    pub message: String,
}

impl FormError {
    /// An error on `field`.
    pub fn on(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// What a form shows about its last submission: nothing, or why it was refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Refusal(pub Option<FormError>);

impl Refusal {
    /// Refused for `error`.
    pub fn of(error: FormError) -> Self {
        Self(Some(error))
    }

    /// Whether the refusal is about `field` (templates mark it `aria-invalid`).
    pub fn on(&self, field: &str) -> bool {
        self.0.as_ref().is_some_and(|error| error.field == field)
    }

    /// The message to show, if refused.
    pub fn message(&self) -> Option<&str> {
        self.0.as_ref().map(|error| error.message.as_str())
    }
}

/// The business's id from the path; anything that is not a UUID is a business that does not
/// exist (the same 404 page).
pub(super) fn business_id(raw: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(raw).map_err(|_| PageError::NotFound)
}

/// The business `id` as the write side holds it, if the viewer may manage it; else the 404 page
/// (missing and another owner's are not told apart).
pub(super) async fn managed(
    state: &AppState,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Business, PageError> {
    businesses::managed(state, &viewer.who, id)
        .await
        .map_err(|err| match refused(err) {
            Ok(_) => PageError::NotFound,
            Err(page) => page,
        })
}

/// A refusal of the REST helpers: a mistake to show on the form (`Ok`), or a page of its own.
pub(super) fn refused(err: ApiError) -> Result<FormError, PageError> {
    match err {
        ApiError::BadRequest { code, message } | ApiError::Conflict { code, message } => {
            Ok(FormError::on(field_of(code), wording(code, &message)))
        }
        ApiError::NotFound { .. } => Err(PageError::NotFound),
        ApiError::Forbidden { .. } => Err(PageError::Forbidden("You may not do this.")),
        ApiError::Unavailable(_) => Err(PageError::Unavailable),
        ApiError::Unexpected(err) => Err(PageError::Unexpected(err)),
        other => Err(PageError::Unexpected(anyhow::anyhow!(
            "unexpected refusal of a business form: {other}"
        ))),
    }
}

/// The form field an error code of the REST API is about.
fn field_of(code: &str) -> &'static str {
    match code {
        "invalid_name" => "name",
        "invalid_description" => "description",
        "invalid_owner_phone" => "owner_phone",
        "invalid_timezone" => "timezone",
        "invalid_hours" => "hours",
        "invalid_ring_timeout" => "ring_timeout",
        "invalid_quiet_hours" => "quiet_hours",
        "invalid_model" => "model",
        "invalid_voice" => "voice",
        "invalid_instructions" => "instructions",
        "invalid_openai_api_key" | "agent_key_required" => "openai_api_key",
        _ => "",
    }
}

/// The REST API's message as a person filling in the form reads it: the API's field names
/// become the labels of the form, and the result is a sentence.
fn wording(code: &str, message: &str) -> String {
    match code {
        "agent_key_required" => {
            "Enter an OpenAI API key: the agent needs one the first time it is set up.".to_owned()
        }
        "invalid_openai_api_key" => {
            sentence(&message.replacen("openai_api_key", "the OpenAI API key", 1))
        }
        "business_deactivated" => {
            "This business is deactivated: its settings cannot change until it is reactivated."
                .to_owned()
        }
        "agent_not_enabled" => "The AI agent is not on.".to_owned(),
        _ => sentence(message),
    }
}

/// Whether htmx sent the request (it then swaps in a fragment instead of following a redirect).
pub(super) fn is_htmx(request: &HttpRequest) -> bool {
    request
        .headers()
        .get("HX-Request")
        .is_some_and(|value| value.as_bytes() == b"true")
}

/// A page re-rendered with a form's errors: 422.
pub(super) fn unprocessable(mut response: HttpResponse) -> HttpResponse {
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
}

/// Where a business's settings page is.
pub(super) fn settings_path(id: Uuid) -> String {
    format!("/dashboard/businesses/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_put_the_rest_api_refusals_on_the_field_they_are_about() {
        let error = refused(ApiError::bad_request(
            "invalid_timezone",
            "'Mars/Olympus' is not an IANA timezone such as Europe/Berlin",
        ))
        .unwrap();
        assert_eq!(error.field, "timezone");
        assert_eq!(
            error.message,
            "'Mars/Olympus' is not an IANA timezone such as Europe/Berlin."
        );
        let key = refused(ApiError::bad_request(
            "invalid_openai_api_key",
            "openai_api_key must be 8 to 512 visible ASCII characters",
        ))
        .unwrap();
        assert_eq!(key.field, "openai_api_key");
        assert_eq!(
            key.message,
            "The OpenAI API key must be 8 to 512 visible ASCII characters."
        );
    }

    #[test]
    fn it_should_answer_a_missing_business_and_an_outage_with_pages_of_their_own() {
        assert!(matches!(
            refused(ApiError::not_found(
                "business_not_found",
                "no such business"
            )),
            Err(PageError::NotFound)
        ));
        assert!(matches!(
            refused(ApiError::Unavailable(anyhow::anyhow!("down"))),
            Err(PageError::Unavailable)
        ));
        assert!(matches!(business_id("new-ish"), Err(PageError::NotFound)));
    }
}

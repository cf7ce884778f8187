//! What the forms of the numbers page share: the commands' metadata, and the two answers — back
//! to the numbers page saying what was done (303), or the page again with why not.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use domain::values::E164;

use super::render;
use super::view::Shown;
use crate::api_error::ApiError;
use crate::dashboard::admin::{on_page, Admin};
use crate::dashboard::page::{see_other, PageError};
use crate::routes::numbers::command_metadata;
use crate::startup::AppState;

/// The metadata of a command sent by a form: `dashboard:POST /admin/numbers/{number}/assign`.
pub(super) fn metadata(request: &HttpRequest, admin: &Admin) -> domain::CommandMetadata {
    let route = request
        .match_pattern()
        .unwrap_or_else(|| request.path().to_owned());
    command_metadata(
        request,
        format!("dashboard:{} {route}", request.method()),
        &admin.0.who,
    )
}

/// Back to the numbers page, saying what was `done` to `number`.
pub(super) fn done(done: &str, number: &E164) -> HttpResponse {
    let number: String = url::form_urlencoded::byte_serialize(number.as_ref().as_bytes()).collect();
    see_other(&format!("/admin/numbers?done={done}&number={number}"))
}

/// The numbers page again, with `message` (and `status`).
pub(super) async fn refused(
    admin: &Admin,
    state: &AppState,
    shown: Shown,
    (status, message): (StatusCode, String),
) -> Result<HttpResponse, PageError> {
    let shown = Shown {
        error: Some(message),
        ..shown
    };
    render(admin, state, shown, status).await
}

/// The outcome of a change to one number.
pub(super) async fn changed(
    admin: &Admin,
    state: &AppState,
    action: &str,
    outcome: Result<E164, ApiError>,
) -> Result<HttpResponse, PageError> {
    match outcome {
        Ok(number) => Ok(done(action, &number)),
        Err(err) => refused(admin, state, Shown::default(), on_page(err)?).await,
    }
}

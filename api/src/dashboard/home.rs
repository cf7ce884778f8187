//! Where people land: `/` sends a visitor to the dashboard (which asks them to sign in first),
//! and `/dashboard` is the signed-in user's start page: the calls dashboard (see
//! [`super::owner`]) — an owner's businesses, or every business for an admin.

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::owner;
use super::page::{see_other, PageError};
use super::session::Viewer;
use crate::startup::AppState;

pub(super) fn configure(config: &mut web::ServiceConfig) {
    config.service(start);
}

/// `GET /`.
#[get("/")]
pub async fn root() -> HttpResponse {
    see_other("/dashboard")
}

/// `GET /dashboard`: today's numbers and the calls table.
#[get("")]
async fn start(
    request: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    owner::dashboard(request, state, viewer).await
}

//! The admin's view of the whole system over HTTP: totals across the read models, where each
//! projection and relay stands. Admins only: a business owner gets 403 `admin_only`.

use actix_web::{get, web, HttpResponse};
use projections::overview::{overview as read_overview, Overview};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

pub(super) fn configure(config: &mut ServiceConfig) {
    config.service(overview);
}

/// Totals (businesses, numbers, calls, messages), the head of the event stream, each
/// projection's checkpoint and lag, and each relay's.
#[utoipa::path(tag = "admin", operation_id = "get_admin_overview", security(("bearer" = [])), responses(
    (status = 200, description = "The overview", body = Overview),
    (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "The database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
#[get("/api/v1/admin/overview")]
async fn overview(
    state: web::Data<AppState>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    who.require_admin()?;
    let overview = read_overview(&state.pool)
        .await
        .map_err(ApiError::database)?;
    Ok(HttpResponse::Ok().json(overview))
}

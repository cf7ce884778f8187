//! Reading businesses from the `businesses` read model: the list and one business.

use actix_web::{get, web, HttpResponse};
use projections::businesses::{self, BusinessRow};
use uuid::Uuid;

use super::not_found;
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// The businesses the caller may see (an admin: all; an owner: their own), by name.
#[utoipa::path(tag = "businesses", operation_id = "list_businesses", security(("bearer" = [])), responses(
    (status = 200, description = "The businesses, by name", body = Vec<BusinessRow>),
    (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
))]
#[get("/api/v1/businesses")]
pub(super) async fn list(
    state: web::Data<AppState>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let owner = (!who.is_admin()).then_some(who.user_id);
    let rows = businesses::list_businesses(&state.pool, owner)
        .await
        .map_err(ApiError::database)?;
    Ok(HttpResponse::Ok().json(rows))
}

/// One business, as the read model holds it (a change shows here once it is projected).
#[utoipa::path(tag = "businesses", operation_id = "get_business", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    responses(
        (status = 200, description = "The business", body = BusinessRow),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/businesses/{id}")]
pub(super) async fn get_one(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let row = businesses::business(&state.pool, id.into_inner())
        .await
        .map_err(ApiError::database)?
        .filter(|row| who.is_admin() || row.owner_user_id == Some(who.user_id))
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(row))
}

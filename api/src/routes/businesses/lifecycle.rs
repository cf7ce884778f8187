//! Deactivating a business (it stops taking calls and refuses changes) and reactivating it.

use actix_web::{post, web, HttpRequest, HttpResponse};
use domain::business::BusinessCommand;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::input::{self, DESCRIPTION_MAX};
use super::view::BusinessView;
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// Why the business stops.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeactivationBody {
    /// For the record, up to 2000 characters (empty when left out).
    #[serde(default)]
    #[schema(example = "closed for the season", max_length = 2000)]
    reason: String,
}

/// Deactivates the business: its numbers stop ringing through and its settings stop changing
/// until it is reactivated.
#[utoipa::path(tag = "businesses", operation_id = "deactivate_business", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    request_body = DeactivationBody,
    responses(
        (status = 200, description = "The business after the change", body = BusinessView),
        (status = 400, description = "Invalid reason, or malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already deactivated (`business_deactivated`), or a concurrent change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/businesses/{id}/deactivate")]
pub(super) async fn deactivate(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<DeactivationBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let reason = input::text("reason", &body.reason, DESCRIPTION_MAX, false)?;
    let command = BusinessCommand::Deactivate { reason };
    let business = super::execute(&state, &who, &request, id, command).await?;
    Ok(HttpResponse::Ok().json(BusinessView::new(id, &business)))
}

/// Reactivates a deactivated business.
#[utoipa::path(tag = "businesses", operation_id = "reactivate_business", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    responses(
        (status = 200, description = "The business after the change", body = BusinessView),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already active (`business_already_active`), or a concurrent change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/businesses/{id}/reactivate")]
pub(super) async fn reactivate(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let business = super::execute(&state, &who, &request, id, BusinessCommand::Reactivate).await?;
    Ok(HttpResponse::Ok().json(BusinessView::new(id, &business)))
}

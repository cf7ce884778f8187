//! One endpoint per setting of a business: profile, owner phone, timezone, hours, ring timeout
//! and the owner's availability switch. Each is one command; setting a value to what it
//! already is records nothing and answers the same.

use actix_web::{put, web, HttpRequest, HttpResponse};
use domain::business::BusinessCommand;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::input::{self, HoursBody, DESCRIPTION_MAX, NAME_MAX};
use super::view::BusinessView;
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// Carries out `command` and answers with the business after it.
async fn answer(
    state: &AppState,
    who: &Authenticated,
    request: &HttpRequest,
    id: Uuid,
    command: BusinessCommand,
) -> Result<HttpResponse, ApiError> {
    let business = super::execute(state, who, request, id, command).await?;
    Ok(HttpResponse::Ok().json(BusinessView::new(id, &business)))
}

/// Name and description.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ProfileBody {
    /// Display name, 1 to 120 characters.
    #[schema(example = "Joe & Sons Plumbing", min_length = 1, max_length = 120)]
    name: String,
    /// What it does, up to 2000 characters (may be empty).
    #[schema(example = "Pipes, faster.", max_length = 2000)]
    description: String,
}

/// Changes name and description.
#[utoipa::path(tag = "businesses", operation_id = "update_business_profile", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    request_body = ProfileBody,
    responses(
        (status = 200, description = "The business after the change", body = BusinessView),
        (status = 400, description = "Invalid name or description, or malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The business is deactivated, or a concurrent change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/businesses/{id}/profile")]
pub(super) async fn update_profile(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<ProfileBody>,
) -> Result<HttpResponse, ApiError> {
    let name = input::text("name", &body.name, NAME_MAX, true)?;
    let description = input::text("description", &body.description, DESCRIPTION_MAX, false)?;
    let command = BusinessCommand::UpdateProfile { name, description };
    answer(&state, &who, &request, id.into_inner(), command).await
}

/// The owner's phone.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct OwnerPhoneBody {
    /// E.164 number the owner takes calls on; `null` (or left out) clears it, and calls go
    /// straight to the AI agent.
    #[schema(example = "+14155550123", pattern = r"^\+[1-9][0-9]{1,14}$")]
    owner_phone: Option<String>,
}

/// Sets or clears the owner's phone.
#[utoipa::path(tag = "businesses", operation_id = "set_business_owner_phone", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    request_body = OwnerPhoneBody,
    responses(
        (status = 200, description = "The business after the change", body = BusinessView),
        (status = 400, description = "Not an E.164 number, or malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The business is deactivated, or a concurrent change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/businesses/{id}/owner-phone")]
pub(super) async fn set_owner_phone(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<OwnerPhoneBody>,
) -> Result<HttpResponse, ApiError> {
    let phone = body.owner_phone.as_deref().map(input::phone).transpose()?;
    let command = BusinessCommand::SetOwnerPhone(phone);
    answer(&state, &who, &request, id.into_inner(), command).await
}

/// The timezone.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TimezoneBody {
    /// IANA timezone name the hours are read in.
    #[schema(example = "Europe/Berlin", max_length = 64)]
    timezone: String,
}

/// Changes the timezone the hours are read in.
#[utoipa::path(tag = "businesses", operation_id = "set_business_timezone", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    request_body = TimezoneBody,
    responses(
        (status = 200, description = "The business after the change", body = BusinessView),
        (status = 400, description = "Unknown timezone, or malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The business is deactivated, or a concurrent change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/businesses/{id}/timezone")]
pub(super) async fn set_timezone(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<TimezoneBody>,
) -> Result<HttpResponse, ApiError> {
    let command = BusinessCommand::SetTimezone(input::timezone(&body.timezone)?);
    answer(&state, &who, &request, id.into_inner(), command).await
}

/// Replaces the weekly hours. Outside them, calls go to the AI agent.
#[utoipa::path(tag = "businesses", operation_id = "set_business_hours", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    request_body = HoursBody,
    responses(
        (status = 200, description = "The business after the change", body = BusinessView),
        (status = 400, description = "Overlapping, reversed or malformed ranges, or malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The business is deactivated, or a concurrent change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/businesses/{id}/hours")]
pub(super) async fn set_hours(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<HoursBody>,
) -> Result<HttpResponse, ApiError> {
    let command = BusinessCommand::SetBusinessHours(body.into_inner().parse()?);
    answer(&state, &who, &request, id.into_inner(), command).await
}

/// How long the owner's phone rings.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RingTimeoutBody {
    /// Seconds of ringing before the AI agent answers, 5 to 60.
    #[schema(example = 25, minimum = 5, maximum = 60)]
    seconds: i64,
}

/// Changes how long the owner's phone rings before the AI agent answers.
#[utoipa::path(tag = "businesses", operation_id = "set_business_ring_timeout", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    request_body = RingTimeoutBody,
    responses(
        (status = 200, description = "The business after the change", body = BusinessView),
        (status = 400, description = "Not between 5 and 60 seconds, or malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The business is deactivated, or a concurrent change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/businesses/{id}/ring-timeout")]
pub(super) async fn set_ring_timeout(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<RingTimeoutBody>,
) -> Result<HttpResponse, ApiError> {
    let command = BusinessCommand::SetRingTimeout(input::ring_timeout(body.seconds)?);
    answer(&state, &who, &request, id.into_inner(), command).await
}

/// The owner's availability switch.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AvailabilityBody {
    /// Whether the owner takes calls now; when not, calls go to the AI agent.
    available: bool,
}

/// Flips the owner's availability switch.
#[utoipa::path(tag = "businesses", operation_id = "set_business_availability", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    request_body = AvailabilityBody,
    responses(
        (status = 200, description = "The business after the change", body = BusinessView),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The business is deactivated, or a concurrent change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/businesses/{id}/availability")]
pub(super) async fn set_availability(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<AvailabilityBody>,
) -> Result<HttpResponse, ApiError> {
    let command = BusinessCommand::SetOwnerAvailability {
        available: body.available,
    };
    answer(&state, &who, &request, id.into_inner(), command).await
}

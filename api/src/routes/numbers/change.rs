//! Changing a number we hold (admins): which business it rings for, suspending and
//! reactivating it, and releasing it back to Twilio.

use actix_web::{post, put, web, HttpRequest, HttpResponse};
use domain::phone_number::{NumberStatus, PhoneNumberCommand, PhoneNumberError};
use domain::values::E164;
use infrastructure::twilio::rest::TwilioClient;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    active_business, metadata, not_found, parse_number, rejected, twilio_failed, NumberState,
};
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// Runs `command` on the number and answers with its state after it.
async fn run(
    state: &AppState,
    request: &HttpRequest,
    who: &Authenticated,
    route: &str,
    number: &E164,
    command: PhoneNumberCommand,
) -> Result<HttpResponse, ApiError> {
    let metadata = metadata(request, route, who);
    let committed = state
        .stores
        .numbers
        .execute(number.as_ref(), command, &metadata)
        .await
        .map_err(|err| ApiError::store(err, rejected))?;
    Ok(HttpResponse::Ok().json(NumberState::of(number, &committed.aggregate)))
}

/// The business a number is to ring for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Assignment {
    /// A registered, active business.
    business_id: Uuid,
}

/// Lets a number ring for a business (admins); it keeps its status (a suspended number stays
/// suspended).
#[utoipa::path(tag = "phone-numbers", security(("bearer" = [])),
    params(("number" = String, Path, description = "E.164, the `+` sent as `%2B`", example = "+14155550100")),
    request_body = Assignment,
    responses(
        (status = 200, description = "Assigned", body = NumberState),
        (status = 400, description = "Malformed body, bad number, or an inactive business", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such number or business", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The number has been released, or changed concurrently", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/phone-numbers/{number}/business")]
async fn assign(
    request: HttpRequest,
    state: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<String>,
    body: web::Json<Assignment>,
) -> Result<HttpResponse, ApiError> {
    who.require_admin()?;
    let number = parse_number(&path)?;
    let business = active_business(&state, body.business_id).await?;
    let route = "/api/v1/phone-numbers/{number}/business";
    let command = PhoneNumberCommand::AssignToBusiness(business);
    run(&state, &request, &who, route, &number, command).await
}

/// Releases a number (admins): gives it back to Twilio, then records it as released. Twilio
/// no longer knowing it is fine (released before).
#[utoipa::path(tag = "phone-numbers", security(("bearer" = [])),
    params(("number" = String, Path, description = "E.164, the `+` sent as `%2B`", example = "+14155550100")),
    responses(
        (status = 200, description = "Released", body = NumberState),
        (status = 400, description = "Bad number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such number", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Released already, or changed concurrently", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Twilio failed or refused", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/phone-numbers/{number}/release")]
async fn release(
    request: HttpRequest,
    state: web::Data<AppState>,
    who: Authenticated,
    twilio: web::Data<TwilioClient>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    who.require_admin()?;
    let number = parse_number(&path)?;
    let held = state
        .stores
        .numbers
        .load(number.as_ref())
        .await
        .map_err(|err| ApiError::store(err, rejected))?
        .aggregate;
    match held.status {
        NumberStatus::Unknown => return Err(not_found()),
        NumberStatus::Released => return Err(rejected(PhoneNumberError::Released)),
        NumberStatus::Active | NumberStatus::Suspended => {}
    }
    match twilio.release_number(&held.twilio_sid).await {
        Ok(()) => {}
        Err(err) if err.is_not_found() => {
            tracing::info!(%number, "Twilio no longer holds the number; recording the release");
        }
        Err(err) => return Err(twilio_failed(&format!("release {number}"), err)),
    }
    let route = "/api/v1/phone-numbers/{number}/release";
    run(
        &state,
        &request,
        &who,
        route,
        &number,
        PhoneNumberCommand::Release,
    )
    .await
}

/// Why a number is suspended.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Suspension {
    /// For the record: 1 to 2000 characters.
    #[schema(example = "unpaid invoice")]
    reason: String,
}

/// Suspends a number (admins): its calls are turned away until it is reactivated.
#[utoipa::path(tag = "phone-numbers", security(("bearer" = [])),
    params(("number" = String, Path, description = "E.164, the `+` sent as `%2B`", example = "+14155550100")),
    request_body = Suspension,
    responses(
        (status = 200, description = "Suspended", body = NumberState),
        (status = 400, description = "Malformed body, bad number or reason", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such number", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Suspended or released already, or changed concurrently", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/phone-numbers/{number}/suspend")]
async fn suspend(
    request: HttpRequest,
    state: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<String>,
    body: web::Json<Suspension>,
) -> Result<HttpResponse, ApiError> {
    who.require_admin()?;
    let number = parse_number(&path)?;
    let route = "/api/v1/phone-numbers/{number}/suspend";
    let command = PhoneNumberCommand::Suspend {
        reason: body.into_inner().reason,
    };
    run(&state, &request, &who, route, &number, command).await
}

/// Reactivates a suspended number (admins): it takes calls again.
#[utoipa::path(tag = "phone-numbers", security(("bearer" = [])),
    params(("number" = String, Path, description = "E.164, the `+` sent as `%2B`", example = "+14155550100")),
    responses(
        (status = 200, description = "Active again", body = NumberState),
        (status = 400, description = "Bad number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such number", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not suspended, released, or changed concurrently", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/phone-numbers/{number}/reactivate")]
async fn reactivate(
    request: HttpRequest,
    state: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    who.require_admin()?;
    let number = parse_number(&path)?;
    let route = "/api/v1/phone-numbers/{number}/reactivate";
    run(
        &state,
        &request,
        &who,
        route,
        &number,
        PhoneNumberCommand::Reactivate,
    )
    .await
}

//! Changing a number we hold (admins): which business it rings for, suspending and
//! reactivating it, and releasing it back to Twilio.

use actix_web::{post, put, web, HttpRequest, HttpResponse};
use domain::phone_number::{NumberStatus, PhoneNumber, PhoneNumberCommand, PhoneNumberError};
use domain::values::E164;
use domain::CommandMetadata;
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

/// Runs `command` on the number; its state after it.
async fn execute(
    state: &AppState,
    number: &E164,
    command: PhoneNumberCommand,
    metadata: &CommandMetadata,
) -> Result<PhoneNumber, ApiError> {
    let committed = state
        .stores
        .numbers
        .execute(number.as_ref(), command, metadata)
        .await
        .map_err(|err| ApiError::store(err, rejected))?;
    Ok(committed.aggregate)
}

/// Lets `number` ring for business `business_id` (registered and active). The caller has
/// checked that an admin asks.
pub(crate) async fn assign_number(
    state: &AppState,
    number: &E164,
    business_id: Uuid,
    metadata: &CommandMetadata,
) -> Result<PhoneNumber, ApiError> {
    let business = active_business(state, business_id).await?;
    let command = PhoneNumberCommand::AssignToBusiness(business);
    execute(state, number, command, metadata).await
}

/// Gives `number` back to Twilio, then records it as released (Twilio no longer knowing it is
/// fine). The caller has checked that an admin asks.
pub(crate) async fn release_number(
    state: &AppState,
    twilio: &TwilioClient,
    number: &E164,
    metadata: &CommandMetadata,
) -> Result<PhoneNumber, ApiError> {
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
    execute(state, number, PhoneNumberCommand::Release, metadata).await
}

/// Suspends `number` for `reason`. The caller has checked that an admin asks.
pub(crate) async fn suspend_number(
    state: &AppState,
    number: &E164,
    reason: String,
    metadata: &CommandMetadata,
) -> Result<PhoneNumber, ApiError> {
    execute(
        state,
        number,
        PhoneNumberCommand::Suspend { reason },
        metadata,
    )
    .await
}

/// Reactivates a suspended `number`. The caller has checked that an admin asks.
pub(crate) async fn reactivate_number(
    state: &AppState,
    number: &E164,
    metadata: &CommandMetadata,
) -> Result<PhoneNumber, ApiError> {
    execute(state, number, PhoneNumberCommand::Reactivate, metadata).await
}

/// 200 with the number's state after a change.
fn changed(number: &E164, held: &PhoneNumber) -> HttpResponse {
    HttpResponse::Ok().json(NumberState::of(number, held))
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
    let metadata = metadata(&request, "/api/v1/phone-numbers/{number}/business", &who);
    let held = assign_number(&state, &number, body.business_id, &metadata).await?;
    Ok(changed(&number, &held))
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
    let metadata = metadata(&request, "/api/v1/phone-numbers/{number}/release", &who);
    let held = release_number(&state, &twilio, &number, &metadata).await?;
    Ok(changed(&number, &held))
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
    let metadata = metadata(&request, "/api/v1/phone-numbers/{number}/suspend", &who);
    let held = suspend_number(&state, &number, body.into_inner().reason, &metadata).await?;
    Ok(changed(&number, &held))
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
    let metadata = metadata(&request, "/api/v1/phone-numbers/{number}/reactivate", &who);
    let held = reactivate_number(&state, &number, &metadata).await?;
    Ok(changed(&number, &held))
}

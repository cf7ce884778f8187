//! Phone numbers over HTTP: the numbers a caller may see (read model, tenant-scoped), and the
//! admin's changes — search Twilio's stock, buy or register a number (pointing its webhooks at
//! us), assign it to a business, suspend, reactivate, release.
//!
//! Changes are commands on the `PhoneNumber` aggregate (id: the E.164 number); the ones that
//! involve Twilio call it first, so a Twilio refusal changes nothing of ours. The number in a
//! path is E.164 with its `+`, which clients send as `%2B` (a bare `+` works too).
//!
//! The work of each change is a function of its own (`purchase_number`, `assign_number`, …),
//! which the admin dashboard's forms run too: the same checks, the same commands.

mod acquire;
mod change;
mod plan;
mod read;

pub(crate) use acquire::{purchase_number, register_number, AcquireFailure};
pub(crate) use change::{assign_number, reactivate_number, release_number, suspend_number};
pub(crate) use plan::AcquireNumber;
pub(crate) use read::search_available;

use actix_web::{HttpMessage, HttpRequest};
use chrono::Utc;
use domain::phone_number::{NumberStatus, PhoneNumber, PhoneNumberError};
use domain::values::{BusinessId, E164};
use domain::CommandMetadata;
use infrastructure::twilio::rest::TwilioError;
use rust_decimal::Decimal;
use serde::Serialize;
use tracing_actix_web::RequestId;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::access::Authenticated;
use crate::api_error::ApiError;
use crate::startup::AppState;

pub(super) fn configure(config: &mut ServiceConfig) {
    config
        // Before `/{number}`, which would otherwise take `available` for a number.
        .service(read::available)
        .service(read::list)
        .service(read::show)
        .service(acquire::purchase)
        .service(acquire::register)
        .service(change::assign)
        .service(change::release)
        .service(change::suspend)
        .service(change::reactivate);
}

/// A number as the write side holds it right after a change. The list and
/// `GET /api/v1/phone-numbers/{number}` (read model) show the change moments later.
#[derive(Debug, Serialize, ToSchema)]
struct NumberState {
    /// The number, E.164.
    #[schema(example = "+14155550100")]
    number: String,
    /// Twilio's `PN…` sid.
    twilio_sid: String,
    /// ISO 3166-1 country code, e.g. `US`.
    country: String,
    /// Area code, where the numbering plan has one.
    area_code: Option<String>,
    /// The business it rings for.
    business_id: Option<Uuid>,
    /// `active`, `suspended` or `released`.
    #[schema(example = "active")]
    status: String,
    /// What Twilio charges per month, a decimal string.
    #[schema(value_type = Option<String>, example = "1.15")]
    monthly_cost_amount: Option<Decimal>,
    /// Its currency.
    monthly_cost_currency: Option<String>,
}

impl NumberState {
    fn of(number: &E164, held: &PhoneNumber) -> Self {
        let status = match held.status {
            NumberStatus::Unknown => "unknown",
            NumberStatus::Active => "active",
            NumberStatus::Suspended => "suspended",
            NumberStatus::Released => "released",
        };
        Self {
            number: number.to_string(),
            twilio_sid: held.twilio_sid.clone(),
            country: held.country.clone(),
            area_code: held.area_code.clone(),
            business_id: held.business_id.map(|id| id.0),
            status: status.to_owned(),
            monthly_cost_amount: held.monthly_cost.as_ref().map(|cost| cost.amount),
            monthly_cost_currency: held.monthly_cost.as_ref().map(|cost| cost.currency.clone()),
        }
    }
}

/// A phone number from a path or a body: E.164 (`+` and 2 to 15 digits), else 400.
pub(crate) fn parse_number(raw: &str) -> Result<E164, ApiError> {
    E164::parse(raw.trim()).map_err(|_| {
        let shown: String = raw.chars().take(32).collect();
        ApiError::bad_request(
            "invalid_phone_number",
            format!(
                "'{shown}' is not an E.164 phone number: + and 2 to 15 digits, e.g. \
                 +14155550100 (in a path, send the + as %2B)"
            ),
        )
    })
}

/// The aggregate's refusals, as answers.
fn rejected(err: PhoneNumberError) -> ApiError {
    match err {
        PhoneNumberError::NotFound => not_found(),
        PhoneNumberError::AlreadyProvisioned => ApiError::conflict(
            "number_already_provisioned",
            "this number is already ours (active or suspended)",
        ),
        PhoneNumberError::Released => ApiError::conflict(
            "number_released",
            "this number has been released; buy or register it again first",
        ),
        PhoneNumberError::AlreadySuspended => ApiError::conflict(
            "number_already_suspended",
            "this number is already suspended",
        ),
        PhoneNumberError::NotSuspended => {
            ApiError::conflict("number_not_suspended", "this number is not suspended")
        }
        PhoneNumberError::Invalid(invalid) => ApiError::bad_request("invalid_input", invalid),
    }
}

/// The 404 for a number the caller may not see or that we never held.
fn not_found() -> ApiError {
    ApiError::not_found("number_not_found", "no such phone number")
}

/// A failed call to Twilio, as a 502 with Twilio's message and code (never our credentials:
/// the client removes them from Twilio's messages).
pub(super) fn twilio_failed(doing: &str, err: TwilioError) -> ApiError {
    let message = match &err {
        TwilioError::Api {
            status,
            code,
            message,
            ..
        } => match code {
            Some(code) => {
                format!("Twilio refused to {doing}: {message} (Twilio error {code}, HTTP {status})")
            }
            None => format!("Twilio refused to {doing}: {message} (HTTP {status})"),
        },
        TwilioError::RateLimited => {
            format!("Twilio is rate-limiting us and did not {doing}; try again in a minute")
        }
        TwilioError::Unreachable(_) => {
            format!("Twilio could not be reached to {doing}; try again shortly")
        }
        TwilioError::UnexpectedAnswer(_) => {
            format!("Twilio answered something unexpected when asked to {doing}")
        }
        TwilioError::BadConfig(_) => return ApiError::Unexpected(err.into()),
    };
    tracing::warn!(error = %err, "twilio request failed");
    ApiError::Upstream {
        code: "twilio_error",
        message,
    }
}

/// The metadata of a command sent over `route` (`METHOD` is the request's): correlated by the
/// request id, caused by `rest:<METHOD> <route>`, acted by the signed-in user.
fn metadata(request: &HttpRequest, route: &str, who: &Authenticated) -> CommandMetadata {
    command_metadata(request, format!("rest:{} {route}", request.method()), who)
}

/// The metadata of a command `request` asks for: correlated by the request id, caused by
/// `causation`, acted by the signed-in user (the admin dashboard's forms pass
/// `dashboard:<METHOD> <route>`).
pub(crate) fn command_metadata(
    request: &HttpRequest,
    causation: String,
    who: &Authenticated,
) -> CommandMetadata {
    let correlation = request
        .extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    CommandMetadata::new(correlation, causation, who.actor(), Utc::now())
}

/// The business a number is to ring for: it must exist (404 `business_not_found`) and take
/// calls (400 `business_inactive`).
async fn active_business(state: &AppState, id: Uuid) -> Result<BusinessId, ApiError> {
    let loaded = state
        .stores
        .businesses
        .load(&id.to_string())
        .await
        .map_err(|err| ApiError::store(err, |rejection| ApiError::Unexpected(rejection.into())))?;
    let business = loaded.aggregate;
    if business.id.is_none() {
        return Err(ApiError::not_found(
            "business_not_found",
            format!("no business {id}"),
        ));
    }
    if !business.active {
        return Err(ApiError::bad_request(
            "business_inactive",
            format!("business {id} is deactivated; reactivate it before giving it a number"),
        ));
    }
    Ok(BusinessId(id))
}

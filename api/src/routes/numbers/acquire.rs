//! Acquiring a number (admins): buying one from Twilio's stock, or registering one the Twilio
//! account already holds. Either way Twilio is told to send the number's calls to
//! `/twilio/voice/incoming` and their progress to `/twilio/voice/status` under our public URL,
//! and then the number is provisioned (and assigned, when a business is named; see
//! [`super::plan`]).
//!
//! Should recording a bought number fail, the answer says how to finish ([`half_done`]).

use actix_web::http::header::LOCATION;
use actix_web::{post, web, HttpRequest, HttpResponse, ResponseError};
use domain::phone_number::{NumberStatus, PhoneNumber, PhoneNumberError};
use domain::values::{BusinessId, E164};
use infrastructure::twilio::rest::TwilioClient;

use super::plan::{provision, AcquireNumber, Plan, Step};
use super::{metadata, rejected, twilio_failed, NumberState};
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;
use crate::twilio::PublicUrls;

/// Where Twilio is to send the number's calls and their progress.
fn webhooks(urls: &PublicUrls) -> (String, String) {
    (
        urls.public("/twilio/voice/incoming"),
        urls.public("/twilio/voice/status"),
    )
}

/// Refuses (409) a number we hold already, before Twilio is asked anything.
async fn ensure_not_held(state: &AppState, number: &E164) -> Result<(), ApiError> {
    let held = state
        .stores
        .numbers
        .load(number.as_ref())
        .await
        .map_err(|err| ApiError::store(err, rejected))?
        .aggregate;
    match held.status {
        NumberStatus::Active | NumberStatus::Suspended => {
            Err(rejected(PhoneNumberError::AlreadyProvisioned))
        }
        NumberStatus::Unknown | NumberStatus::Released => Ok(()),
    }
}

/// 201 with the number and where to read it.
fn created(number: &E164, held: &PhoneNumber) -> HttpResponse {
    let location = format!(
        "/api/v1/phone-numbers/{}",
        number.as_ref().replace('+', "%2B")
    );
    HttpResponse::Created()
        .insert_header((LOCATION, location))
        .json(NumberState::of(number, held))
}

/// A problem answer for a request that did part of its work: `err`'s status and code, with
/// `hint` (what was done and how to finish) before its message.
fn half_done(err: &ApiError, hint: String) -> HttpResponse {
    tracing::error!(error = ?err, %hint, "a number was acquired only in part");
    let status = err.status_code();
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .json(Problem {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            code: err.code().to_owned(),
            detail: format!("{hint} ({err})"),
        })
}

/// The hint when the number is ours but assigning it failed.
fn assign_hint(number: &E164, business: Option<BusinessId>) -> String {
    let business = business.map(|b| b.to_string()).unwrap_or_default();
    format!(
        "{number} is ours now, but assigning it to business {business} failed; assign it with \
         PUT /api/v1/phone-numbers/{}/business",
        number.as_ref().replace('+', "%2B")
    )
}

/// Buys a number from Twilio's stock (admins), points it at our webhooks and provisions it;
/// assigns it when `business_id` is given. Recorded at 1.15 USD a month (Twilio's number
/// resources carry no price). Should recording it fail after Twilio sold it, the answer says
/// so: `POST /api/v1/phone-numbers/register` finishes the job without buying again.
#[utoipa::path(tag = "phone-numbers", security(("bearer" = [])), request_body = AcquireNumber, responses(
    (status = 201, description = "Bought and provisioned (and assigned)", body = NumberState,
        headers(("Location" = String, description = "Where to read the number"))),
    (status = 400, description = "Malformed body, bad number or country, or an inactive business", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such business", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The number is ours already, or changed concurrently", body = Problem, content_type = "application/problem+json"),
    (status = 502, description = "Twilio failed or refused to sell it", body = Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/phone-numbers/purchase")]
async fn purchase(
    request: HttpRequest,
    state: web::Data<AppState>,
    who: Authenticated,
    twilio: web::Data<TwilioClient>,
    urls: web::Data<PublicUrls>,
    body: web::Json<AcquireNumber>,
) -> Result<HttpResponse, ApiError> {
    who.require_admin()?;
    let plan = Plan::of(&state, body.into_inner()).await?;
    ensure_not_held(&state, &plan.number).await?;
    let (voice_url, status_callback) = webhooks(&urls);
    let bought = twilio
        .buy_number(&plan.number, &voice_url, &status_callback)
        .await
        .map_err(|err| twilio_failed(&format!("sell us {}", plan.number), err))?;
    let metadata = metadata(&request, "/api/v1/phone-numbers/purchase", &who);
    match provision(&state, &plan, &bought.sid, &metadata).await {
        Ok(held) => Ok(created(&plan.number, &held)),
        Err((Step::Provision, err)) => Ok(half_done(
            &err,
            format!(
                "Twilio sold us {} ({}), but recording it failed; register it with \
                 POST /api/v1/phone-numbers/register to finish, without buying it again",
                plan.number, bought.sid
            ),
        )),
        Err((Step::Assign, err)) => Ok(half_done(&err, assign_hint(&plan.number, plan.business))),
    }
}

/// Registers a number the Twilio account already holds (admins): points its webhooks at us
/// and provisions it; assigns it when `business_id` is given. Also finishes a purchase whose
/// recording failed.
#[utoipa::path(tag = "phone-numbers", security(("bearer" = [])), request_body = AcquireNumber, responses(
    (status = 201, description = "Registered (and assigned)", body = NumberState,
        headers(("Location" = String, description = "Where to read the number"))),
    (status = 400, description = "Malformed body, bad number or country, or an inactive business", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such business, or the Twilio account does not hold the number", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The number is ours already, or changed concurrently", body = Problem, content_type = "application/problem+json"),
    (status = 502, description = "Twilio failed or refused", body = Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/phone-numbers/register")]
async fn register(
    request: HttpRequest,
    state: web::Data<AppState>,
    who: Authenticated,
    twilio: web::Data<TwilioClient>,
    urls: web::Data<PublicUrls>,
    body: web::Json<AcquireNumber>,
) -> Result<HttpResponse, ApiError> {
    who.require_admin()?;
    let plan = Plan::of(&state, body.into_inner()).await?;
    ensure_not_held(&state, &plan.number).await?;
    let not_held = || {
        ApiError::not_found(
            "number_not_in_twilio_account",
            format!(
                "the Twilio account does not hold {}; buy it with \
                 POST /api/v1/phone-numbers/purchase",
                plan.number
            ),
        )
    };
    let held = twilio
        .find_incoming_number(&plan.number)
        .await
        .map_err(|err| twilio_failed(&format!("look up {}", plan.number), err))?
        .ok_or_else(not_held)?;
    let (voice_url, status_callback) = webhooks(&urls);
    twilio
        .update_number_webhooks(&held.sid, &voice_url, &status_callback)
        .await
        .map_err(|err| {
            if err.is_not_found() {
                not_held()
            } else {
                twilio_failed(&format!("point {} at us", plan.number), err)
            }
        })?;
    let metadata = metadata(&request, "/api/v1/phone-numbers/register", &who);
    match provision(&state, &plan, &held.sid, &metadata).await {
        Ok(number) => Ok(created(&plan.number, &number)),
        Err((Step::Provision, err)) => Err(err),
        Err((Step::Assign, err)) => Ok(half_done(&err, assign_hint(&plan.number, plan.business))),
    }
}

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
use domain::CommandMetadata;
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

/// Why acquiring a number did not wholly succeed.
pub(crate) enum AcquireFailure {
    /// Refused or failed before anything of ours changed (and Twilio sold nothing).
    Refused(ApiError),
    /// Twilio sold us the number, but recording it failed: registering it finishes the job
    /// without buying it again.
    Unrecorded {
        /// The number.
        number: E164,
        /// Twilio's sid of it.
        twilio_sid: String,
        /// Why recording it failed.
        error: ApiError,
    },
    /// The number is ours, but assigning it to `business` failed.
    Unassigned {
        /// The number.
        number: E164,
        /// The business it was to ring for.
        business: Option<BusinessId>,
        /// Why assigning it failed.
        error: ApiError,
    },
}

impl From<ApiError> for AcquireFailure {
    fn from(err: ApiError) -> Self {
        Self::Refused(err)
    }
}

/// Buys `wanted` from Twilio's stock, points it at our webhooks and provisions it (and assigns
/// it when a business is named). The caller has checked that an admin asks.
pub(crate) async fn purchase_number(
    state: &AppState,
    twilio: &TwilioClient,
    urls: &PublicUrls,
    wanted: AcquireNumber,
    metadata: &CommandMetadata,
) -> Result<(E164, PhoneNumber), AcquireFailure> {
    let plan = Plan::of(state, wanted).await?;
    ensure_not_held(state, &plan.number).await?;
    let (voice_url, status_callback) = webhooks(urls);
    let bought = twilio
        .buy_number(&plan.number, &voice_url, &status_callback)
        .await
        .map_err(|err| twilio_failed(&format!("sell us {}", plan.number), err))?;
    match provision(state, &plan, &bought.sid, metadata).await {
        Ok(held) => Ok((plan.number, held)),
        Err((Step::Provision, error)) => Err(AcquireFailure::Unrecorded {
            number: plan.number,
            twilio_sid: bought.sid,
            error,
        }),
        Err((Step::Assign, error)) => Err(AcquireFailure::Unassigned {
            number: plan.number,
            business: plan.business,
            error,
        }),
    }
}

/// Registers `wanted`, a number the Twilio account holds: points its webhooks at us and
/// provisions it (and assigns it when a business is named). The caller has checked that an
/// admin asks.
pub(crate) async fn register_number(
    state: &AppState,
    twilio: &TwilioClient,
    urls: &PublicUrls,
    wanted: AcquireNumber,
    metadata: &CommandMetadata,
) -> Result<(E164, PhoneNumber), AcquireFailure> {
    let plan = Plan::of(state, wanted).await?;
    ensure_not_held(state, &plan.number).await?;
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
    let (voice_url, status_callback) = webhooks(urls);
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
    match provision(state, &plan, &held.sid, metadata).await {
        Ok(number) => Ok((plan.number, number)),
        Err((Step::Provision, error)) => Err(AcquireFailure::Refused(error)),
        Err((Step::Assign, error)) => Err(AcquireFailure::Unassigned {
            number: plan.number,
            business: plan.business,
            error,
        }),
    }
}

/// The REST answer to an acquisition: 201, or the problem (saying how to finish when part of
/// the work was done).
fn acquired(
    outcome: Result<(E164, PhoneNumber), AcquireFailure>,
) -> Result<HttpResponse, ApiError> {
    match outcome {
        Ok((number, held)) => Ok(created(&number, &held)),
        Err(AcquireFailure::Refused(err)) => Err(err),
        Err(AcquireFailure::Unrecorded {
            number,
            twilio_sid,
            error,
        }) => Ok(half_done(
            &error,
            format!(
                "Twilio sold us {number} ({twilio_sid}), but recording it failed; register it \
                 with POST /api/v1/phone-numbers/register to finish, without buying it again"
            ),
        )),
        Err(AcquireFailure::Unassigned {
            number,
            business,
            error,
        }) => Ok(half_done(&error, assign_hint(&number, business))),
    }
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
    let metadata = metadata(&request, "/api/v1/phone-numbers/purchase", &who);
    acquired(purchase_number(&state, &twilio, &urls, body.into_inner(), &metadata).await)
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
    let metadata = metadata(&request, "/api/v1/phone-numbers/register", &who);
    acquired(register_number(&state, &twilio, &urls, body.into_inner(), &metadata).await)
}

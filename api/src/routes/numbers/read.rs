//! Reading numbers: the list and one number from the read model (an owner sees those of their
//! businesses), and Twilio's numbers for sale (admins).

use actix_web::{get, web, HttpResponse};
use infrastructure::twilio::rest::{AvailableNumber, TwilioClient};
use projections::phone_numbers::{list_numbers, number, NumberRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{not_found, parse_number, twilio_failed};
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// The numbers the caller may see.
#[derive(Serialize, ToSchema)]
struct NumberList {
    /// By number. Admins see every number we hold or held; an owner those ringing for their
    /// businesses.
    numbers: Vec<NumberRow>,
}

/// Lists the numbers the caller may see.
#[utoipa::path(tag = "phone-numbers", security(("bearer" = [])), responses(
    (status = 200, description = "The numbers", body = NumberList),
    (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
))]
#[get("/api/v1/phone-numbers")]
async fn list(state: web::Data<AppState>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    let scope = who.business_scope(&state.pool).await?;
    let numbers = list_numbers(&state.pool, scope.as_deref())
        .await
        .map_err(ApiError::database)?;
    Ok(HttpResponse::Ok().json(NumberList { numbers }))
}

/// One number: any for an admin; for an owner only one ringing for their businesses.
#[utoipa::path(tag = "phone-numbers", security(("bearer" = [])),
    params(("number" = String, Path, description = "E.164, the `+` sent as `%2B`", example = "+14155550100")),
    responses(
        (status = 200, description = "The number", body = NumberRow),
        (status = 400, description = "Not an E.164 number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such number, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/phone-numbers/{number}")]
async fn show(
    state: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let e164 = parse_number(&path)?;
    let scope = who.business_scope(&state.pool).await?;
    let row = number(&state.pool, e164.as_ref())
        .await
        .map_err(ApiError::database)?
        .filter(|row| Authenticated::in_scope(scope.as_deref(), row.business_id))
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(row))
}

/// Where to look for numbers for sale.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AvailableQuery {
    /// ISO 3166-1 alpha-2 country code.
    #[param(example = "US")]
    country: String,
    /// Only numbers with this area code (digits; Twilio supports it for US and Canada).
    #[param(example = "415")]
    area_code: Option<String>,
}

/// A local number Twilio has for sale.
#[derive(Serialize, ToSchema)]
struct AvailableNumberView {
    /// The number, E.164.
    #[schema(example = "+14155550100")]
    phone_number: String,
    /// How Twilio formats it for people, e.g. `(415) 555-0100`.
    friendly_name: Option<String>,
    /// The town, if known.
    locality: Option<String>,
    /// The state or province, if known.
    region: Option<String>,
    /// ISO 3166-1 country code.
    iso_country: Option<String>,
}

impl From<AvailableNumber> for AvailableNumberView {
    fn from(number: AvailableNumber) -> Self {
        Self {
            phone_number: number.phone_number,
            friendly_name: number.friendly_name,
            locality: number.locality,
            region: number.region,
            iso_country: number.iso_country,
        }
    }
}

/// Local numbers for sale.
#[derive(Serialize, ToSchema)]
struct AvailableList {
    /// As Twilio listed them.
    numbers: Vec<AvailableNumberView>,
}

/// Searches Twilio's local numbers for sale (admins).
#[utoipa::path(tag = "phone-numbers", security(("bearer" = [])), params(AvailableQuery), responses(
    (status = 200, description = "Numbers for sale (maybe none)", body = AvailableList),
    (status = 400, description = "Bad country or area code, or a country Twilio does not sell in", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 502, description = "Twilio failed or refused", body = Problem, content_type = "application/problem+json"),
))]
#[get("/api/v1/phone-numbers/available")]
async fn available(
    who: Authenticated,
    twilio: web::Data<TwilioClient>,
    query: web::Query<AvailableQuery>,
) -> Result<HttpResponse, ApiError> {
    who.require_admin()?;
    let numbers = search_available(&twilio, &query.country, query.area_code.as_deref()).await?;
    let numbers = numbers.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(AvailableList { numbers }))
}

/// Twilio's local numbers for sale in `country` (ISO 3166-1 alpha-2), with `area_code` when
/// given. The caller has checked that an admin asks.
pub(crate) async fn search_available(
    twilio: &TwilioClient,
    country: &str,
    area_code: Option<&str>,
) -> Result<Vec<AvailableNumber>, ApiError> {
    let country = parse_country(country)?;
    let area_code = area_code.map(parse_area_code).transpose()?;
    twilio
        .available_local_numbers(&country, area_code)
        .await
        .map_err(|err| {
            if err.is_not_found() {
                ApiError::bad_request(
                    "unsupported_country",
                    format!("Twilio sells no local numbers in '{country}'"),
                )
            } else {
                twilio_failed("list numbers for sale", err)
            }
        })
}

/// Two ASCII letters, upper-cased; else 400 `invalid_country`.
pub(super) fn parse_country(raw: &str) -> Result<String, ApiError> {
    let country = raw.trim();
    if country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(country.to_ascii_uppercase())
    } else {
        Err(ApiError::bad_request(
            "invalid_country",
            "country must be an ISO 3166-1 alpha-2 code, e.g. US",
        ))
    }
}

/// 1 to 6 digits; else 400 `invalid_area_code`.
fn parse_area_code(raw: &str) -> Result<&str, ApiError> {
    let code = raw.trim();
    if (1..=6).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(ApiError::bad_request(
            "invalid_area_code",
            "area_code must be 1 to 6 digits, e.g. 415",
        ))
    }
}

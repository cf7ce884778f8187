//! Callers' personal data over HTTP (docs/privacy.md): an admin erases a caller's data
//! (`POST /api/v1/admin/privacy/erasures`), an owner or admin sets how long a business keeps
//! it (`PUT /api/v1/businesses/{id}/retention`).

use actix_web::{post, put, web, HttpRequest, HttpResponse};
use chrono::Utc;
use domain::business::BusinessCommand;
use domain::values::{BusinessId, E164};
use domain::CommandMetadata;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use infrastructure::twilio::rest::TwilioClient;

use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::privacy_cmd::{self, EraseError, Erased};
use crate::routes::businesses::{append_via, managed, Via};
use crate::startup::AppState;

/// The longest retention period accepted: ten years.
const MAX_RETENTION_DAYS: u32 = 3650;

pub(super) fn configure(config: &mut ServiceConfig) {
    config.service(erase).service(set_retention);
}

/// Whose data to erase.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// The business that holds the data.
    pub business_id: Uuid,
    /// The caller's number, E.164.
    #[schema(example = "+14155550111")]
    pub caller: String,
}

/// How long a business keeps its callers' personal data.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionBody {
    /// Days after a call that its personal data is erased (1 to 3650); `null` keeps it until
    /// erased on request.
    #[schema(required = true, minimum = 1, maximum = 3650)]
    pub days: Option<u32>,
}

fn privacy_unavailable(
    state: &AppState,
) -> Result<&infrastructure::privacy::PersonalData, ApiError> {
    state.stores.privacy.as_ref().ok_or_else(|| {
        ApiError::Unexpected(anyhow::anyhow!("personal data keys are not configured"))
    })
}

/// Erases everything a business holds of one caller: the keys of their calls are destroyed, so
/// their number, words, messages, recordings and summaries read `[erased]` everywhere from now
/// on; the erasure is recorded as `CallerDataErased` on the business, and the calls'
/// recordings are deleted at Twilio (those it did not delete are listed). Admins only.
#[utoipa::path(tag = "admin", operation_id = "erase_caller_data", security(("bearer" = [])),
    request_body = ErasureRequest,
    responses(
        (status = 200, description = "Erased: how many calls and keys", body = Erased),
        (status = 400, description = "Malformed body or caller number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/admin/privacy/erasures")]
async fn erase(
    state: web::Data<AppState>,
    who: Authenticated,
    twilio: web::Data<TwilioClient>,
    body: web::Json<ErasureRequest>,
) -> Result<HttpResponse, ApiError> {
    who.require_admin()?;
    let body = body.into_inner();
    let caller = E164::parse(body.caller.trim())
        .map_err(|err| ApiError::bad_request("invalid_caller", err))?;
    let privacy = privacy_unavailable(&state)?;
    let metadata = CommandMetadata::new(
        Uuid::new_v4().to_string(),
        "rest:POST /api/v1/admin/privacy/erasures",
        who.actor(),
        Utc::now(),
    );
    let erased = privacy_cmd::erase_caller(
        &state.pool,
        &state.stores,
        privacy,
        Some(twilio.get_ref()),
        BusinessId(body.business_id),
        &caller,
        &metadata,
    )
    .await
    .map_err(|err| match err {
        EraseError::NoBusiness(_) => ApiError::not_found("business_not_found", "no such business"),
        EraseError::Unavailable(err) => ApiError::Unavailable(err),
    })?;
    Ok(HttpResponse::Ok().json(erased))
}

/// Sets how long the business keeps its callers' personal data: a daily job erases the calls
/// older than that (as an erasure on request does). The business' owner or an admin.
#[utoipa::path(tag = "businesses", operation_id = "set_business_retention", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    request_body = RetentionBody,
    responses(
        (status = 200, description = "The retention in force", body = RetentionBody),
        (status = 400, description = "Days out of range, or malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/businesses/{id}/retention")]
async fn set_retention(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<RetentionBody>,
) -> Result<HttpResponse, ApiError> {
    let days = body.into_inner().days;
    if days.is_some_and(|days| !(1..=MAX_RETENTION_DAYS).contains(&days)) {
        return Err(ApiError::bad_request(
            "invalid_retention",
            format!("days must be 1 to {MAX_RETENTION_DAYS}, or null"),
        ));
    }
    let id = id.into_inner();
    let privacy = privacy_unavailable(&state)?;
    managed(&state, &who, id).await?;
    let command = BusinessCommand::SetRetention { days };
    let business = append_via(&state, &who, &request, Via::Rest, id, command).await?;
    privacy
        .set_retention(id, business.retention_days)
        .await
        .map_err(|err| ApiError::Unavailable(err.into()))?;
    Ok(HttpResponse::Ok().json(RetentionBody {
        days: business.retention_days,
    }))
}

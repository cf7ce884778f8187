//! `GET /api/v1/calls/{sid}` and `GET /api/v1/calls/{sid}/timeline`: one call as the `calls`
//! read model holds it (the row, the message taken, the transcript) and every event of it.

use actix_web::{get, web, HttpResponse};
use projections::calls::{call_detail, call_timeline, CallDetail, TimelineEntry};
use serde::Serialize;
use utoipa::ToSchema;

use super::{call_not_found, call_sid};
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// One call with the message the agent took and the conversation's transcript.
#[utoipa::path(tag = "calls", operation_id = "get_call", security(("bearer" = [])),
    params(("sid" = String, Path, description = "The call's Twilio CallSid (`CA` and 32 hex digits)", example = "CA0123456789abcdef0123456789abcdef")),
    responses(
        (status = 200, description = "The call", body = CallDetail),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call, or not one of the caller's businesses", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/calls/{sid}")]
async fn detail(
    state: web::Data<AppState>,
    who: Authenticated,
    sid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sid = call_sid(&sid)?;
    let scope = who.business_scope(&state.pool).await?;
    let detail = call_detail(&state.pool, sid.as_ref(), scope.as_deref())
        .await
        .map_err(ApiError::database)?
        .ok_or_else(call_not_found)?;
    Ok(HttpResponse::Ok().json(detail))
}

/// A call's timeline.
#[derive(Serialize, ToSchema)]
struct Timeline {
    /// The call.
    call_sid: String,
    /// Every event of the call, by sequence.
    entries: Vec<TimelineEntry>,
}

/// Every event of one call, in order, as the read model recorded it.
#[utoipa::path(tag = "calls", operation_id = "get_call_timeline", security(("bearer" = [])),
    params(("sid" = String, Path, description = "The call's Twilio CallSid (`CA` and 32 hex digits)", example = "CA0123456789abcdef0123456789abcdef")),
    responses(
        (status = 200, description = "The call's events", body = Timeline),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call, or not one of the caller's businesses", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/calls/{sid}/timeline")]
async fn timeline(
    state: web::Data<AppState>,
    who: Authenticated,
    sid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sid = call_sid(&sid)?;
    let scope = who.business_scope(&state.pool).await?;
    let entries = call_timeline(&state.pool, sid.as_ref(), scope.as_deref())
        .await
        .map_err(ApiError::database)?;
    // A call's row is written with its first event, so a visible call has at least one entry:
    // none means unknown or another tenant's.
    if entries.is_empty() {
        return Err(call_not_found());
    }
    Ok(HttpResponse::Ok().json(Timeline {
        call_sid: sid.to_string(),
        entries,
    }))
}

//! `GET /api/v1/calls/{sid}/history`: the audit view of one call, replayed from the event store
//! with the state after each event (the same [`History`] as `callassist audit call`).
//!
//! Nothing here reads a read model: an auditor must see what was stored even when a projection
//! lags or is being rebuilt. So the access check is made on the write side too: the Call
//! aggregate names its business, and the Business aggregate its owner.

use actix_web::{get, web, HttpResponse};
use infrastructure::audit::{self, AuditError, History};
use infrastructure::event_store::StoreError;

use super::{call_not_found, call_sid};
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// A load from the event store failed (loads are never refused by the aggregate).
fn load_error<E: std::error::Error + Send + Sync + 'static>(err: StoreError<E>) -> ApiError {
    ApiError::store(err, |rejected| {
        ApiError::Unexpected(anyhow::Error::new(rejected).context("a load was rejected"))
    })
}

fn audit_error(err: AuditError) -> ApiError {
    match err {
        AuditError::Unavailable { .. } => ApiError::Unavailable(err.into()),
        AuditError::Corrupt { .. } | AuditError::State { .. } | AuditError::Sealed { .. } => {
            ApiError::Unexpected(err.into())
        }
    }
}

/// Whether the caller may audit the call: admins any; an owner the calls of a business whose
/// aggregate names them as owner (a call to no business is the admins' only).
async fn may_audit(
    state: &AppState,
    who: &Authenticated,
    call: &domain::call::Call,
) -> Result<bool, ApiError> {
    if who.is_admin() {
        return Ok(true);
    }
    let Some(business) = call.received.as_ref().and_then(|r| r.business_id) else {
        return Ok(false);
    };
    let business = state
        .stores
        .businesses
        .load(&business.to_string())
        .await
        .map_err(load_error)?;
    Ok(who.may_manage(&business.aggregate))
}

/// Every stored event of one call with the call's state after it, replayed from the event store.
#[utoipa::path(tag = "calls", operation_id = "get_call_history", security(("bearer" = [])),
    params(("sid" = String, Path, description = "The call's Twilio CallSid (`CA` and 32 hex digits)", example = "CA0123456789abcdef0123456789abcdef")),
    responses(
        (status = 200, description = "The call's history", body = History),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call, or not one of the caller's businesses", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The event store is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/calls/{sid}/history")]
async fn history(
    state: web::Data<AppState>,
    who: Authenticated,
    sid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sid = call_sid(&sid)?;
    let call = state
        .stores
        .calls
        .load(sid.as_ref())
        .await
        .map_err(load_error)?;
    if call.sequence == 0 || !may_audit(&state, &who, &call.aggregate).await? {
        return Err(call_not_found());
    }
    let history = audit::call_history(&state.pool, state.stores.privacy.as_ref(), &sid)
        .await
        .map_err(audit_error)?
        .ok_or_else(call_not_found)?;
    Ok(HttpResponse::Ok().json(history))
}

//! Calls over HTTP, the read side of the call domain: the list (filtered, paged), one call's
//! detail and timeline (from the `calls` read model) and its audit history (replayed from the
//! event store).
//!
//! Tenancy: an admin sees every call, a business owner only the calls of their businesses. A
//! call the caller may not see answers exactly as one that does not exist (404
//! `call_not_found`), and so does a filter naming a business they do not own (404
//! `business_not_found`), so nothing leaks whether it exists.

pub(crate) mod cursor;
mod detail;
mod history;
mod list;

use chrono::Datelike;
use domain::values::CallSid;
use sqlx::PgPool;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::access::Authenticated;
use crate::api_error::ApiError;

pub(super) fn configure(config: &mut ServiceConfig) {
    config
        .service(list::list)
        .service(detail::detail)
        .service(detail::timeline)
        .service(history::history);
}

/// The answer for a call that does not exist or is not the caller's.
fn call_not_found() -> ApiError {
    ApiError::not_found("call_not_found", "no such call")
}

/// A path's CallSid: one that is not well formed names no call (and is never sent to the
/// database, where a stray NUL byte would be an error rather than a miss).
fn call_sid(raw: &str) -> Result<CallSid, ApiError> {
    CallSid::parse(raw).map_err(|_| call_not_found())
}

/// The businesses whose data a read may cover: with `business` given, only it, if the caller
/// may see it (404 `business_not_found` otherwise, also for admins when it is not registered);
/// without, the caller's scope (`None`: all, for admins).
pub(super) async fn scope_for(
    who: &Authenticated,
    pool: &PgPool,
    business: Option<Uuid>,
) -> Result<Option<Vec<Uuid>>, ApiError> {
    let scope = who.business_scope(pool).await?;
    let Some(business) = business else {
        return Ok(scope);
    };
    let visible = match &scope {
        Some(owned) => owned.contains(&business),
        None => sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM rm_businesses.businesses WHERE business_id = $1)",
        )
        .bind(business)
        .fetch_one(pool)
        .await
        .map_err(ApiError::database)?,
    };
    if visible {
        Ok(Some(vec![business]))
    } else {
        Err(ApiError::not_found(
            "business_not_found",
            "no such business",
        ))
    }
}

/// Whether a year can be stored and compared in PostgreSQL as the API promises: the four-digit
/// years of RFC 3339. Larger ones parse in chrono but are out of the database's range.
pub(crate) fn storable_year(date: &impl Datelike) -> bool {
    (0..=9999).contains(&date.year())
}

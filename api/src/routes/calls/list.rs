//! `GET /api/v1/calls`: the calls the caller may see, newest first, filtered and paged with an
//! opaque cursor.
//!
//! The cursor is opaque (see [`super::cursor`]): clients must not build or read it, and a
//! malformed one is a 400 `invalid_cursor`, never a database error.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use projections::calls::{
    list_calls, CallFilter, CallRoute, CallRow, CallStatus, HandledBy, MAX_PAGE,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::cursor::{decode_cursor, encode_cursor};
use super::{scope_for, storable_year};
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// The page size when the query gives none.
const DEFAULT_LIMIT: u32 = 50;

/// Which calls to list. Every filter is optional; unknown parameters are refused.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CallsQuery {
    /// Only calls of this business (404 `business_not_found` when the caller does not own it,
    /// or, for an admin, when no such business is registered).
    business_id: Option<Uuid>,
    /// Only calls last routed there.
    #[param(inline)]
    route: Option<CallRoute>,
    /// Only calls handled so.
    #[param(inline)]
    handled_by: Option<HandledBy>,
    /// Only calls in this status.
    #[param(inline)]
    status: Option<CallStatus>,
    /// Only calls started at or after this instant (RFC 3339, e.g. `2026-03-08T00:00:00Z`).
    from: Option<DateTime<Utc>>,
    /// Only calls started before this instant (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// Page size, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<PageSize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page size within 1 to [`MAX_PAGE`]; anything else fails to deserialise, so the query
/// config answers it as a malformed query (400).
#[derive(Debug, Clone, Copy)]
struct PageSize(u32);

impl<'de> Deserialize<'de> for PageSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let size = u32::deserialize(deserializer)?;
        if (1..=MAX_PAGE).contains(&size) {
            Ok(Self(size))
        } else {
            Err(serde::de::Error::custom(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )))
        }
    }
}

/// One page of calls.
#[derive(Serialize, ToSchema)]
struct CallList {
    /// The calls, newest first (by start, then CallSid).
    calls: Vec<CallRow>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

fn check_instant(name: &str, at: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    match at {
        Some(at) if !storable_year(&at) => Err(ApiError::bad_request(
            "invalid_date",
            format!("{name} must be between the years 0000 and 9999"),
        )),
        _ => Ok(()),
    }
}

/// Lists the calls the caller may see (admins: all; owners: their businesses'), newest first.
#[utoipa::path(tag = "calls", operation_id = "list_calls", security(("bearer" = [])), params(CallsQuery), responses(
    (status = 200, description = "One page of calls", body = CallList),
    (status = 400, description = "Unknown parameter, bad filter value, date, limit or cursor, or `from` after `to`", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "`business_id` names no business the caller may see", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "The database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
#[get("/api/v1/calls")]
async fn list(
    state: web::Data<AppState>,
    who: Authenticated,
    query: web::Query<CallsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    check_instant("from", query.from)?;
    check_instant("to", query.to)?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if from > to {
            return Err(ApiError::bad_request(
                "invalid_range",
                "from must not be after to",
            ));
        }
    }
    let before = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let business_ids = scope_for(&who, &state.pool, query.business_id).await?;
    let filter = CallFilter {
        business_ids,
        route: query.route,
        handled_by: query.handled_by,
        status: query.status,
        from: query.from,
        to: query.to,
        limit: query.limit.map_or(DEFAULT_LIMIT, |PageSize(size)| size),
        before,
    };
    let page = list_calls(&state.pool, &filter)
        .await
        .map_err(ApiError::database)?;
    let next_cursor = page.next.as_ref().map(encode_cursor).transpose()?;
    Ok(HttpResponse::Ok().json(CallList {
        calls: page.calls,
        next_cursor,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_refuse_a_page_size_outside_1_to_200_and_unknown_filters() {
        let parse = |raw: &str| serde_urlencoded::from_str::<CallsQuery>(raw).is_ok();
        assert!(parse("limit=1") && parse("limit=200") && parse(""));
        assert!(!parse("limit=0") && !parse("limit=201") && !parse("limit=-1"));
        assert!(!parse("status=lost") && !parse("colour=red"));
    }
}

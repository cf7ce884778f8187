//! Call statistics over HTTP: per business and day (`daily_stats` read model) and per hour of
//! the day (`calls_per_hour`), scoped like the calls: admins see every business, owners theirs.
//! A business the caller may not see is a 404 `business_not_found`.

use actix_web::{get, web, HttpResponse};
use chrono::{Days, NaiveDate, Utc};
use projections::calls_per_hour::{calls_per_hour, HourlyCalls};
use projections::daily_stats::{daily_stats, DailyStatsRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::calls::{scope_for, storable_year};
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// The most days one request may cover (a leap year).
const MAX_DAYS: u64 = 366;
/// The days covered when the query names none.
const DEFAULT_DAYS: u64 = 30;

pub(super) fn configure(config: &mut ServiceConfig) {
    config.service(daily).service(hourly);
}

/// Which days of which businesses.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DailyQuery {
    /// Only this business (default: every business the caller may see).
    business_id: Option<Uuid>,
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    from: Option<NaiveDate>,
    /// Last day, included, `YYYY-MM-DD` (default: today, UTC). At most 366 days after `from`.
    to: Option<NaiveDate>,
}

/// Daily statistics over a range of days.
#[derive(Serialize, ToSchema)]
struct DailyStats {
    /// The first day covered.
    from: NaiveDate,
    /// The last day covered (included).
    to: NaiveDate,
    /// One row per business and day with calls, by business then day; days without calls have
    /// no row.
    days: Vec<DailyStatsRow>,
}

fn bad_range(message: impl ToString) -> ApiError {
    ApiError::bad_request("invalid_range", message)
}

/// The days to cover: the query's, or the defaults, checked (`from` ≤ `to`, at most
/// [`MAX_DAYS`], years 0000–9999).
fn days_of(query: &DailyQuery, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let to = query.to.unwrap_or(today);
    let from = match query.from {
        Some(from) => from,
        None => to
            .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
            .ok_or_else(|| bad_range("to is too early"))?,
    };
    if !storable_year(&from) || !storable_year(&to) {
        return Err(ApiError::bad_request(
            "invalid_date",
            "dates must be between the years 0000 and 9999",
        ));
    }
    if from > to {
        return Err(bad_range("from must not be after to"));
    }
    let days = (to - from).num_days() + 1;
    if u64::try_from(days).map_or(true, |days| days > MAX_DAYS) {
        return Err(bad_range(format!(
            "at most {MAX_DAYS} days at once (asked for {days})"
        )));
    }
    Ok((from, to))
}

/// Per business and local day: calls, who handled them, durations and cost.
#[utoipa::path(tag = "calls", operation_id = "get_daily_stats", security(("bearer" = [])), params(DailyQuery), responses(
    (status = 200, description = "The days' statistics", body = DailyStats),
    (status = 400, description = "Unknown parameter, malformed date, `from` after `to`, or more than 366 days", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "`business_id` names no business the caller may see", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "The database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
#[get("/api/v1/stats/daily")]
async fn daily(
    state: web::Data<AppState>,
    who: Authenticated,
    query: web::Query<DailyQuery>,
) -> Result<HttpResponse, ApiError> {
    let (from, to) = days_of(&query, Utc::now().date_naive())?;
    let scope = scope_for(&who, &state.pool, query.business_id).await?;
    let days = daily_stats(&state.pool, scope.as_deref(), from, to)
        .await
        .map_err(ApiError::database)?;
    Ok(HttpResponse::Ok().json(DailyStats { from, to, days }))
}

/// Which business.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HourlyQuery {
    /// The business.
    business_id: Uuid,
}

/// Calls per hour of the day of one business.
#[derive(Serialize, ToSchema)]
struct HourlyStats {
    /// The business.
    business_id: Uuid,
    /// All 24 hours, 0 to 23 in the business' local time, each with the calls received in it
    /// over all days.
    hours: Vec<HourlyCalls>,
}

/// How many calls one business receives in each hour of the day, in its local time.
#[utoipa::path(tag = "calls", operation_id = "get_hourly_stats", security(("bearer" = [])), params(HourlyQuery), responses(
    (status = 200, description = "The 24 hours", body = HourlyStats),
    (status = 400, description = "Missing or malformed business_id, or an unknown parameter", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "`business_id` names no business the caller may see", body = Problem, content_type = "application/problem+json"),
    (status = 503, description = "The database is unavailable; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
#[get("/api/v1/stats/hourly")]
async fn hourly(
    state: web::Data<AppState>,
    who: Authenticated,
    query: web::Query<HourlyQuery>,
) -> Result<HttpResponse, ApiError> {
    scope_for(&who, &state.pool, Some(query.business_id)).await?;
    let hours = calls_per_hour(&state.pool, query.business_id)
        .await
        .map_err(ApiError::database)?;
    Ok(HttpResponse::Ok().json(HourlyStats {
        business_id: query.business_id,
        hours,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(raw: &str) -> NaiveDate {
        raw.parse().unwrap()
    }

    fn query(from: Option<&str>, to: Option<&str>) -> DailyQuery {
        DailyQuery {
            business_id: None,
            from: from.map(day),
            to: to.map(day),
        }
    }

    #[test]
    fn it_should_cover_the_last_30_days_by_default() {
        let range = days_of(&query(None, None), day("2026-03-08")).ok();
        assert_eq!(range, Some((day("2026-02-07"), day("2026-03-08"))));
        let range = days_of(&query(None, Some("2026-01-30")), day("2026-03-08")).ok();
        assert_eq!(range, Some((day("2026-01-01"), day("2026-01-30"))));
    }

    #[test]
    fn it_should_take_366_days_but_not_367_nor_a_reversed_range() {
        let today = day("2026-03-08");
        assert!(days_of(&query(Some("2024-01-01"), Some("2024-12-31")), today).is_ok());
        let code = |q| days_of(&q, today).err().map(|e| e.code());
        assert_eq!(
            code(query(Some("2023-01-01"), Some("2024-01-02"))),
            Some("invalid_range")
        );
        assert_eq!(
            code(query(Some("2026-03-09"), Some("2026-03-08"))),
            Some("invalid_range")
        );
        let far = NaiveDate::from_ymd_opt(10_000, 1, 1);
        let beyond = DailyQuery {
            business_id: None,
            from: far,
            to: far,
        };
        assert_eq!(code(beyond), Some("invalid_date"));
    }
}

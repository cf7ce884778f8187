//! Queries over `rm_calls_per_hour`.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// Calls received in one hour of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HourlyCalls {
    /// Hour of the day, 0–23, in the business' local time.
    #[schema(minimum = 0, maximum = 23)]
    pub hour: i16,
    /// Calls received in that hour, over all days.
    pub calls: i64,
}

/// All 24 hours of `business`, in order (hours without calls count 0).
pub async fn calls_per_hour(
    pool: &PgPool,
    business_id: Uuid,
) -> Result<Vec<HourlyCalls>, sqlx::Error> {
    sqlx::query_as(
        "SELECT h.hour::int2 AS hour, COALESCE(c.calls, 0) AS calls \
         FROM generate_series(0, 23) AS h(hour) \
         LEFT JOIN rm_calls_per_hour.calls_per_hour c ON c.hour = h.hour AND c.business_id = $1 \
         ORDER BY h.hour",
    )
    .bind(business_id)
    .fetch_all(pool)
    .await
}

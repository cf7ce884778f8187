//! Queries over `rm_daily_stats`.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// One business' day. Each call counts on one day and in at most one of `answered_by_owner`,
/// `handled_by_ai`, `voicemails`, `missed`, `rejected` (none while it is still ringing).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DailyStatsRow {
    /// The business.
    pub business_id: Uuid,
    /// The day, in the business' timezone when each call came in.
    pub day: NaiveDate,
    /// Calls received.
    pub calls: i64,
    /// Calls the owner answered.
    pub answered_by_owner: i64,
    /// Calls the AI agent was given (and the owner did not answer, and no voicemail was left).
    pub handled_by_ai: i64,
    /// Calls that left a voicemail (and the owner did not answer).
    pub voicemails: i64,
    /// Calls that ended with none of the above.
    pub missed: i64,
    /// Calls turned away.
    pub rejected: i64,
    /// Calls that ended.
    pub ended_calls: i64,
    /// Ended calls whose duration is known.
    pub timed_calls: i64,
    /// Their total duration.
    pub total_duration_secs: i64,
    /// `total_duration_secs / timed_calls`; `null` when no call has a duration.
    pub average_duration_secs: Option<f64>,
    /// Share of the calls not turned away that the owner answered; `null` without such calls.
    pub owner_answer_rate: Option<f64>,
    /// Sum of each call's latest price (Twilio's charges are negative), as a decimal string.
    #[schema(example = "-0.0170")]
    pub total_cost: Decimal,
    /// The prices' currency.
    pub cost_currency: Option<String>,
}

fn from_row(row: &PgRow) -> Result<DailyStatsRow, sqlx::Error> {
    let total_cost: String = row.try_get("total_cost")?;
    Ok(DailyStatsRow {
        business_id: row.try_get("business_id")?,
        day: row.try_get("day")?,
        calls: row.try_get("calls")?,
        answered_by_owner: row.try_get("answered_by_owner")?,
        handled_by_ai: row.try_get("handled_by_ai")?,
        voicemails: row.try_get("voicemails")?,
        missed: row.try_get("missed")?,
        rejected: row.try_get("rejected")?,
        ended_calls: row.try_get("ended_calls")?,
        timed_calls: row.try_get("timed_calls")?,
        total_duration_secs: row.try_get("total_duration_secs")?,
        average_duration_secs: row.try_get("average_duration_secs")?,
        owner_answer_rate: row.try_get("owner_answer_rate")?,
        total_cost: total_cost.parse().map_err(|_| {
            sqlx::Error::Decode(format!("daily_stats.total_cost {total_cost:?}").into())
        })?,
        cost_currency: row.try_get("cost_currency")?,
    })
}

/// The days `from` to `to` (both included) of the businesses the reader may see (`None`: all,
/// for admins; an owner passes theirs), by business then day. Days without calls have no row.
pub async fn daily_stats(
    pool: &PgPool,
    business_ids: Option<&[Uuid]>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DailyStatsRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT business_id, day, calls, answered_by_owner, handled_by_ai, voicemails, missed, rejected, \
           ended_calls, timed_calls, total_duration_secs, \
           total_duration_secs::float8 / NULLIF(timed_calls, 0) AS average_duration_secs, \
           answered_by_owner::float8 / NULLIF(calls - rejected, 0) AS owner_answer_rate, \
           total_cost::text AS total_cost, cost_currency \
         FROM rm_daily_stats.daily_stats \
         WHERE ($1::uuid[] IS NULL OR business_id = ANY($1)) AND day BETWEEN $2 AND $3 \
         ORDER BY business_id, day",
    )
    .bind(business_ids)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

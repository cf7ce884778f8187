//! Queries over `rm_phone_numbers.numbers`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// A number as the numbers page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NumberRow {
    /// The number, E.164.
    #[schema(example = "+14155550100")]
    pub number: String,
    /// Twilio's `PN…` sid.
    pub twilio_sid: String,
    /// Country code, e.g. `US`.
    pub country: String,
    /// Area code, where the numbering plan has one.
    pub area_code: Option<String>,
    /// The business it rings for.
    pub business_id: Option<Uuid>,
    /// `active`, `suspended` or `released`.
    #[schema(example = "active")]
    pub status: String,
    /// Why it is suspended.
    pub suspension_reason: Option<String>,
    /// What Twilio charges per month, a decimal string.
    #[schema(value_type = String, example = "1.15")]
    pub monthly_cost_amount: Decimal,
    /// Its currency.
    pub monthly_cost_currency: String,
    /// When it was (last) provisioned.
    pub provisioned_at: Option<DateTime<Utc>>,
    /// Its last change.
    pub updated_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT number, twilio_sid, country, area_code, business_id, status, suspension_reason, \
     monthly_cost_amount::text AS monthly_cost_amount, monthly_cost_currency, provisioned_at, updated_at \
     FROM rm_phone_numbers.numbers";

fn from_row(row: &PgRow) -> Result<NumberRow, sqlx::Error> {
    let amount: String = row.try_get("monthly_cost_amount")?;
    Ok(NumberRow {
        number: row.try_get("number")?,
        twilio_sid: row.try_get("twilio_sid")?,
        country: row.try_get("country")?,
        area_code: row.try_get("area_code")?,
        business_id: row.try_get("business_id")?,
        status: row.try_get("status")?,
        suspension_reason: row.try_get("suspension_reason")?,
        monthly_cost_amount: amount.parse().map_err(|_| {
            sqlx::Error::Decode(format!("numbers.monthly_cost_amount {amount:?}").into())
        })?,
        monthly_cost_currency: row.try_get("monthly_cost_currency")?,
        provisioned_at: row.try_get("provisioned_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Numbers by number: all of them (`None`, for admins), or those ringing for `business_ids`
/// (an owner passes theirs; unassigned and released numbers belong to no business).
pub async fn list_numbers(
    pool: &PgPool,
    business_ids: Option<&[Uuid]>,
) -> Result<Vec<NumberRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE ($1::uuid[] IS NULL OR business_id = ANY($1)) ORDER BY number"
    ))
    .bind(business_ids)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// One number, by its E.164 form.
pub async fn number(pool: &PgPool, e164: &str) -> Result<Option<NumberRow>, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT} WHERE number = $1"))
        .bind(e164)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

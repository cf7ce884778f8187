//! Queries over `rm_businesses.businesses`.

use chrono::{DateTime, Utc};
use domain::business::WeeklyHours;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::WeekHours;

/// A business as lists and detail pages show it (never the sealed API key: only its last four).
///
/// Every field is always sent; the optional ones as `null`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, ToSchema)]
pub struct BusinessRow {
    /// Id.
    pub business_id: Uuid,
    /// Name.
    #[schema(example = "Joe's Plumbing")]
    pub name: String,
    /// Description (may be empty).
    pub description: String,
    /// Owning user (`null`: a business an admin registered for nobody).
    #[schema(required = true)]
    pub owner_user_id: Option<Uuid>,
    /// Where the owner takes calls (E.164).
    #[schema(required = true, example = "+14155550123")]
    pub owner_phone: Option<String>,
    /// IANA timezone of the hours.
    #[schema(example = "America/New_York")]
    pub timezone: String,
    /// Weekly hours in that timezone.
    #[sqlx(json, try_from = "WeeklyHours")]
    pub hours: WeekHours,
    /// The owner's availability switch.
    pub owner_available: bool,
    /// How long the owner's phone rings, in seconds.
    #[schema(example = 20)]
    pub ring_timeout_secs: i32,
    /// The AI agent's model (`null`: no agent configured).
    #[schema(required = true)]
    pub agent_model: Option<String>,
    /// The AI agent's voice.
    #[schema(required = true)]
    pub agent_voice: Option<String>,
    /// Last four characters of the agent's OpenAI key (the key itself is never shown).
    #[schema(required = true)]
    pub agent_key_last_four: Option<String>,
    /// Whether the agent takes calls.
    pub agent_enabled: bool,
    /// Whether the business takes calls.
    pub active: bool,
    /// When it was registered.
    #[schema(required = true)]
    pub registered_at: Option<DateTime<Utc>>,
    /// Last change.
    #[schema(required = true)]
    pub updated_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "business_id, name, description, owner_user_id, owner_phone, timezone, hours, owner_available, \
     ring_timeout_secs, agent_model, agent_voice, agent_key_last_four, agent_enabled, active, registered_at, updated_at";

/// Businesses by name; only those of `owner` when given (an owner sees only their own).
pub async fn list_businesses(
    pool: &PgPool,
    owner: Option<Uuid>,
) -> Result<Vec<BusinessRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rm_businesses.businesses WHERE ($1::uuid IS NULL OR owner_user_id = $1) ORDER BY lower(name), business_id"
    ))
    .bind(owner)
    .fetch_all(pool)
    .await
}

/// One business.
pub async fn business(pool: &PgPool, id: Uuid) -> Result<Option<BusinessRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rm_businesses.businesses WHERE business_id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

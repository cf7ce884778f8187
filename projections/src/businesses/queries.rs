//! Queries over `rm_businesses.businesses`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// A business as lists and detail pages show it (never the sealed API key: only its last four).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct BusinessRow {
    /// Id.
    pub business_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Owning user.
    pub owner_user_id: Option<Uuid>,
    /// Owner's phone.
    pub owner_phone: Option<String>,
    /// IANA timezone.
    pub timezone: String,
    /// Weekly hours (Monday first).
    pub hours: serde_json::Value,
    /// Availability switch.
    pub owner_available: bool,
    /// Ring timeout.
    pub ring_timeout_secs: i32,
    /// Agent model.
    pub agent_model: Option<String>,
    /// Agent voice.
    pub agent_voice: Option<String>,
    /// Last four characters of the agent's OpenAI key.
    pub agent_key_last_four: Option<String>,
    /// Whether the agent takes calls.
    pub agent_enabled: bool,
    /// Whether the business takes calls.
    pub active: bool,
    /// When it was registered.
    pub registered_at: Option<DateTime<Utc>>,
    /// Last change.
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

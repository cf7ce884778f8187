//! A business' endpoints and their delivery logs, as the REST API and the dashboard manage
//! them: register (the secret is made, sealed and returned once), list, delete, read the
//! deliveries with their tries, and "send again".

use chrono::{DateTime, Utc};
use domain::business::SealedSecret;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::events::EventType;
pub use super::log::{deliveries, resend, Attempt, Delivery, DeliveryStatus, LOG_MAX};
use super::signing;
use super::target::{self, TargetError};
use crate::vault::{Vault, VaultError};

/// The most endpoints one business may have.
pub const ENDPOINTS_MAX: i64 = 20;

/// Associated data the endpoint's secret is sealed with: it opens for this endpoint only.
pub fn secret_context(endpoint_id: Uuid) -> String {
    format!("callassist/webhook-secret/v1/{endpoint_id}")
}

/// An endpoint (never with its secret).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Endpoint {
    /// Its id.
    pub id: Uuid,
    /// The business it belongs to.
    pub business_id: Uuid,
    /// Where deliveries are POSTed.
    #[schema(example = "https://crm.example.com/hooks/calls")]
    pub url: String,
    /// The events it receives.
    pub event_types: Vec<EventType>,
    /// Whether deliveries are made.
    pub active: bool,
    /// When it was registered; it receives events that happened after.
    pub created_at: DateTime<Utc>,
    /// Who registered it.
    pub created_by: Option<Uuid>,
}

/// Why an endpoint cannot be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The URL may not be used.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// No event types chosen.
    #[error("choose at least one event type")]
    NoEventTypes,
    /// An event type we do not send.
    #[error("unknown event type '{0}': use call.ended, message.taken or call.summarized")]
    UnknownEventType(String),
    /// [`ENDPOINTS_MAX`] reached.
    #[error("a business may have at most {ENDPOINTS_MAX} endpoints")]
    TooMany,
    /// Sealing the secret failed.
    #[error("cannot seal the secret: {0}")]
    Seal(#[from] VaultError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The event types named in `names` (deduplicated, in the order given).
///
/// # Errors
/// [`RegisterError::NoEventTypes`] or [`RegisterError::UnknownEventType`].
pub fn parse_event_types(names: &[String]) -> Result<Vec<EventType>, RegisterError> {
    let mut kinds = Vec::new();
    for name in names {
        let kind = EventType::parse(name.trim())
            .ok_or_else(|| RegisterError::UnknownEventType(name.chars().take(40).collect()))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err(RegisterError::NoEventTypes);
    }
    Ok(kinds)
}

const COLUMNS: &str = "id, business_id, url, event_types, active, created_at, created_by";

// `registered_snapshot` defaults to this statement's snapshot: the endpoint receives the events
// of transactions that had not committed yet.
const INSERT: &str = "\
INSERT INTO webhook_endpoints (id, business_id, url, event_types, secret_key_id, secret_ciphertext, \
       created_by) \
VALUES ($1, $2, $3, $4, $5, $6, $7) \
RETURNING id, business_id, url, event_types, active, created_at, created_by";

/// Registers an endpoint for `business_id` at `url` for `event_types`, made by `created_by`;
/// returns it and its new secret (`whsec_…`), which is not kept in the clear and cannot be
/// read again.
///
/// # Errors
/// A [`RegisterError`]: the URL, the event types, the limit, or the database.
pub async fn register(
    pool: &PgPool,
    vault: &Vault,
    business_id: Uuid,
    url: &str,
    event_types: &[EventType],
    created_by: Option<Uuid>,
    allow_http_loopback: bool,
) -> Result<(Endpoint, SecretString), RegisterError> {
    let url = target::check_url(url, allow_http_loopback)?;
    if event_types.is_empty() {
        return Err(RegisterError::NoEventTypes);
    }
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM webhook_endpoints WHERE business_id = $1 AND deleted_at IS NULL",
    )
    .bind(business_id)
    .fetch_one(pool)
    .await?;
    if count >= ENDPOINTS_MAX {
        return Err(RegisterError::TooMany);
    }
    let id = Uuid::new_v4();
    let secret = signing::new_secret();
    let sealed = vault.seal_for(&secret_context(id), secret.expose_secret())?;
    let names: Vec<String> = event_types.iter().map(|k| k.as_str().to_owned()).collect();
    let row = sqlx::query(INSERT)
        .bind(id)
        .bind(business_id)
        .bind(url.as_str())
        .bind(names)
        .bind(&sealed.key_id)
        .bind(&sealed.ciphertext)
        .bind(created_by)
        .fetch_one(pool)
        .await?;
    Ok((endpoint_from_row(&row)?, secret))
}

/// The business' endpoints (not deleted), oldest first.
pub async fn list(pool: &PgPool, business_id: Uuid) -> Result<Vec<Endpoint>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints WHERE business_id = $1 AND deleted_at IS NULL \
         ORDER BY created_at, id"
    ))
    .bind(business_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(endpoint_from_row).collect()
}

/// The business' endpoint `endpoint_id`, unless deleted.
pub async fn find(
    pool: &PgPool,
    business_id: Uuid,
    endpoint_id: Uuid,
) -> Result<Option<Endpoint>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM webhook_endpoints \
         WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL"
    ))
    .bind(business_id)
    .bind(endpoint_id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(endpoint_from_row).transpose()
}

/// Deletes the business' endpoint: nothing more is queued or sent to it; its pending
/// deliveries end as failed. Returns whether there was one to delete.
pub async fn delete(
    pool: &PgPool,
    business_id: Uuid,
    endpoint_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let deleted = sqlx::query(
        "UPDATE webhook_endpoints SET deleted_at = now() \
         WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(business_id)
    .bind(endpoint_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'failed', last_error = 'the endpoint was deleted' \
         WHERE endpoint_id = $1 AND status = 'pending'",
    )
    .bind(endpoint_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(deleted)
}

/// The sealed secret of an endpoint (for tests and tools that must check a signature).
pub async fn sealed_secret(
    pool: &PgPool,
    endpoint_id: Uuid,
) -> Result<Option<SealedSecret>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT secret_key_id, secret_ciphertext FROM webhook_endpoints WHERE id = $1",
    )
    .bind(endpoint_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(key_id, ciphertext)| SealedSecret {
        key_id,
        ciphertext,
        last_four: String::new(),
    }))
}

fn endpoint_from_row(row: &sqlx::postgres::PgRow) -> Result<Endpoint, sqlx::Error> {
    let names: Vec<String> = row.try_get("event_types")?;
    Ok(Endpoint {
        id: row.try_get("id")?,
        business_id: row.try_get("business_id")?,
        url: row.try_get("url")?,
        event_types: names.iter().filter_map(|n| EventType::parse(n)).collect(),
        active: row.try_get("active")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_parse_event_types_once_each() {
        let names = vec![
            "call.ended".to_owned(),
            " message.taken".into(),
            "call.ended".into(),
        ];
        assert_eq!(
            parse_event_types(&names).unwrap(),
            vec![EventType::CallEnded, EventType::MessageTaken]
        );
        assert!(matches!(
            parse_event_types(&["call.started".to_owned()]),
            Err(RegisterError::UnknownEventType(_))
        ));
        assert!(matches!(
            parse_event_types(&[]),
            Err(RegisterError::NoEventTypes)
        ));
    }

    #[test]
    fn it_should_bind_the_secret_to_its_endpoint() {
        let vault = Vault::new(&[9; 32], []);
        let (one, two) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = vault.seal_for(&secret_context(one), "whsec_abc").unwrap();
        assert_eq!(
            vault
                .open_for(&secret_context(one), &sealed)
                .unwrap()
                .expose_secret(),
            "whsec_abc"
        );
        assert_eq!(
            vault.open_for(&secret_context(two), &sealed).map(|_| ()),
            Err(VaultError::Tampered)
        );
        assert_eq!(
            vault
                .open(domain::values::BusinessId(one), &sealed)
                .map(|_| ()),
            Err(VaultError::Tampered)
        );
    }
}

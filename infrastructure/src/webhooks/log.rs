//! An endpoint's delivery log: its deliveries with their tries, and "send again".

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::events::EventType;

/// How many deliveries the log shows, newest first.
pub const LOG_MAX: i64 = 100;

/// The state of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet; tried again at `next_attempt_at`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up after the retry schedule (or the endpoint was deleted); "send again" retries.
    Failed,
}

impl DeliveryStatus {
    fn parse(text: &str) -> Self {
        match text {
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }

    /// `pending`, `delivered`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One try of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    /// 1 for the first series of tries, one more after each "send again".
    pub series: i32,
    /// When.
    pub at: DateTime<Utc>,
    /// The endpoint's HTTP status, when it answered.
    pub status_code: Option<i32>,
    /// Why it failed (`null`: delivered).
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i32,
}

/// One event sent (or to be sent) to one endpoint, with its tries.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Its id.
    pub id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// The `webhook-id` header: the same on every try and every "send again".
    #[schema(example = "msg_1234")]
    pub webhook_id: String,
    /// The event's type.
    pub event_type: EventType,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Tries in the current series.
    pub attempts: i32,
    /// When it is tried next (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The endpoint's last HTTP status.
    pub last_status_code: Option<i32>,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the endpoint accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The body, exactly as sent.
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Every try, oldest first.
    pub tries: Vec<Attempt>,
}

const DELIVERY_COLUMNS: &str = "id, endpoint_id, webhook_id, event_type, status, attempts, \
    next_attempt_at, last_status_code, last_error, created_at, delivered_at, payload";

/// The endpoint's latest deliveries ([`LOG_MAX`]), newest first, each with its tries.
pub async fn deliveries(pool: &PgPool, endpoint_id: Uuid) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 \
         ORDER BY created_at DESC, global_position DESC LIMIT $2"
    ))
    .bind(endpoint_id)
    .bind(LOG_MAX)
    .fetch_all(pool)
    .await?;
    let mut deliveries = rows
        .iter()
        .map(delivery_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<Uuid> = deliveries.iter().map(|d| d.id).collect();
    let tries = sqlx::query(
        "SELECT delivery_id, series, attempted_at, status_code, error, duration_ms \
           FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    for row in &tries {
        let delivery_id: Uuid = row.try_get("delivery_id")?;
        let attempt = Attempt {
            series: row.try_get("series")?,
            at: row.try_get("attempted_at")?,
            status_code: row.try_get("status_code")?,
            error: row.try_get("error")?,
            duration_ms: row.try_get("duration_ms")?,
        };
        if let Some(delivery) = deliveries.iter_mut().find(|d| d.id == delivery_id) {
            delivery.tries.push(attempt);
        }
    }
    Ok(deliveries)
}

/// "Send again": the endpoint's delivery `delivery_id` goes out again now, with the same
/// `webhook-id` and body, as a new series of tries under the same retry schedule. A delivery
/// still pending is just made due now. Returns it, or `None` when the endpoint has no such
/// delivery.
pub async fn resend(
    pool: &PgPool,
    endpoint_id: Uuid,
    delivery_id: Uuid,
) -> Result<Option<Delivery>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "UPDATE webhook_deliveries SET \
            series = CASE WHEN status = 'pending' THEN series ELSE series + 1 END, \
            attempts = CASE WHEN status = 'pending' THEN attempts ELSE 0 END, \
            status = 'pending', next_attempt_at = now(), delivered_at = NULL \
          WHERE id = $1 AND endpoint_id = $2 \
            AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = $2 AND e.deleted_at IS NULL) \
          RETURNING {DELIVERY_COLUMNS}"
    ))
    .bind(delivery_id)
    .bind(endpoint_id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(delivery_from_row).transpose()
}

fn delivery_from_row(row: &sqlx::postgres::PgRow) -> Result<Delivery, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let status = DeliveryStatus::parse(&status);
    let event_type: String = row.try_get("event_type")?;
    let event_type = EventType::parse(&event_type).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: "event_type".into(),
        source: format!("unknown event type {event_type}").into(),
    })?;
    let next_attempt_at: DateTime<Utc> = row.try_get("next_attempt_at")?;
    Ok(Delivery {
        id: row.try_get("id")?,
        endpoint_id: row.try_get("endpoint_id")?,
        webhook_id: row.try_get("webhook_id")?,
        event_type,
        status,
        attempts: row.try_get("attempts")?,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(next_attempt_at),
        last_status_code: row.try_get("last_status_code")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        delivered_at: row.try_get("delivered_at")?,
        payload: row.try_get("payload")?,
        tries: Vec::new(),
    })
}

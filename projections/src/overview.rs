//! The admin overview: totals across the read models, where each projection stands, and where
//! the RabbitMQ relay stands. A query module only: it reads other read models, it has no
//! projection of its own.

use chrono::{DateTime, Days, Utc};
use infrastructure::event_store::{GlobalStream, Position};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::runtime::{self, ProjectionStatus};

/// Everything the admin overview shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Overview {
    /// Counts across the read models.
    pub totals: Totals,
    /// The last event a reader can see now; `null` while the store is empty.
    #[schema(value_type = Option<StreamPosition>)]
    pub head: Option<Position>,
    /// Each projection's checkpoint and lag.
    pub projections: Vec<ProjectionStatus>,
    /// Each relay's checkpoint; `null` when this database has no relay table.
    pub relays: Option<Vec<RelayStatus>>,
}

/// Counts across the read models (each as far as its projection has got).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, ToSchema)]
pub struct Totals {
    /// Businesses registered.
    pub businesses: i64,
    /// Of which active.
    pub active_businesses: i64,
    /// Numbers taking calls.
    pub active_numbers: i64,
    /// Calls received.
    pub calls: i64,
    /// Calls received since midnight UTC.
    pub calls_today: i64,
    /// Messages the AI agent took.
    pub messages_taken: i64,
}

/// Where a relay stands (`relay_checkpoints`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RelayStatus {
    /// The relay's name.
    pub name: String,
    /// The last event the broker confirmed.
    #[schema(value_type = StreamPosition)]
    pub position: Position,
    /// Events published (republished ones count again).
    pub published: i64,
    /// When it last moved.
    pub updated_at: DateTime<Utc>,
    /// Readable events not published yet.
    pub lag_events: i64,
}

// The OpenAPI shape of the event store's [`Position`], which lives in `infrastructure` and does
// not describe itself: never built, it names the fields that `Position` serialises.
/// A place in the global event stream: the writing transaction's id, then the insertion number.
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(as = Position)]
pub struct StreamPosition {
    /// The id of the transaction that wrote the event.
    pub transaction_id: i64,
    /// The event's insertion number.
    pub global_position: i64,
}

/// Events a reader can see after `position` (as the runtime counts a projection's lag).
const LAG: &str = "SELECT count(*) FROM events \
     WHERE (transaction_id, global_position) > ($1::bigint::text::xid8, $2) \
     AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())";

/// The overview as of now.
pub async fn overview(pool: &PgPool) -> Result<Overview, sqlx::Error> {
    let today = Utc::now().date_naive();
    let start = today.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let end = start.checked_add_days(Days::new(1)).unwrap_or(start);
    let totals: Totals = sqlx::query_as(
        "SELECT \
           (SELECT count(*) FROM rm_businesses.businesses) AS businesses, \
           (SELECT count(*) FROM rm_businesses.businesses WHERE active) AS active_businesses, \
           (SELECT count(*) FROM rm_phone_numbers.numbers WHERE status = 'active') AS active_numbers, \
           (SELECT count(*) FROM rm_calls.calls) AS calls, \
           (SELECT count(*) FROM rm_calls.calls WHERE started_at >= $1 AND started_at < $2) AS calls_today, \
           (SELECT COALESCE(sum(messages_taken), 0)::int8 FROM rm_calls.calls) AS messages_taken",
    )
    .bind(start)
    .bind(end)
    .fetch_one(pool)
    .await?;
    let head = GlobalStream::new(pool.clone()).head().await?;
    let projections = runtime::status(pool, &crate::registry::all()).await?;
    let relays = relays(pool).await?;
    Ok(Overview {
        totals,
        head,
        projections,
        relays,
    })
}

/// The relays' checkpoints, if the relay's migration has run.
async fn relays(pool: &PgPool) -> Result<Option<Vec<RelayStatus>>, sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass('public.relay_checkpoints') IS NOT NULL")
            .fetch_one(pool)
            .await?;
    if !exists {
        return Ok(None);
    }
    let rows: Vec<(String, i64, i64, i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT name, transaction_id, global_position, published, updated_at \
         FROM public.relay_checkpoints ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    let mut relays = Vec::with_capacity(rows.len());
    for (name, transaction_id, global_position, published, updated_at) in rows {
        let position = Position {
            transaction_id,
            global_position,
        };
        let lag_events = sqlx::query_scalar(LAG)
            .bind(transaction_id)
            .bind(global_position)
            .fetch_one(pool)
            .await?;
        relays.push(RelayStatus {
            name,
            position,
            published,
            updated_at,
            lag_events,
        });
    }
    Ok(Some(relays))
}

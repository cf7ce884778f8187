//! The dispatcher's side of the tables (migration `20261125000014_outbound_webhooks.sql`): its
//! checkpoint in the global stream, queueing deliveries, finding the due ones, and recording
//! each try in the delivery log.

use std::time::Duration;

use serde_json::Value;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::events::EventType;
use crate::event_store::Position;
use crate::reader_checkpoint::ReaderCheckpoint;

/// The dispatcher's row in `webhook_checkpoints`.
const CHECKPOINT: ReaderCheckpoint = ReaderCheckpoint::new("webhook_checkpoints", "webhooks", true);

/// One delivery per event and endpoint of the event's business that asked for its type and
/// was registered before the event's transaction committed; an event queued already (by an old leader) is skipped.
const QUEUE: &str = "\
INSERT INTO webhook_deliveries (endpoint_id, webhook_id, event_type, global_position, payload) \
SELECT e.id, c.webhook_id, c.event_type, c.global_position, c.payload \
  FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::bigint[], $6::bigint[]) \
       AS c(business_id, event_type, webhook_id, payload, transaction_id, global_position) \
  JOIN webhook_endpoints e ON e.business_id = c.business_id \
   AND c.event_type = ANY(e.event_types) AND e.active AND e.deleted_at IS NULL \
   AND NOT pg_visible_in_snapshot(c.transaction_id::text::xid8, e.registered_snapshot) \
ON CONFLICT (endpoint_id, webhook_id) DO NOTHING";

// Never moves backwards, even if a node that lost its lock (and does not know it yet) saves an
// older position than the new leader.
const DUE: &str = "\
SELECT d.id, d.endpoint_id, d.webhook_id, d.payload, d.attempts, d.series, \
       e.url, e.secret_key_id, e.secret_ciphertext \
  FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
 WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.deleted_at IS NULL \
   AND d.id <> ALL($1) \
 ORDER BY d.next_attempt_at \
 LIMIT $2";

const LOG: &str = "\
INSERT INTO webhook_attempts (delivery_id, series, status_code, error, duration_ms) \
VALUES ($1, $2, $3, $4, $5)";

// `series = $2`: a "send again" while this try was out starts afresh; this try does not
// overwrite it.
const DELIVERED: &str = "\
UPDATE webhook_deliveries \
   SET status = 'delivered', attempts = $3, delivered_at = now(), last_status_code = $4, last_error = NULL \
 WHERE id = $1 AND series = $2";

const LATER: &str = "\
UPDATE webhook_deliveries \
   SET attempts = $3, next_attempt_at = now() + make_interval(secs => $6), \
       last_status_code = $4, last_error = $5 \
 WHERE id = $1 AND series = $2";

const FAILED: &str = "\
UPDATE webhook_deliveries \
   SET status = 'failed', attempts = $3, last_status_code = $4, last_error = $5 \
 WHERE id = $1 AND series = $2";

/// An event to deliver to the endpoints of its business that asked for it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Candidate {
    pub(super) business_id: Uuid,
    pub(super) kind: EventType,
    pub(super) webhook_id: String,
    pub(super) payload: Value,
    pub(super) position: Position,
}

/// A delivery whose next try is due, with where it goes.
#[derive(Debug, Clone)]
pub(super) struct Due {
    pub(super) id: Uuid,
    pub(super) endpoint_id: Uuid,
    pub(super) webhook_id: String,
    pub(super) payload: Value,
    /// Tries so far in this series.
    pub(super) attempts: u32,
    pub(super) series: i32,
    pub(super) url: String,
    pub(super) secret_key_id: String,
    pub(super) secret_ciphertext: String,
}

/// What came of one try.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tried {
    /// The receiver's status, when it answered.
    pub(super) status_code: Option<u16>,
    /// Why it failed; `None` when delivered.
    pub(super) error: Option<String>,
    pub(super) took: Duration,
}

/// What happens to the delivery after a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    Delivered,
    RetryAfter(Duration),
    Failed,
}

/// The checkpoint, created at the start of the stream if the dispatcher never ran here.
pub(super) async fn checkpoint(pool: &PgPool) -> Result<Position, sqlx::Error> {
    CHECKPOINT.load_or_start(pool, Position::START).await
}

/// The checkpoint, if the dispatcher ever ran on this database.
pub(super) async fn position(pool: &PgPool) -> Result<Option<Position>, sqlx::Error> {
    CHECKPOINT.position(pool).await
}

/// Whether any endpoint is registered at all (if not, the stream is only skimmed).
pub(super) async fn any_endpoint(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE deleted_at IS NULL AND active)",
    )
    .fetch_one(pool)
    .await
}

/// Queues the deliveries of `candidates` and moves the checkpoint to `to`, in one transaction.
/// Returns how many deliveries were queued.
pub(super) async fn queue(
    pool: &PgPool,
    candidates: &[Candidate],
    to: Position,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let queued = if candidates.is_empty() {
        0
    } else {
        let column = |f: fn(&Candidate) -> String| candidates.iter().map(f).collect::<Vec<_>>();
        let businesses: Vec<Uuid> = candidates.iter().map(|c| c.business_id).collect();
        let payloads: Vec<Value> = candidates.iter().map(|c| c.payload.clone()).collect();
        let transactions: Vec<i64> = candidates
            .iter()
            .map(|c| c.position.transaction_id)
            .collect();
        let positions: Vec<i64> = candidates
            .iter()
            .map(|c| c.position.global_position)
            .collect();
        sqlx::query(QUEUE)
            .bind(businesses)
            .bind(column(|c| c.kind.as_str().to_owned()))
            .bind(column(|c| c.webhook_id.clone()))
            .bind(payloads)
            .bind(transactions)
            .bind(positions)
            .execute(&mut *tx)
            .await?
            .rows_affected()
    };
    CHECKPOINT.advance(&mut tx, to, queued).await?;
    tx.commit().await?;
    Ok(queued)
}

/// Up to `limit` deliveries that are due, oldest first, leaving out those in `busy`.
pub(super) async fn due(
    pool: &PgPool,
    busy: &[Uuid],
    limit: usize,
) -> Result<Vec<Due>, sqlx::Error> {
    let rows = sqlx::query(DUE)
        .bind(busy)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let attempts: i32 = row.try_get("attempts")?;
            Ok(Due {
                id: row.try_get("id")?,
                endpoint_id: row.try_get("endpoint_id")?,
                webhook_id: row.try_get("webhook_id")?,
                payload: row.try_get("payload")?,
                attempts: u32::try_from(attempts).unwrap_or_default(),
                series: row.try_get("series")?,
                url: row.try_get("url")?,
                secret_key_id: row.try_get("secret_key_id")?,
                secret_ciphertext: row.try_get("secret_ciphertext")?,
            })
        })
        .collect()
}

/// Logs a try of `due` and moves the delivery on as `next` says, in one transaction.
pub(super) async fn record(
    pool: &PgPool,
    due: &Due,
    tried: &Tried,
    next: Next,
) -> Result<(), sqlx::Error> {
    let attempts = i32::try_from(due.attempts.saturating_add(1)).unwrap_or(i32::MAX);
    let status_code = tried.status_code.map(i32::from);
    let mut tx = pool.begin().await?;
    sqlx::query(LOG)
        .bind(due.id)
        .bind(due.series)
        .bind(status_code)
        .bind(tried.error.as_deref())
        .bind(i32::try_from(tried.took.as_millis()).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
    let update = match next {
        Next::Delivered => sqlx::query(DELIVERED),
        Next::RetryAfter(_) => sqlx::query(LATER),
        Next::Failed => sqlx::query(FAILED),
    }
    .bind(due.id)
    .bind(due.series)
    .bind(attempts)
    .bind(status_code);
    let update = match next {
        Next::Delivered => update,
        Next::RetryAfter(after) => update
            .bind(tried.error.as_deref())
            .bind(after.as_secs_f64()),
        Next::Failed => update.bind(tried.error.as_deref()),
    };
    update.execute(&mut *tx).await?;
    tx.commit().await
}

/// Puts a delivery that could not be tried (our side failed) off by `after`, uncounted.
pub(super) async fn put_off(pool: &PgPool, id: Uuid, after: Duration) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $2) \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(after.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}

/// How many deliveries wait to be delivered.
pub(super) async fn pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
        .fetch_one(pool)
        .await
}

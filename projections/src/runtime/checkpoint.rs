//! Reading and moving a projection's checkpoint (`projection_checkpoints`).

use infrastructure::event_store::Position;
use serde::Serialize;
use sqlx::{PgConnection, PgPool, Row};

/// A projection's row in `projection_checkpoints`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// The version that built the tables.
    pub version: i32,
    /// The last event applied.
    pub position: Position,
    /// How many events have been applied.
    pub events_applied: i64,
}

/// A projection as `callassist projections status` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectionStatus {
    /// Its name.
    #[schema(value_type = String)]
    pub name: &'static str,
    /// The version in the code.
    pub version: i32,
    /// The version that built its tables, if it ever ran.
    pub built_version: Option<i32>,
    /// Its checkpoint.
    #[schema(value_type = Option<crate::overview::StreamPosition>)]
    pub position: Option<Position>,
    /// Events applied.
    pub events_applied: i64,
    /// Readable events not applied yet.
    pub lag_events: i64,
}

fn from_row(row: &sqlx::postgres::PgRow) -> Result<Checkpoint, sqlx::Error> {
    Ok(Checkpoint {
        version: row.try_get("version")?,
        position: Position {
            transaction_id: row.try_get("transaction_id")?,
            global_position: row.try_get("global_position")?,
        },
        events_applied: row.try_get("events_applied")?,
    })
}

const SELECT: &str =
    "SELECT version, transaction_id, global_position, events_applied FROM projection_checkpoints WHERE name = $1";

/// The checkpoint of `name`, if it has one.
pub async fn load(pool: &PgPool, name: &str) -> Result<Option<Checkpoint>, sqlx::Error> {
    let row = sqlx::query(SELECT).bind(name).fetch_optional(pool).await?;
    row.as_ref().map(from_row).transpose()
}

/// The checkpoint of `name`, locked until the transaction ends.
pub async fn lock(tx: &mut PgConnection, name: &str) -> Result<Option<Checkpoint>, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT} FOR UPDATE"))
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Creates the checkpoint of a projection that never ran, at the start of the stream.
pub async fn create_if_missing(pool: &PgPool, name: &str, version: i32) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO projection_checkpoints (name, version) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(version)
        .execute(pool)
        .await?;
    Ok(())
}

/// Moves the checkpoint after `applied` more events (in the batch's transaction).
pub async fn advance(
    tx: &mut PgConnection,
    name: &str,
    to: Position,
    applied: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE projection_checkpoints SET transaction_id = $2, global_position = $3, \
         events_applied = events_applied + $4, updated_at = now() WHERE name = $1",
    )
    .bind(name)
    .bind(to.transaction_id)
    .bind(to.global_position)
    .bind(applied)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Sets the checkpoint after a rebuild (in the swap's transaction).
pub async fn reset(
    tx: &mut PgConnection,
    name: &str,
    version: i32,
    to: Position,
    applied: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (name, version, transaction_id, global_position, events_applied) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (name) DO UPDATE SET version = $2, transaction_id = $3, global_position = $4, \
         events_applied = $5, updated_at = now()",
    )
    .bind(name)
    .bind(version)
    .bind(to.transaction_id)
    .bind(to.global_position)
    .bind(applied)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// How many readable events lie after `position`.
pub async fn lag(pool: &PgPool, position: Position) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE (transaction_id, global_position) > ($1::bigint::text::xid8, $2) \
         AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
    )
    .bind(position.transaction_id)
    .bind(position.global_position)
    .fetch_one(pool)
    .await
}

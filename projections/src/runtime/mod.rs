//! The projector runtime: runs each projection over the global event stream.
//!
//! A projection applies a batch of events and moves its checkpoint in **one transaction**, so a
//! crash never applies an event twice nor skips one; the checkpoint row is locked and compared
//! with the position the batch was read from, so two runners (or a runner and a rebuild) can
//! never both apply the same batch. One runner per projection across all processes holds a
//! PostgreSQL advisory lock; the others wait as standbys. A runner wakes on this node's appends,
//! other nodes' coalesced `NOTIFY`, and a poll; it rides out a database restart by retrying
//! with backoff.

mod checkpoint;
mod rebuild;
mod runner;

use async_trait::async_trait;
use infrastructure::event_store::RecordedEvent;
use sqlx::PgConnection;

pub use checkpoint::{Checkpoint, ProjectionStatus};
pub use rebuild::{rebuild, rebuild_opened, RebuildError, RebuildProgress, RebuildReport};
pub use runner::{run_all, RunError, Runner};

/// A read model built from the global event stream.
///
/// Its tables live in the schema `rm_<name>` (created by its migration) and are reached by
/// unqualified names: the runtime sets `search_path` to the schema being built (then `public`,
/// for the event store and checkpoints), so the same
/// code fills the live tables and, during a rebuild, a fresh copy of them.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Stable name: the checkpoint's key and the schema `rm_<name>` of its tables.
    fn name(&self) -> &'static str;
    /// Bump when what it computes changes: a projection whose version changed is rebuilt at start.
    fn version(&self) -> i32;
    /// Applies a batch of events, in stream order, inside the runtime's transaction.
    /// Must be deterministic: a rebuild replays every event through it.
    async fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError>;
}

/// A projection could not apply a batch.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The database failed.
    #[error("database error while projecting")]
    Database(#[from] sqlx::Error),
    /// A row of the projection's own tables could not be read back.
    #[error("{table} row {key} could not be read: {reason}")]
    BadRow {
        /// The table.
        table: &'static str,
        /// The row's key.
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// A stored event could not be read as the projection expects.
    #[error("event {position} ({event_type}) could not be read: {reason}")]
    BadEvent {
        /// Its global position.
        position: i64,
        /// Its type.
        event_type: String,
        /// What was wrong.
        reason: String,
    },
}

impl ProjectionError {
    /// For an event whose payload did not deserialise.
    pub fn bad_event(event: &RecordedEvent, reason: impl ToString) -> Self {
        Self::BadEvent {
            position: event.position.global_position,
            event_type: event.event_type.clone(),
            reason: reason.to_string(),
        }
    }
}

/// The schema holding a projection's live tables.
pub fn schema_of(name: &str) -> String {
    format!("rm_{name}")
}

/// How many events a batch holds at most.
pub const BATCH_SIZE: i64 = 1_000;

/// The status of each projection: its checkpoint against the head of the stream.
pub async fn status(
    pool: &sqlx::PgPool,
    projections: &[std::sync::Arc<dyn Projection>],
) -> Result<Vec<ProjectionStatus>, sqlx::Error> {
    let mut statuses = Vec::with_capacity(projections.len());
    for projection in projections {
        let found = checkpoint::load(pool, projection.name()).await?;
        let position = found.map(|c| c.position);
        statuses.push(ProjectionStatus {
            name: projection.name(),
            version: projection.version(),
            built_version: found.map(|c| c.version),
            position,
            events_applied: found.map_or(0, |c| c.events_applied),
            lag_events: checkpoint::lag(
                pool,
                position.unwrap_or(infrastructure::event_store::Position::START),
            )
            .await?,
        });
    }
    Ok(statuses)
}

//! Where a follower of the global stream keeps its place: one row per reader (`name`,
//! `transaction_id`, `global_position`, `updated_at`) in a table of its own.
//!
//! The summariser, the outbound webhooks' dispatcher and the owner notifier each queue jobs from
//! the stream and move their checkpoint in the same transaction; this is the one place that
//! reads, creates and moves such a row. (The relay and the projections keep more per row and
//! have their own.)

use sqlx::{PgConnection, PgPool};

use crate::event_store::Position;

/// One reader's row in `table`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReaderCheckpoint {
    table: &'static str,
    name: &'static str,
    /// Whether the table has a `queued` column counting the jobs the reader queued.
    counts_queued: bool,
}

impl ReaderCheckpoint {
    /// The row `name` of `table`, which has a `queued` column when `counts_queued`.
    pub(crate) const fn new(table: &'static str, name: &'static str, counts_queued: bool) -> Self {
        Self {
            table,
            name,
            counts_queued,
        }
    }

    /// The checkpoint, created at `start` if the reader never ran on this database.
    pub(crate) async fn load_or_start(
        &self,
        pool: &PgPool,
        start: Position,
    ) -> Result<Position, sqlx::Error> {
        let register = format!(
            "INSERT INTO {} (name, transaction_id, global_position) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
            self.table
        );
        sqlx::query(&register)
            .bind(self.name)
            .bind(start.transaction_id)
            .bind(start.global_position)
            .execute(pool)
            .await?;
        Ok(self.position(pool).await?.unwrap_or(start))
    }

    /// The checkpoint, if the reader ever ran on this database.
    pub(crate) async fn position(&self, pool: &PgPool) -> Result<Option<Position>, sqlx::Error> {
        let load = format!(
            "SELECT transaction_id, global_position FROM {} WHERE name = $1",
            self.table
        );
        let row: Option<(i64, i64)> = sqlx::query_as(&load)
            .bind(self.name)
            .fetch_optional(pool)
            .await?;
        Ok(row.map(|(transaction_id, global_position)| Position {
            transaction_id,
            global_position,
        }))
    }

    /// Moves the checkpoint to `to`, adding `queued` to the count where the table keeps one. It
    /// never moves backwards, even if a node that lost the lead saves an older position.
    pub(crate) async fn advance(
        &self,
        conn: &mut PgConnection,
        to: Position,
        queued: u64,
    ) -> Result<(), sqlx::Error> {
        let count = if self.counts_queued {
            "queued = queued + $4, "
        } else {
            ""
        };
        let advance = format!(
            "UPDATE {} SET transaction_id = $2, global_position = $3, {count}updated_at = now() \
             WHERE name = $1 AND (transaction_id, global_position) < ($2, $3)",
            self.table
        );
        let mut query = sqlx::query(&advance)
            .bind(self.name)
            .bind(to.transaction_id)
            .bind(to.global_position);
        if self.counts_queued {
            query = query.bind(i64::try_from(queued).unwrap_or(i64::MAX));
        }
        query.execute(conn).await?;
        Ok(())
    }
}

//! The global stream: every event of every aggregate, in one order that a reader can follow
//! without ever skipping an event.
//!
//! `global_position` is taken when a row is inserted, not when its transaction commits, so
//! position 7 can become visible after 8. Ordering by the writing transaction's id
//! (`transaction_id`, then `global_position`) and reading only rows whose transaction is older
//! than every transaction still running (`pg_snapshot_xmin`) gives an order in which nothing can
//! appear behind a reader later. Per aggregate it is the sequence order: a writer appends only
//! after it has seen the previous event committed, so its transaction id is larger.

use serde_json::Value;
use sqlx::{PgPool, Row};

use crate::privacy::{PersonalData, PrivacyError};

// `ORDER BY events.…`: unqualified, `transaction_id` would name the output column (the bigint
// cast) and PostgreSQL would sort every remaining row instead of walking the index.
const READ_AFTER: &str = "\
SELECT transaction_id::text::bigint AS transaction_id, global_position, aggregate_type, aggregate_id, \
       sequence, event_type, event_version, payload, metadata \
  FROM events \
 WHERE (transaction_id, global_position) > ($1::bigint::text::xid8, $2) \
   AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
 ORDER BY events.transaction_id, events.global_position \
 LIMIT $3";

const HEAD: &str = "\
SELECT transaction_id::text::bigint AS transaction_id, global_position \
  FROM events \
 WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
 ORDER BY events.transaction_id DESC, events.global_position DESC \
 LIMIT 1";

const END: &str = "\
SELECT transaction_id::text::bigint AS transaction_id, global_position \
  FROM events \
 ORDER BY events.transaction_id DESC, events.global_position DESC \
 LIMIT 1";

/// A place in the global stream; readers keep the position of the last event they handled.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Position {
    /// The id of the transaction that wrote the event.
    pub transaction_id: i64,
    /// The event's insertion number.
    pub global_position: i64,
}

impl Position {
    /// Before the first event.
    pub const START: Self = Self {
        transaction_id: 0,
        global_position: 0,
    };
}

/// One stored event, as the global stream delivers it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Where it stands in the global stream.
    pub position: Position,
    /// `Business`, `PhoneNumber`, `Call`.
    pub aggregate_type: String,
    /// The aggregate's id.
    pub aggregate_id: String,
    /// Its number within the aggregate, from 1.
    pub sequence: i64,
    /// The event's persisted name.
    pub event_type: String,
    /// The payload's version.
    pub event_version: String,
    /// The event as stored.
    pub payload: Value,
    /// correlation_id, causation, actor, received_at and extras.
    pub metadata: Value,
}

/// Reads the global stream.
#[derive(Debug, Clone)]
pub struct GlobalStream {
    pool: PgPool,
    privacy: Option<PersonalData>,
}

impl GlobalStream {
    /// A reader over `pool`. Without [`GlobalStream::with_privacy`] it delivers the calls'
    /// personal fields sealed, as stored.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            privacy: None,
        }
    }

    /// Opens the calls' personal fields (`[erased]` where the key is gone) before delivering
    /// them; every reader that shows or keeps them needs this.
    pub fn with_privacy(mut self, privacy: Option<PersonalData>) -> Self {
        self.privacy = privacy;
        self
    }

    /// Up to `limit` events after `after`, in stream order. Events of transactions still in
    /// flight (and of any that started after the oldest one in flight) are held back until
    /// they are final.
    pub async fn read_after(
        &self,
        after: Position,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        let rows = sqlx::query(READ_AFTER)
            .bind(after.transaction_id)
            .bind(after.global_position)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut events = rows
            .iter()
            .map(recorded_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(privacy) = &self.privacy {
            // One query for the keys of the whole batch.
            privacy.open(&mut events).await.map_err(|err| match err {
                PrivacyError::Database(err) => err,
                other => sqlx::Error::Decode(Box::new(other)),
            })?;
        }
        Ok(events)
    }

    /// The position of the last event a reader can see now, if any.
    pub async fn head(&self) -> Result<Option<Position>, sqlx::Error> {
        let row = sqlx::query(HEAD).fetch_optional(&self.pool).await?;
        row.map(|row| position_from_row(&row)).transpose()
    }

    /// The position of the last event committed now, if any: where a reader starts that must
    /// tell of nothing that happened before it started. Unlike [`GlobalStream::head`] it does
    /// not stop short of events committed while an older transaction is still open (any
    /// writing transaction of the database server holds the head back), so none of those is
    /// read as new. Events of transactions still open then are left behind with the past.
    pub async fn end(&self) -> Result<Option<Position>, sqlx::Error> {
        let row = sqlx::query(END).fetch_optional(&self.pool).await?;
        row.map(|row| position_from_row(&row)).transpose()
    }
}

fn position_from_row(row: &sqlx::postgres::PgRow) -> Result<Position, sqlx::Error> {
    Ok(Position {
        transaction_id: row.try_get("transaction_id")?,
        global_position: row.try_get("global_position")?,
    })
}

fn recorded_from_row(row: &sqlx::postgres::PgRow) -> Result<RecordedEvent, sqlx::Error> {
    Ok(RecordedEvent {
        position: position_from_row(row)?,
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
    })
}

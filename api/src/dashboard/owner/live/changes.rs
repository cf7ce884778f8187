//! What changed in the `calls` read model since a stream last looked.
//!
//! The read model has no column to order its rows' changes by, and it needs none: its
//! projection moves a checkpoint (a position in the global event stream) in the same
//! transaction as the rows, so the rows reflect exactly the events up to that checkpoint. The
//! `Call` events between the position a stream has shown and the checkpoint name the calls
//! that changed; a call's first event among them makes it new; a `MessageTaken` among them is a
//! message to announce. Reading them walks the event store's `(transaction_id,
//! global_position)` index over that range only. The range ends where the `businesses` read
//! model stands too (see [`checkpoint`]).

use std::collections::HashSet;

use infrastructure::event_store::{Position, RecordedEvent};
use infrastructure::privacy::PersonalData;
use projections::businesses::BusinessesProjection;
use projections::calls::{CallsProjection, TakenMessage};
use projections::runtime::Projection;
use sqlx::{PgPool, Row};

/// The events of a range, at most this many at a time (a stream far behind catches up in
/// several batches).
pub(super) const BATCH: i64 = 500;

const CHANGES: &str = "\
SELECT transaction_id::text::bigint AS transaction_id, global_position, aggregate_id, sequence, \
       CASE WHEN event_type = 'MessageTaken' THEN payload END AS message \
  FROM events \
 WHERE (transaction_id, global_position) > ($1::bigint::text::xid8, $2) \
   AND (transaction_id, global_position) <= ($3::bigint::text::xid8, $4) \
   AND aggregate_type = 'Call' \
 ORDER BY events.transaction_id, events.global_position \
 LIMIT $5";

/// How far a stream may read: the last event both the `calls` and the `businesses` read models
/// have applied (`None` before both ever ran). The viewer's businesses come from the
/// `businesses` read model, which has its own projector and its own lag: a call of a business
/// registered a moment ago could otherwise be read while its business is not yet known to be
/// the viewer's, be taken for another tenant's, and never be sent. A business is registered
/// before its first call, so up to this position every business of every call read is known.
pub(in crate::dashboard::owner) async fn checkpoint(
    pool: &PgPool,
) -> Result<Option<Position>, sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id, global_position FROM projection_checkpoints WHERE name = ANY($1)",
    )
    .bind([CallsProjection.name(), BusinessesProjection.name()])
    .fetch_all(pool)
    .await?;
    if rows.len() < 2 {
        return Ok(None);
    }
    Ok(rows
        .into_iter()
        .map(|(transaction_id, global_position)| Position {
            transaction_id,
            global_position,
        })
        .min())
}

/// A message taken on a call.
#[derive(Debug, Clone)]
pub(super) struct Message {
    /// The call.
    pub call_sid: String,
    /// The event's sequence within the call (tells two messages of a call apart).
    pub sequence: i64,
    /// What was taken.
    pub taken: TakenMessage,
}

/// The changes of one range of the stream.
#[derive(Debug, Clone, Default)]
pub(super) struct Batch {
    /// Where the range ends: the checkpoint, or the last event read when the batch is full.
    pub reached: Position,
    /// The range had more events than one batch holds: read on from `reached`.
    pub full: bool,
    /// The calls that changed, in the order of their first change in the range.
    pub call_sids: Vec<String>,
    /// Those whose first event is in the range: new calls.
    pub new: HashSet<String>,
    /// The messages taken, in order.
    pub messages: Vec<Message>,
}

/// The `Call` events after `after` up to `upto` (at most [`BATCH`]).
pub(super) async fn between(
    pool: &PgPool,
    privacy: Option<&PersonalData>,
    after: Position,
    upto: Position,
) -> Result<Batch, sqlx::Error> {
    let rows = sqlx::query(CHANGES)
        .bind(after.transaction_id)
        .bind(after.global_position)
        .bind(upto.transaction_id)
        .bind(upto.global_position)
        .bind(BATCH)
        .fetch_all(pool)
        .await?;
    let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= BATCH;
    let mut batch = Batch {
        reached: upto,
        full,
        ..Batch::default()
    };
    let mut seen = HashSet::new();
    for row in &rows {
        let call_sid: String = row.try_get("aggregate_id")?;
        let sequence: i64 = row.try_get("sequence")?;
        batch.reached = Position {
            transaction_id: row.try_get("transaction_id")?,
            global_position: row.try_get("global_position")?,
        };
        if sequence == 1 {
            batch.new.insert(call_sid.clone());
        }
        let message: Option<serde_json::Value> = row.try_get("message")?;
        if let Some(payload) = message {
            let message =
                opened_message(privacy, &call_sid, sequence, batch.reached, payload).await;
            match serde_json::from_value::<TakenMessage>(message) {
                Ok(taken) => batch.messages.push(Message {
                    call_sid: call_sid.clone(),
                    sequence,
                    taken,
                }),
                Err(err) => {
                    tracing::warn!(%call_sid, sequence, error = %err, "a MessageTaken event could not be read")
                }
            }
        }
        if seen.insert(call_sid.clone()) {
            batch.call_sids.push(call_sid);
        }
    }
    if !full {
        batch.reached = upto;
    }
    Ok(batch)
}

/// A `MessageTaken` payload with its personal fields opened (the caller's name and words are
/// sealed in the event store; erased ones read `[erased]`); its fields, untagged.
async fn opened_message(
    privacy: Option<&PersonalData>,
    call_sid: &str,
    sequence: i64,
    position: Position,
    payload: serde_json::Value,
) -> serde_json::Value {
    let mut event = [RecordedEvent {
        position,
        aggregate_type: "Call".to_owned(),
        aggregate_id: call_sid.to_owned(),
        sequence,
        event_type: "MessageTaken".to_owned(),
        event_version: "1.0".to_owned(),
        payload,
        metadata: serde_json::Value::Object(serde_json::Map::new()),
    }];
    if let Some(privacy) = privacy {
        if let Err(err) = privacy.open(&mut event).await {
            tracing::warn!(%call_sid, sequence, error = %err, "a message taken could not be opened");
        }
    }
    let [event] = event;
    event
        .payload
        .get("MessageTaken")
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

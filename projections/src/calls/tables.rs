//! Reading and writing the `calls` tables in bulk: one query loads the rows a batch touches;
//! one `UNNEST` statement per table writes what the batch changed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::call::Speaker;
use infrastructure::event_store::RecordedEvent;
use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::projection::CallState;
use super::queries::call_from_row;
use super::{CallRoute, CallStatus, HandledBy};
use crate::decode;
use crate::runtime::ProjectionError;

fn speaker(speaker: Speaker) -> &'static str {
    match speaker {
        Speaker::Caller => "caller",
        Speaker::Agent => "agent",
    }
}

const COLUMNS: &str = "call_sid, business_id, phone_number, caller, route, handled_by, status, reject_reason, \
     owner_outcome, started_at, ended_at, duration_secs, summary, message, messages_taken, voicemail_url, \
     voicemail_duration_secs, recording_sid, recording_url, recording_duration_secs, cost_amount, cost_currency, \
     voicemail_transcript, last_sequence";

fn from_row(row: &PgRow) -> Result<CallState, sqlx::Error> {
    Ok(CallState {
        row: call_from_row(row)?,
        message: row.try_get("message")?,
        voicemail_transcript: row.try_get("voicemail_transcript")?,
        last_sequence: row.try_get("last_sequence")?,
        changed: false,
    })
}

/// The rows of `sids`, in one query.
pub(super) async fn load(
    tx: &mut PgConnection,
    sids: &[&str],
) -> Result<HashMap<String, CallState>, ProjectionError> {
    let columns = COLUMNS.replace("cost_amount,", "cost_amount::text AS cost_amount,");
    let rows = sqlx::query(&format!(
        "SELECT {columns} FROM calls WHERE call_sid = ANY($1)"
    ))
    .bind(sids)
    .fetch_all(&mut *tx)
    .await?;
    let mut calls = HashMap::with_capacity(sids.len());
    for row in &rows {
        let call = from_row(row)?;
        calls.insert(call.call_sid.clone(), call);
    }
    Ok(calls)
}

/// Writes the changed rows in one statement.
pub(super) async fn upsert<'a>(
    tx: &mut PgConnection,
    calls: impl Iterator<Item = &'a CallState>,
) -> Result<(), sqlx::Error> {
    let calls: Vec<&CallState> = calls.collect();
    if calls.is_empty() {
        return Ok(());
    }
    macro_rules! column {
        ($field:ident) => {
            calls.iter().map(|c| c.$field.clone()).collect::<Vec<_>>()
        };
        ($field:ident, $map:expr) => {
            calls.iter().map(|c| $map(&c.$field)).collect::<Vec<_>>()
        };
    }
    sqlx::query(&format!(
        "INSERT INTO calls ({COLUMNS}) \
         SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
           $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::int4[], $13::text[], $14::jsonb[], \
           $15::int4[], $16::text[], $17::int4[], $18::text[], $19::text[], $20::int4[], $21::text[]::numeric[], \
           $22::text[], $23::text[], $24::int8[]) \
         ON CONFLICT (call_sid) DO UPDATE SET business_id = EXCLUDED.business_id, phone_number = EXCLUDED.phone_number, \
           caller = EXCLUDED.caller, route = EXCLUDED.route, handled_by = EXCLUDED.handled_by, \
           status = EXCLUDED.status, reject_reason = EXCLUDED.reject_reason, owner_outcome = EXCLUDED.owner_outcome, \
           started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, duration_secs = EXCLUDED.duration_secs, \
           summary = EXCLUDED.summary, message = EXCLUDED.message, messages_taken = EXCLUDED.messages_taken, \
           voicemail_url = EXCLUDED.voicemail_url, voicemail_duration_secs = EXCLUDED.voicemail_duration_secs, \
           recording_sid = EXCLUDED.recording_sid, recording_url = EXCLUDED.recording_url, \
           recording_duration_secs = EXCLUDED.recording_duration_secs, cost_amount = EXCLUDED.cost_amount, \
           cost_currency = EXCLUDED.cost_currency, voicemail_transcript = EXCLUDED.voicemail_transcript, \
           last_sequence = EXCLUDED.last_sequence"
    ))
    .bind(column!(call_sid))
    .bind(column!(business_id))
    .bind(column!(phone_number))
    .bind(column!(caller))
    .bind(column!(route, |r: &Option<CallRoute>| r.map(CallRoute::as_str)))
    .bind(column!(handled_by, |h: &Option<HandledBy>| h.map(HandledBy::as_str)))
    .bind(column!(status, |s: &CallStatus| s.as_str()))
    .bind(column!(reject_reason))
    .bind(column!(owner_outcome))
    .bind(column!(started_at))
    .bind(column!(ended_at))
    .bind(column!(duration_secs))
    .bind(column!(summary))
    .bind(column!(message))
    .bind(column!(messages_taken))
    .bind(column!(voicemail_url))
    .bind(column!(voicemail_duration_secs))
    .bind(column!(recording_sid))
    .bind(column!(recording_url))
    .bind(column!(recording_duration_secs))
    .bind(column!(cost_amount, |a: &Option<Decimal>| a.map(|a| a.to_string())))
    .bind(column!(cost_currency))
    .bind(column!(voicemail_transcript))
    .bind(column!(last_sequence))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The timeline rows of a batch, column by column.
pub(super) struct Timeline {
    call_sids: Vec<String>,
    sequences: Vec<i64>,
    event_types: Vec<String>,
    data: Vec<Value>,
    actors: Vec<Option<String>>,
    occurred_at: Vec<Option<DateTime<Utc>>>,
}

impl Timeline {
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            call_sids: Vec::with_capacity(capacity),
            sequences: Vec::with_capacity(capacity),
            event_types: Vec::with_capacity(capacity),
            data: Vec::with_capacity(capacity),
            actors: Vec::with_capacity(capacity),
            occurred_at: Vec::with_capacity(capacity),
        }
    }

    pub(super) fn push(&mut self, event: &RecordedEvent, at: Option<DateTime<Utc>>) {
        self.call_sids.push(event.aggregate_id.clone());
        self.sequences.push(event.sequence);
        self.event_types.push(event.event_type.clone());
        self.data.push(inner_object(&event.payload));
        self.actors.push(decode::actor(event));
        self.occurred_at.push(at);
    }

    pub(super) async fn insert(self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.call_sids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO call_events (call_sid, sequence, event_type, data, actor, occurred_at) \
             SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[]::json[], $5::text[], $6::timestamptz[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(self.call_sids)
        .bind(self.sequences)
        .bind(self.event_types)
        .bind(
            self.data
                .iter()
                .map(Value::to_string)
                .collect::<Vec<String>>(),
        )
        .bind(self.actors)
        .bind(self.occurred_at)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

/// The event's fields: the value under the payload's one key (`{"CallEnded":{…}}` → `{…}`),
/// or an empty object for a variant without fields.
fn inner_object(payload: &Value) -> Value {
    match payload {
        Value::Object(map) if map.len() == 1 => map
            .values()
            .next()
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default())),
        _ => Value::Object(Default::default()),
    }
}

/// The transcript rows of a batch, column by column.
#[derive(Default)]
pub(super) struct Transcript {
    call_sids: Vec<String>,
    sequences: Vec<i64>,
    speakers: Vec<&'static str>,
    texts: Vec<String>,
    offsets: Vec<i64>,
}

impl Transcript {
    pub(super) fn push(&mut self, event: &RecordedEvent, who: Speaker, text: &str, offset_ms: u64) {
        self.call_sids.push(event.aggregate_id.clone());
        self.sequences.push(event.sequence);
        self.speakers.push(speaker(who));
        self.texts.push(text.to_owned());
        self.offsets
            .push(i64::try_from(offset_ms).unwrap_or(i64::MAX));
    }

    pub(super) async fn insert(self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.call_sids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO transcript_segments (call_sid, sequence, speaker, text, offset_ms) \
             SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::int8[]) \
             ON CONFLICT DO NOTHING",
        )
        .bind(self.call_sids)
        .bind(self.sequences)
        .bind(self.speakers)
        .bind(self.texts)
        .bind(self.offsets)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

//! Queries over `rm_calls`: the calls list (filtered, keyset-paged, newest first), a call's
//! detail and its timeline.
//!
//! Every query takes the businesses the reader may see: `None` for an admin (every call),
//! `Some(ids)` for an owner (only calls of those businesses; an empty list sees nothing).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{CallRoute, CallStatus, HandledBy};

/// The largest page [`list_calls`] returns.
pub const MAX_PAGE: u32 = 200;
/// The page size when the filter asks for none.
const DEFAULT_PAGE: u32 = 50;

/// A call as the list and the detail page show it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CallRow {
    /// Twilio's CallSid.
    pub call_sid: String,
    /// The business the number rang for, when known.
    pub business_id: Option<Uuid>,
    /// The number called (Twilio's `To`).
    pub phone_number: String,
    /// The caller: E.164, `withheld`, or what Twilio sent.
    pub caller: Option<String>,
    /// Where the call was last routed.
    pub route: Option<CallRoute>,
    /// Who dealt with the caller.
    pub handled_by: Option<HandledBy>,
    /// Where the call stands.
    pub status: CallStatus,
    /// Why it was turned away (`unknown_number`, `number_released`, …).
    pub reject_reason: Option<String>,
    /// `answered`, or the miss reason of the latest ring of the owner's phone.
    pub owner_outcome: Option<String>,
    /// When Twilio told us of the call.
    pub started_at: DateTime<Utc>,
    /// When Twilio told us it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Twilio's duration.
    pub duration_secs: Option<i32>,
    /// The post-call summary.
    pub summary: Option<String>,
    /// How many messages the agent took.
    pub messages_taken: i32,
    /// The voicemail's recording URL.
    pub voicemail_url: Option<String>,
    /// The voicemail's length.
    pub voicemail_duration_secs: Option<i32>,
    /// The latest recording's sid.
    pub recording_sid: Option<String>,
    /// The latest recording's URL.
    pub recording_url: Option<String>,
    /// The latest recording's length.
    pub recording_duration_secs: Option<i32>,
    /// Twilio's latest price (negative: a charge), as a decimal string.
    #[schema(example = "-0.0085")]
    pub cost_amount: Option<Decimal>,
    /// Its currency.
    pub cost_currency: Option<String>,
}

/// Where a page of [`list_calls`] ended: pass it as `before` for the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCursor {
    /// The last row's start.
    pub started_at: DateTime<Utc>,
    /// The last row's CallSid (ties on `started_at` are ordered by it, descending).
    pub call_sid: String,
}

/// What [`list_calls`] returns.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct CallPage {
    /// The calls, newest first.
    pub calls: Vec<CallRow>,
    /// The cursor of the next page, when there is one.
    pub next: Option<CallCursor>,
}

/// Which calls to list. `Default` lists every call, 50 at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct CallFilter {
    /// The businesses whose calls to list: `None` for all (admins); an owner passes theirs.
    pub business_ids: Option<Vec<Uuid>>,
    /// Only calls last routed there.
    pub route: Option<CallRoute>,
    /// Only calls handled so.
    pub handled_by: Option<HandledBy>,
    /// Only calls in this status.
    pub status: Option<CallStatus>,
    /// Only calls started at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only calls started before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1 to [`MAX_PAGE`] (larger is capped, 0 means the default of 50).
    pub limit: u32,
    /// Only calls after this cursor in the list's order (the next page).
    pub before: Option<CallCursor>,
}

impl Default for CallFilter {
    fn default() -> Self {
        Self {
            business_ids: None,
            route: None,
            handled_by: None,
            status: None,
            from: None,
            to: None,
            limit: DEFAULT_PAGE,
            before: None,
        }
    }
}

/// A message the agent took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TakenMessage {
    /// The caller's name.
    pub caller_name: Option<String>,
    /// Where to call back, as the caller said it.
    pub callback_number: Option<String>,
    /// The message.
    pub message: String,
    /// `low`, `normal` or `high`.
    pub urgency: String,
}

/// One thing said between the caller and the AI agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, ToSchema)]
pub struct TranscriptLine {
    /// The event's sequence within the call.
    pub sequence: i64,
    /// `caller` or `agent`.
    pub speaker: String,
    /// What was said.
    pub text: String,
    /// Milliseconds since the AI session started.
    pub offset_ms: i64,
}

/// A call with everything the detail page shows.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CallDetail {
    /// The call.
    #[serde(flatten)]
    pub call: CallRow,
    /// The last message taken.
    pub message: Option<TakenMessage>,
    /// The conversation, in the order it was recorded.
    pub transcript: Vec<TranscriptLine>,
    /// What the caller said in the voicemail, as Twilio transcribed it; null while no
    /// transcription arrived and when it failed.
    pub voicemail_transcript: Option<String>,
}

/// One event of a call's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, ToSchema)]
pub struct TimelineEntry {
    /// Its sequence within the call, from 1.
    pub sequence: i64,
    /// The event's persisted name, e.g. `OwnerMissed`.
    pub event_type: String,
    /// The event's fields, as stored (docs/events.md).
    pub data: serde_json::Value,
    /// Who caused it (`twilio`, `voice-bridge`, `user:<uuid>`, …).
    pub actor: Option<String>,
    /// When the command behind it was received.
    pub occurred_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "call_sid, business_id, phone_number, caller, route, handled_by, status, reject_reason, \
     owner_outcome, started_at, ended_at, duration_secs, summary, messages_taken, voicemail_url, \
     voicemail_duration_secs, recording_sid, recording_url, recording_duration_secs, cost_amount::text AS cost_amount, \
     cost_currency";

fn bad_value(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("calls.{column} holds an unknown value {value:?}").into())
}

pub(super) fn call_from_row(row: &PgRow) -> Result<CallRow, sqlx::Error> {
    let route: Option<String> = row.try_get("route")?;
    let handled_by: Option<String> = row.try_get("handled_by")?;
    let status: String = row.try_get("status")?;
    let cost_amount: Option<String> = row.try_get("cost_amount")?;
    Ok(CallRow {
        call_sid: row.try_get("call_sid")?,
        business_id: row.try_get("business_id")?,
        phone_number: row.try_get("phone_number")?,
        caller: row.try_get("caller")?,
        route: route
            .map(|raw| CallRoute::parse(&raw).ok_or_else(|| bad_value("route", &raw)))
            .transpose()?,
        handled_by: handled_by
            .map(|raw| HandledBy::parse(&raw).ok_or_else(|| bad_value("handled_by", &raw)))
            .transpose()?,
        status: CallStatus::parse(&status).ok_or_else(|| bad_value("status", &status))?,
        reject_reason: row.try_get("reject_reason")?,
        owner_outcome: row.try_get("owner_outcome")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        duration_secs: row.try_get("duration_secs")?,
        summary: row.try_get("summary")?,
        messages_taken: row.try_get("messages_taken")?,
        voicemail_url: row.try_get("voicemail_url")?,
        voicemail_duration_secs: row.try_get("voicemail_duration_secs")?,
        recording_sid: row.try_get("recording_sid")?,
        recording_url: row.try_get("recording_url")?,
        recording_duration_secs: row.try_get("recording_duration_secs")?,
        cost_amount: cost_amount
            .map(|raw| raw.parse().map_err(|_| bad_value("cost_amount", &raw)))
            .transpose()?,
        cost_currency: row.try_get("cost_currency")?,
    })
}

/// Calls matching `filter`, newest first (`started_at`, then CallSid, both descending), one page.
///
/// Only the conditions the filter sets are part of the SQL, so each query can use the index
/// made for it. With businesses given, each business' newest calls are read from its own
/// ordered index range (`calls_by_business`, `…_route`, `…_status`) and merged, so a page costs
/// the same whatever a business' history; without, `calls_by_start` gives the order. Paging is
/// by keyset: rows inserted meanwhile never shift a page.
pub async fn list_calls(pool: &PgPool, filter: &CallFilter) -> Result<CallPage, sqlx::Error> {
    let limit = match filter.limit {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    };
    let fetch = i64::from(limit) + 1;
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new("");
    match &filter.business_ids {
        Some(ids) => {
            let mut ids = ids.clone();
            ids.sort_unstable();
            ids.dedup();
            sql.push("SELECT c.* FROM unnest(")
                .push_bind(ids)
                .push(format!(
                    "::uuid[]) AS b(id) CROSS JOIN LATERAL \
                     (SELECT {COLUMNS} FROM rm_calls.calls WHERE business_id = b.id"
                ));
            push_conditions(&mut sql, filter);
            sql.push(" ORDER BY started_at DESC, call_sid DESC LIMIT ")
                .push_bind(fetch)
                .push(") AS c");
        }
        None => {
            sql.push(format!("SELECT {COLUMNS} FROM rm_calls.calls WHERE true"));
            push_conditions(&mut sql, filter);
        }
    }
    sql.push(" ORDER BY started_at DESC, call_sid DESC LIMIT ")
        .push_bind(fetch);
    let rows = sql.build().fetch_all(pool).await?;
    let mut calls = rows
        .iter()
        .map(call_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let more = calls.len() > limit as usize;
    calls.truncate(limit as usize);
    let next = match calls.last() {
        Some(last) if more => Some(CallCursor {
            started_at: last.started_at,
            call_sid: last.call_sid.clone(),
        }),
        _ => None,
    };
    Ok(CallPage { calls, next })
}

/// The filter's conditions other than the businesses, each ` AND …`.
fn push_conditions(sql: &mut QueryBuilder<'_, Postgres>, filter: &CallFilter) {
    if let Some(route) = filter.route {
        sql.push(" AND route = ").push_bind(route.as_str());
    }
    if let Some(handled_by) = filter.handled_by {
        sql.push(" AND handled_by = ")
            .push_bind(handled_by.as_str());
    }
    if let Some(status) = filter.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(from) = filter.from {
        sql.push(" AND started_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        sql.push(" AND started_at < ").push_bind(to);
    }
    if let Some(cursor) = &filter.before {
        sql.push(" AND (started_at, call_sid) < (")
            .push_bind(cursor.started_at)
            .push(", ")
            .push_bind(cursor.call_sid.clone())
            .push(")");
    }
}

/// One call with its last message and its transcript, if it exists and the reader may see it
/// (`business_ids` as in [`CallFilter`]).
pub async fn call_detail(
    pool: &PgPool,
    call_sid: &str,
    business_ids: Option<&[Uuid]>,
) -> Result<Option<CallDetail>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, message, voicemail_transcript FROM rm_calls.calls \
         WHERE call_sid = $1 AND ($2::uuid[] IS NULL OR business_id = ANY($2))"
    ))
    .bind(call_sid)
    .bind(business_ids)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let call = call_from_row(&row)?;
    let message: Option<serde_json::Value> = row.try_get("message")?;
    let voicemail_transcript: Option<String> = row.try_get("voicemail_transcript")?;
    let message = message
        .map(serde_json::from_value::<TakenMessage>)
        .transpose()
        .map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
    let transcript = sqlx::query_as(
        "SELECT sequence, speaker, text, offset_ms FROM rm_calls.transcript_segments \
         WHERE call_sid = $1 ORDER BY sequence",
    )
    .bind(call_sid)
    .fetch_all(pool)
    .await?;
    Ok(Some(CallDetail {
        call,
        message,
        transcript,
        voicemail_transcript,
    }))
}

/// Every event of a call, in order; empty when the call is unknown or the reader may not see it
/// (`business_ids` as in [`CallFilter`]).
pub async fn call_timeline(
    pool: &PgPool,
    call_sid: &str,
    business_ids: Option<&[Uuid]>,
) -> Result<Vec<TimelineEntry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.sequence, e.event_type, e.data, e.actor, e.occurred_at \
         FROM rm_calls.call_events e JOIN rm_calls.calls c USING (call_sid) \
         WHERE e.call_sid = $1 AND ($2::uuid[] IS NULL OR c.business_id = ANY($2)) \
         ORDER BY e.sequence",
    )
    .bind(call_sid)
    .bind(business_ids)
    .fetch_all(pool)
    .await
}

/// The calls among `call_sids` that the reader may see (`business_ids` as in [`CallFilter`]), in
/// no particular order; unknown ones are left out. The dashboard's live updates re-read the
/// calls a batch of events changed with it.
pub async fn calls_by_sid(
    pool: &PgPool,
    call_sids: &[String],
    business_ids: Option<&[Uuid]>,
) -> Result<Vec<CallRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM rm_calls.calls \
         WHERE call_sid = ANY($1) AND ($2::uuid[] IS NULL OR business_id = ANY($2))"
    ))
    .bind(call_sids)
    .bind(business_ids)
    .fetch_all(pool)
    .await?;
    rows.iter().map(call_from_row).collect()
}

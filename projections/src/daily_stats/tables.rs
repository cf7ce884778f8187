//! Reading and writing the `daily_stats` tables in bulk: one query loads the facts of the calls
//! a batch touches; one `UNNEST` statement writes the changed facts, one adds the changes to the
//! days' counters.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::projection::{Counters, Facts, Tracked};
use crate::runtime::ProjectionError;

fn facts_from_row(row: &PgRow) -> Result<Facts, sqlx::Error> {
    let cost: Option<String> = row.try_get("cost_amount")?;
    Ok(Facts {
        business_id: row.try_get("business_id")?,
        day: row.try_get("day")?,
        rejected: row.try_get("rejected")?,
        owner_answered: row.try_get("owner_answered")?,
        voicemail: row.try_get("voicemail")?,
        ai: row.try_get("ai")?,
        ended: row.try_get("ended")?,
        duration_secs: row.try_get("duration_secs")?,
        cost_amount: cost
            .map(|raw| {
                raw.parse().map_err(|_| {
                    sqlx::Error::Decode(format!("call_facts.cost_amount {raw:?}").into())
                })
            })
            .transpose()?,
        cost_currency: row.try_get("cost_currency")?,
        last_sequence: row.try_get("last_sequence")?,
    })
}

/// The facts of `sids` counted so far, in one query.
pub(super) async fn load(
    tx: &mut PgConnection,
    sids: &[&str],
) -> Result<HashMap<String, Tracked>, ProjectionError> {
    if sids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT call_sid, business_id, day, rejected, owner_answered, voicemail, ai, ended, duration_secs, \
         cost_amount::text AS cost_amount, cost_currency, last_sequence FROM call_facts WHERE call_sid = ANY($1)",
    )
    .bind(sids)
    .fetch_all(&mut *tx)
    .await?;
    let mut calls = HashMap::with_capacity(rows.len());
    for row in &rows {
        let sid: String = row.try_get("call_sid")?;
        let facts = facts_from_row(row)?;
        calls.insert(
            sid,
            Tracked {
                before: Some(facts.clone()),
                now: facts,
            },
        );
    }
    Ok(calls)
}

/// Writes the facts of the calls the batch changed, in one statement.
pub(super) async fn save_facts(
    tx: &mut PgConnection,
    calls: &[(&str, &Facts)],
) -> Result<(), sqlx::Error> {
    if calls.is_empty() {
        return Ok(());
    }
    macro_rules! column {
        ($field:ident) => {
            calls
                .iter()
                .map(|(_, f)| f.$field.clone())
                .collect::<Vec<_>>()
        };
    }
    sqlx::query(
        "INSERT INTO call_facts (call_sid, business_id, day, rejected, owner_answered, voicemail, ai, ended, \
           duration_secs, cost_amount, cost_currency, last_sequence) \
         SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::date[], $4::bool[], $5::bool[], $6::bool[], $7::bool[], \
           $8::bool[], $9::int8[], $10::text[]::numeric[], $11::text[], $12::int8[]) \
         ON CONFLICT (call_sid) DO UPDATE SET rejected = EXCLUDED.rejected, owner_answered = EXCLUDED.owner_answered, \
           voicemail = EXCLUDED.voicemail, ai = EXCLUDED.ai, ended = EXCLUDED.ended, \
           duration_secs = EXCLUDED.duration_secs, cost_amount = EXCLUDED.cost_amount, \
           cost_currency = EXCLUDED.cost_currency, last_sequence = EXCLUDED.last_sequence",
    )
    .bind(calls.iter().map(|(sid, _)| *sid).collect::<Vec<&str>>())
    .bind(column!(business_id))
    .bind(column!(day))
    .bind(column!(rejected))
    .bind(column!(owner_answered))
    .bind(column!(voicemail))
    .bind(column!(ai))
    .bind(column!(ended))
    .bind(column!(duration_secs))
    .bind(
        calls
            .iter()
            .map(|(_, f)| f.cost_amount.map(|a| a.to_string()))
            .collect::<Vec<_>>(),
    )
    .bind(column!(cost_currency))
    .bind(column!(last_sequence))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn add_to_stats(
    tx: &mut PgConnection,
    deltas: HashMap<(Uuid, NaiveDate), Counters>,
) -> Result<(), sqlx::Error> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(deltas.len());
    let mut days = Vec::with_capacity(deltas.len());
    let mut columns: [Vec<i64>; 9] = Default::default();
    let mut costs = Vec::with_capacity(deltas.len());
    let mut currencies = Vec::with_capacity(deltas.len());
    for ((id, day), delta) in deltas {
        ids.push(id);
        days.push(day);
        for (column, value) in columns.iter_mut().zip([
            delta.calls,
            delta.answered_by_owner,
            delta.handled_by_ai,
            delta.voicemails,
            delta.missed,
            delta.rejected,
            delta.ended_calls,
            delta.timed_calls,
            delta.total_duration_secs,
        ]) {
            column.push(value);
        }
        costs.push(delta.total_cost.to_string());
        currencies.push(delta.cost_currency);
    }
    let mut query = sqlx::query(
        "INSERT INTO daily_stats AS s (business_id, day, calls, answered_by_owner, handled_by_ai, voicemails, missed, \
           rejected, ended_calls, timed_calls, total_duration_secs, total_cost, cost_currency) \
         SELECT * FROM UNNEST($1::uuid[], $2::date[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], \
           $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::text[]::numeric[], $13::text[]) \
         ON CONFLICT (business_id, day) DO UPDATE SET calls = s.calls + EXCLUDED.calls, \
           answered_by_owner = s.answered_by_owner + EXCLUDED.answered_by_owner, \
           handled_by_ai = s.handled_by_ai + EXCLUDED.handled_by_ai, voicemails = s.voicemails + EXCLUDED.voicemails, \
           missed = s.missed + EXCLUDED.missed, rejected = s.rejected + EXCLUDED.rejected, \
           ended_calls = s.ended_calls + EXCLUDED.ended_calls, timed_calls = s.timed_calls + EXCLUDED.timed_calls, \
           total_duration_secs = s.total_duration_secs + EXCLUDED.total_duration_secs, \
           total_cost = s.total_cost + EXCLUDED.total_cost, \
           cost_currency = COALESCE(EXCLUDED.cost_currency, s.cost_currency)",
    )
    .bind(ids)
    .bind(days);
    for column in columns {
        query = query.bind(column);
    }
    query.bind(costs).bind(currencies).execute(&mut *tx).await?;
    Ok(())
}

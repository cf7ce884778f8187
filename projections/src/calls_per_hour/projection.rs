//! Counts each `CallReceived` with a business (rejected calls included) in the hour of the day
//! it came in (`received_at`), in the timezone the business had then.
//!
//! The runtime applies every event exactly once, in stream order, with the checkpoint in the
//! same transaction, so the counters can simply add what the batch counted.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Timelike;
use domain::call::CallEvent;
use infrastructure::event_store::RecordedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::decode;
use crate::runtime::{Projection, ProjectionError};
use crate::timezones::Timezones;

/// The `calls_per_hour` projection.
pub struct CallsPerHourProjection;

#[async_trait]
impl Projection for CallsPerHourProjection {
    fn name(&self) -> &'static str {
        "calls_per_hour"
    }

    fn version(&self) -> i32 {
        1
    }

    async fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        // 1. Read the calls of the batch: (position in the batch, business, when).
        let mut calls = Vec::new();
        for (index, event) in events.iter().enumerate() {
            if event.aggregate_type != "Call" || event.event_type != "CallReceived" {
                continue;
            }
            if let CallEvent::CallReceived {
                business_id: Some(business),
                ..
            } = decode::call_event(event)?
            {
                let at = decode::received_at(event)
                    .ok_or_else(|| ProjectionError::bad_event(event, "no received_at"))?;
                calls.push((index, business.0, at));
            }
        }

        // 2. Walk the batch in order: timezone changes first, each call in its business'
        //    timezone of that moment.
        let needed = Timezones::needed(events, calls.iter().map(|(_, business, _)| *business));
        if needed.is_empty() {
            return Ok(());
        }
        let mut timezones = Timezones::load(tx, &needed).await?;
        let mut counts: HashMap<(Uuid, i16), i64> = HashMap::new();
        let mut next_call = calls.iter().peekable();
        for (index, event) in events.iter().enumerate() {
            timezones.observe(event)?;
            if let Some((_, business, at)) = next_call.next_if(|(i, _, _)| *i == index) {
                let hour = at.with_timezone(&timezones.of(*business)).hour();
                *counts
                    .entry((*business, i16::try_from(hour).unwrap_or(0)))
                    .or_default() += 1;
            }
        }

        // 3. Write: the timezones seen, then add the counts (one statement each).
        timezones.save(tx).await?;
        let (keys, added): (Vec<(Uuid, i16)>, Vec<i64>) = counts.into_iter().unzip();
        let (businesses, hours): (Vec<Uuid>, Vec<i16>) = keys.into_iter().unzip();
        sqlx::query(
            "INSERT INTO calls_per_hour AS c (business_id, hour, calls) \
             SELECT * FROM UNNEST($1::uuid[], $2::int2[], $3::int8[]) \
             ON CONFLICT (business_id, hour) DO UPDATE SET calls = c.calls + EXCLUDED.calls",
        )
        .bind(businesses)
        .bind(hours)
        .bind(added)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

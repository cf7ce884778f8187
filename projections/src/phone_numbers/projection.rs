//! Folds `PhoneNumber` events into `numbers`: one query loads the touched numbers, the events
//! fold in memory, one `UNNEST` upsert writes them. Events at or below a row's `last_sequence`
//! are skipped.
//!
//! `NumberProvisioned` (also again after a release) makes the number `active` and unassigned;
//! `NumberAssigned` sets the business; `NumberReleased` makes it `released` and unassigned;
//! `NumberSuspended` makes it `suspended` (with the reason); `NumberReactivated` makes it `active`.
//! `provisioned_at` is the `received_at` of the latest `NumberProvisioned`, `updated_at` that of
//! the latest event.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::phone_number::PhoneNumberEvent;
use infrastructure::event_store::RecordedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::decode;
use crate::runtime::{Projection, ProjectionError};

/// The `phone_numbers` projection.
pub struct PhoneNumbersProjection;

/// A row of `numbers`, as loaded and folded.
#[derive(Debug, Clone, sqlx::FromRow)]
struct NumberState {
    number: String,
    twilio_sid: String,
    country: String,
    area_code: Option<String>,
    business_id: Option<Uuid>,
    status: String,
    suspension_reason: Option<String>,
    monthly_cost_amount: String,
    monthly_cost_currency: String,
    provisioned_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    last_sequence: i64,
}

#[async_trait]
impl Projection for PhoneNumbersProjection {
    fn name(&self) -> &'static str {
        "phone_numbers"
    }

    fn version(&self) -> i32 {
        1
    }

    async fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let events: Vec<&RecordedEvent> = events
            .iter()
            .filter(|e| e.aggregate_type == "PhoneNumber")
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let stored: Vec<NumberState> = sqlx::query_as(
            "SELECT number, twilio_sid, country, area_code, business_id, status, suspension_reason, \
             monthly_cost_amount::text AS monthly_cost_amount, monthly_cost_currency, provisioned_at, updated_at, \
             last_sequence FROM numbers WHERE number = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        let mut numbers: HashMap<String, NumberState> = stored
            .into_iter()
            .map(|row| (row.number.clone(), row))
            .collect();
        let mut changed: Vec<String> = Vec::new();
        for event in events {
            let known = numbers.get(&event.aggregate_id);
            if known.is_some_and(|row| event.sequence <= row.last_sequence) {
                continue; // applied already
            }
            let at = decode::received_at(event);
            let row = match (decode::number_event(event)?, known.cloned()) {
                (
                    PhoneNumberEvent::NumberProvisioned {
                        twilio_sid,
                        country,
                        area_code,
                        monthly_cost,
                        ..
                    },
                    _,
                ) => NumberState {
                    number: event.aggregate_id.clone(),
                    twilio_sid,
                    country,
                    area_code,
                    business_id: None,
                    status: "active".to_owned(),
                    suspension_reason: None,
                    monthly_cost_amount: monthly_cost.amount.to_string(),
                    monthly_cost_currency: monthly_cost.currency,
                    provisioned_at: at,
                    updated_at: at,
                    last_sequence: event.sequence,
                },
                (_, None) => {
                    return Err(ProjectionError::bad_event(
                        event,
                        "the first event of a number must be NumberProvisioned",
                    ))
                }
                (other, Some(mut row)) => {
                    match other {
                        PhoneNumberEvent::NumberProvisioned { .. } => {}
                        PhoneNumberEvent::NumberAssigned { business_id, .. } => {
                            row.business_id = Some(business_id.0);
                        }
                        PhoneNumberEvent::NumberReleased => {
                            row.status = "released".to_owned();
                            row.business_id = None;
                        }
                        PhoneNumberEvent::NumberSuspended { reason } => {
                            row.status = "suspended".to_owned();
                            row.suspension_reason = Some(reason);
                        }
                        PhoneNumberEvent::NumberReactivated => {
                            row.status = "active".to_owned();
                            row.suspension_reason = None;
                        }
                    }
                    row.updated_at = at.or(row.updated_at);
                    row.last_sequence = event.sequence;
                    row
                }
            };
            changed.push(event.aggregate_id.clone());
            numbers.insert(event.aggregate_id.clone(), row);
        }
        changed.sort_unstable();
        changed.dedup();
        let rows: Vec<&NumberState> = changed.iter().filter_map(|n| numbers.get(n)).collect();
        upsert(tx, &rows).await?;
        Ok(())
    }
}

async fn upsert(tx: &mut PgConnection, rows: &[&NumberState]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    macro_rules! column {
        ($field:ident) => {
            rows.iter().map(|r| r.$field.clone()).collect::<Vec<_>>()
        };
    }
    sqlx::query(
        "INSERT INTO numbers (number, twilio_sid, country, area_code, business_id, status, suspension_reason, \
           monthly_cost_amount, monthly_cost_currency, provisioned_at, updated_at, last_sequence) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[], \
           $8::text[]::numeric[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::int8[]) \
         ON CONFLICT (number) DO UPDATE SET twilio_sid = EXCLUDED.twilio_sid, country = EXCLUDED.country, \
           area_code = EXCLUDED.area_code, business_id = EXCLUDED.business_id, status = EXCLUDED.status, \
           suspension_reason = EXCLUDED.suspension_reason, monthly_cost_amount = EXCLUDED.monthly_cost_amount, \
           monthly_cost_currency = EXCLUDED.monthly_cost_currency, provisioned_at = EXCLUDED.provisioned_at, \
           updated_at = EXCLUDED.updated_at, last_sequence = EXCLUDED.last_sequence",
    )
    .bind(column!(number))
    .bind(column!(twilio_sid))
    .bind(column!(country))
    .bind(column!(area_code))
    .bind(column!(business_id))
    .bind(column!(status))
    .bind(column!(suspension_reason))
    .bind(column!(monthly_cost_amount))
    .bind(column!(monthly_cost_currency))
    .bind(column!(provisioned_at))
    .bind(column!(updated_at))
    .bind(column!(last_sequence))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

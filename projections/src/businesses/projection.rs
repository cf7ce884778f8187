//! Folds `Business` events into `rm_businesses.businesses`, with the domain's own `apply`.

use std::collections::HashMap;

use async_trait::async_trait;
use cqrs_es::Aggregate;
use domain::business::Business;
use infrastructure::event_store::RecordedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::decode;
use crate::runtime::{Projection, ProjectionError};

/// The `businesses` projection.
pub struct BusinessesProjection;

#[async_trait]
impl Projection for BusinessesProjection {
    fn name(&self) -> &'static str {
        "businesses"
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
            .filter(|e| e.aggregate_type == "Business")
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = events
            .iter()
            .filter_map(|e| Uuid::parse_str(&e.aggregate_id).ok())
            .collect();
        let stored: Vec<(Uuid, serde_json::Value, i64, Option<chrono::DateTime<chrono::Utc>>)> =
            sqlx::query_as("SELECT business_id, state, last_sequence, registered_at FROM businesses WHERE business_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?;
        let mut folded: HashMap<Uuid, Folded> = HashMap::new();
        for (id, state, last_sequence, registered_at) in stored {
            // A state that no longer reads as today's `Business` means the projection's version
            // should have been bumped (and the table rebuilt): stop rather than guess.
            let business =
                serde_json::from_value(state).map_err(|err| ProjectionError::BadRow {
                    table: "businesses",
                    key: id.to_string(),
                    reason: err.to_string(),
                })?;
            folded.insert(
                id,
                Folded {
                    business,
                    last_sequence,
                    registered_at,
                    updated_at: None,
                },
            );
        }
        for event in events {
            let Ok(id) = Uuid::parse_str(&event.aggregate_id) else {
                return Err(ProjectionError::bad_event(
                    event,
                    "business id is not a UUID",
                ));
            };
            let entry = folded.entry(id).or_insert_with(|| Folded {
                business: Business::default(),
                last_sequence: 0,
                registered_at: None,
                updated_at: None,
            });
            if event.sequence <= entry.last_sequence {
                continue; // already applied: replays are harmless
            }
            entry.business.apply(decode::business_event(event)?);
            entry.last_sequence = event.sequence;
            let at = decode::received_at(event);
            entry.registered_at = entry.registered_at.or(at);
            entry.updated_at = at.or(entry.updated_at);
        }
        for (id, row) in folded {
            upsert(tx, id, &row).await?;
        }
        Ok(())
    }
}

struct Folded {
    business: Business,
    last_sequence: i64,
    registered_at: Option<chrono::DateTime<chrono::Utc>>,
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn upsert(tx: &mut PgConnection, id: Uuid, row: &Folded) -> Result<(), sqlx::Error> {
    let b = &row.business;
    let agent = b.agent.as_ref();
    let state = serde_json::to_value(b).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    let hours = serde_json::to_value(&b.hours).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    sqlx::query(
        "INSERT INTO businesses (business_id, name, description, owner_user_id, owner_phone, timezone, hours, \
           owner_available, ring_timeout_secs, agent_model, agent_voice, agent_key_last_four, agent_enabled, active, \
           registered_at, updated_at, last_sequence, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         ON CONFLICT (business_id) DO UPDATE SET name = $2, description = $3, owner_user_id = $4, owner_phone = $5, \
           timezone = $6, hours = $7, owner_available = $8, ring_timeout_secs = $9, agent_model = $10, agent_voice = $11, \
           agent_key_last_four = $12, agent_enabled = $13, active = $14, registered_at = $15, updated_at = $16, \
           last_sequence = $17, state = $18",
    )
    .bind(id)
    .bind(&b.name)
    .bind(&b.description)
    .bind(b.owner_user_id)
    .bind(b.owner_phone.as_ref().map(|p| p.to_string()))
    .bind(b.timezone.name())
    .bind(hours)
    .bind(b.owner_available)
    .bind(i32::try_from(b.ring_timeout.secs()).unwrap_or(i32::MAX))
    .bind(agent.map(|a| a.model.clone()))
    .bind(agent.map(|a| a.voice.clone()))
    .bind(agent.map(|a| a.api_key.last_four.clone()))
    .bind(b.agent_ready())
    .bind(b.active)
    .bind(row.registered_at)
    .bind(row.updated_at)
    .bind(row.last_sequence)
    .bind(state)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

//! Businesses' timezones as the stream tells them, for read models that count calls by local
//! time (`daily_stats`, `calls_per_hour`).
//!
//! Each such projection keeps its own `business_timezones (business_id uuid PRIMARY KEY,
//! timezone text NOT NULL)` in its schema, so it can be rebuilt on its own. It follows
//! `BusinessRegistered` (version 1.0 payloads are read as UTC, through the upcaster) and
//! `TimezoneChanged` in stream order, so a call is placed in the timezone its business had when
//! the call came in. A business this projection has not seen counts in UTC.

use std::collections::{HashMap, HashSet};

use chrono_tz::Tz;
use domain::business::BusinessEvent;
use infrastructure::event_store::RecordedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::decode;
use crate::runtime::ProjectionError;

/// The timezones a batch needs, and those it changed.
#[derive(Debug, Default)]
pub struct Timezones {
    known: HashMap<Uuid, Tz>,
    changed: HashSet<Uuid>,
}

impl Timezones {
    /// Loads the stored timezones of `businesses` (one query on `business_timezones`).
    pub async fn load(tx: &mut PgConnection, businesses: &[Uuid]) -> Result<Self, ProjectionError> {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT business_id, timezone FROM business_timezones WHERE business_id = ANY($1)",
        )
        .bind(businesses)
        .fetch_all(&mut *tx)
        .await?;
        let known = rows
            .into_iter()
            .map(|(id, name)| (id, name.parse().unwrap_or(Tz::UTC)))
            .collect();
        Ok(Self {
            known,
            changed: HashSet::new(),
        })
    }

    /// The businesses whose timezone `events` may set or read: the ids of `Business` events
    /// that set a timezone, plus `calls` (the businesses of the batch's calls).
    pub fn needed(events: &[RecordedEvent], calls: impl IntoIterator<Item = Uuid>) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = events
            .iter()
            .filter(|event| sets_timezone(event))
            .filter_map(|event| Uuid::parse_str(&event.aggregate_id).ok())
            .chain(calls)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Takes in `event` if it sets a business' timezone; other events are ignored.
    pub fn observe(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if !sets_timezone(event) {
            return Ok(());
        }
        let timezone = match decode::business_event(event)? {
            BusinessEvent::BusinessRegistered { timezone, .. }
            | BusinessEvent::TimezoneChanged { timezone } => timezone,
            _ => return Ok(()),
        };
        let id = Uuid::parse_str(&event.aggregate_id)
            .map_err(|err| ProjectionError::bad_event(event, err))?;
        self.known.insert(id, timezone);
        self.changed.insert(id);
        Ok(())
    }

    /// The timezone of `business` now (UTC when unknown).
    pub fn of(&self, business: Uuid) -> Tz {
        self.known.get(&business).copied().unwrap_or(Tz::UTC)
    }

    /// Writes the timezones this batch changed (one statement).
    pub async fn save(&self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.changed.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = self.changed.iter().copied().collect();
        let names: Vec<&str> = ids.iter().map(|id| self.of(*id).name()).collect();
        sqlx::query(
            "INSERT INTO business_timezones (business_id, timezone) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[]) \
             ON CONFLICT (business_id) DO UPDATE SET timezone = EXCLUDED.timezone",
        )
        .bind(ids)
        .bind(names)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

fn sets_timezone(event: &RecordedEvent) -> bool {
    event.aggregate_type == "Business"
        && matches!(
            event.event_type.as_str(),
            "BusinessRegistered" | "TimezoneChanged"
        )
}

//! Audit: the full history of one aggregate, replayed from the event store, with the state after
//! each event.
//!
//! An auditor must see what was stored, not what a projection made of it, so the history is read
//! from the `events` table (never from a read model, never from a node's in-memory cache): every
//! event of the aggregate in sequence order, upcast as the write side upcasts it, and folded into
//! `A::default()` with the aggregate's own `apply`. The CLI (`callassist audit call SID`) and the
//! REST API (`GET /api/v1/calls/{sid}/history`) show the same [`History`].
//!
//! The events are deserialised one by one rather than all at once so that a stored event that no
//! longer reads as today's event type is reported with its sequence number. Metadata is taken as
//! it comes: a missing or malformed `received_at`, `actor`, … is shown as absent, never an error,
//! because an audit that refuses to show a history over one odd field is no audit.

use chrono::{DateTime, SecondsFormat, Utc};
use cqrs_es::persist::{
    EventUpcaster, PersistedEventRepository, PersistenceError, SerializedEvent,
};
use cqrs_es::{Aggregate, DomainEvent};
use domain::call::Call;
use domain::values::CallSid;
use postgres_es::PostgresEventRepository;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;

use crate::privacy::{PersonalData, PrivacyError};

/// The most characters of one line of [`render_text`] (payload or state); longer ones end in `…`.
const LINE_MAX: usize = 300;

/// Every event of one aggregate, in order, with the state after each.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct History {
    /// The aggregate's type, e.g. `Call`.
    #[schema(value_type = String, example = "Call")]
    pub aggregate_type: &'static str,
    /// Its id, e.g. the CallSid.
    pub aggregate_id: String,
    /// One entry per stored event, by sequence.
    pub entries: Vec<HistoryEntry>,
}

/// One stored event and the aggregate's state after it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// 1, 2, 3, … within the aggregate.
    #[schema(value_type = i64, minimum = 1)]
    pub sequence: usize,
    /// The event's persisted name, e.g. `CallEnded`.
    pub event_type: String,
    /// The version the event was read as, after upcasting (today's version of its type).
    pub event_version: String,
    /// The version it is stored with; differs from `event_version` when it was upcast.
    pub stored_version: String,
    /// When the command that caused it was received (metadata `received_at`); `null` when
    /// missing or not RFC 3339.
    pub received_at: Option<DateTime<Utc>>,
    /// Who caused it (metadata `actor`), e.g. `twilio`.
    pub actor: Option<String>,
    /// What caused it (metadata `causation`), e.g. `webhook:/twilio/voice/incoming`.
    pub causation: Option<String>,
    /// The flow it belongs to (metadata `correlation_id`).
    pub correlation_id: Option<String>,
    /// The payload as stored, after upcasting, e.g. `{"CallEnded":{"status":"completed",…}}`
    /// (a bare string for an event without fields).
    pub event: Value,
    /// The aggregate's state after this event, as the aggregate serialises itself.
    pub state_after: Value,
}

/// A history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The database failed or could not be reached.
    #[error(
        "cannot read the events of {aggregate_type} {aggregate_id}: the event store is unavailable"
    )]
    Unavailable {
        /// The aggregate's type.
        aggregate_type: &'static str,
        /// Its id.
        aggregate_id: String,
        /// Why.
        #[source]
        source: PersistenceError,
    },
    /// A stored event does not read as today's event, even after upcasting.
    #[error("event #{sequence} of {aggregate_type} {aggregate_id} ({event_type}, stored v{stored_version}) is corrupt: it does not read as a {aggregate_type} event")]
    Corrupt {
        /// The aggregate's type.
        aggregate_type: &'static str,
        /// Its id.
        aggregate_id: String,
        /// The sequence number of the unreadable event.
        sequence: usize,
        /// Its stored type.
        event_type: String,
        /// The version it is stored with.
        stored_version: String,
        /// What did not fit.
        #[source]
        source: serde_json::Error,
    },
    /// A sealed personal field does not open, or the keys cannot be read.
    #[error("the personal data of {aggregate_type} {aggregate_id} cannot be opened")]
    Sealed {
        /// The aggregate's type.
        aggregate_type: &'static str,
        /// Its id.
        aggregate_id: String,
        /// Why.
        #[source]
        source: PrivacyError,
    },
    /// The state after an event does not serialise to JSON (a bug in the aggregate).
    #[error("the state of {aggregate_type} {aggregate_id} after event #{sequence} cannot be shown as JSON")]
    State {
        /// The aggregate's type.
        aggregate_type: &'static str,
        /// Its id.
        aggregate_id: String,
        /// The sequence number of the event.
        sequence: usize,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// Replays aggregate `id` of type `A` from the event store: every stored event, upcast through
/// `upcasters` (pass the same ones the write side's store uses, e.g.
/// `domain::business::upcasters()`), applied in order to `A::default()`.
///
/// # Returns
/// `None` when the aggregate has no events.
///
/// # Errors
/// [`AuditError::Unavailable`] when the database fails, [`AuditError::Corrupt`] naming the first
/// stored event that does not deserialise, [`AuditError::State`] when a state does not serialise.
pub async fn history<A: Aggregate>(
    pool: &PgPool,
    upcasters: &[Box<dyn EventUpcaster>],
    id: &str,
) -> Result<Option<History>, AuditError> {
    opened_history::<A>(pool, None, upcasters, id).await
}

/// As [`history`], with the personal fields opened by `privacy` (`[erased]` where the key is
/// gone); without it they show sealed, as stored.
///
/// # Errors
/// As [`history`]; a sealed value that does not open is [`AuditError::Sealed`].
#[tracing::instrument(skip_all, fields(aggregate = A::TYPE, id = %id), err(level = "debug"))]
pub async fn opened_history<A: Aggregate>(
    pool: &PgPool,
    privacy: Option<&PersonalData>,
    upcasters: &[Box<dyn EventUpcaster>],
    id: &str,
) -> Result<Option<History>, AuditError> {
    // The same query the write side's `load_events` runs: all events of (type, id) by sequence.
    let mut stored = PostgresEventRepository::new(pool.clone())
        .get_events::<A>(id)
        .await
        .map_err(|source| AuditError::Unavailable {
            aggregate_type: A::TYPE,
            aggregate_id: id.to_owned(),
            source,
        })?;
    if let Some(privacy) = privacy {
        privacy
            .open(&mut stored)
            .await
            .map_err(|source| AuditError::Sealed {
                aggregate_type: A::TYPE,
                aggregate_id: id.to_owned(),
                source,
            })?;
    }
    if stored.is_empty() {
        return Ok(None);
    }
    let mut state = A::default();
    let mut entries = Vec::with_capacity(stored.len());
    for event in stored {
        let stored_version = event.event_version.clone();
        let event = upcast(event, upcasters);
        let sequence = event.sequence;
        let payload: A::Event =
            serde_json::from_value(event.payload.clone()).map_err(|source| {
                AuditError::Corrupt {
                    aggregate_type: A::TYPE,
                    aggregate_id: id.to_owned(),
                    sequence,
                    event_type: event.event_type.clone(),
                    stored_version: stored_version.clone(),
                    source,
                }
            })?;
        // The version today's event type gives itself: upcasters write theirs as `2.0.0`.
        let event_version = payload.event_version();
        state.apply(payload);
        let state_after = serde_json::to_value(&state).map_err(|source| AuditError::State {
            aggregate_type: A::TYPE,
            aggregate_id: id.to_owned(),
            sequence,
            source,
        })?;
        let text = |key: &str| event.metadata.get(key).and_then(Value::as_str);
        entries.push(HistoryEntry {
            sequence,
            event_type: event.event_type.clone(),
            event_version,
            stored_version,
            received_at: text("received_at")
                .and_then(|raw| DateTime::parse_from_rfc3339(raw).ok())
                .map(|at| at.with_timezone(&Utc)),
            actor: text("actor").map(str::to_owned),
            causation: text("causation").map(str::to_owned),
            correlation_id: text("correlation_id").map(str::to_owned),
            event: event.payload,
            state_after,
        });
    }
    Ok(Some(History {
        aggregate_type: A::TYPE,
        aggregate_id: id.to_owned(),
        entries,
    }))
}

/// The history of one call (see [`history`]), its personal fields opened by `privacy`: an
/// erased caller's show as `[erased]`. Calls have no upcasters yet; when they get some, they go
/// here as well as into the write side's store.
///
/// # Errors
/// As [`opened_history`].
pub async fn call_history(
    pool: &PgPool,
    privacy: Option<&PersonalData>,
    call_sid: &CallSid,
) -> Result<Option<History>, AuditError> {
    opened_history::<Call>(pool, privacy, &[], call_sid.as_ref()).await
}

/// The upcasting fold of cqrs-es' stores, so the audit reads old versions exactly as they do.
fn upcast(event: SerializedEvent, upcasters: &[Box<dyn EventUpcaster>]) -> SerializedEvent {
    upcasters.iter().fold(event, |event, upcaster| {
        if upcaster.can_upcast(&event.event_type, &event.event_version) {
            upcaster.upcast(event)
        } else {
            event
        }
    })
}

/// The history as text, one block per event:
///
/// ```text
/// #2  2026-03-08T12:00:00.000000Z  CallRoutedToOwner v1.0  by twilio  (webhook:/twilio/voice/incoming)
///   {"owner_phone":"+14155550123","ring_timeout":20}
///   state: leg=ringing_owner route=owner(+14155550123, 20) owner_outcome=- ai_session=not_started end=-
/// ```
///
/// Absent metadata shows as `-`; a payload or state longer than about 300 characters is cut
/// with `…`. A call's state is summarised; other aggregates show their state as compact JSON.
pub fn render_text(history: &History) -> String {
    let mut out = format!(
        "{} {}: {} event{}\n",
        history.aggregate_type,
        printable(&history.aggregate_id),
        history.entries.len(),
        if history.entries.len() == 1 { "" } else { "s" },
    );
    for entry in &history.entries {
        let at = entry.received_at.map_or_else(
            || "-".to_owned(),
            |at| at.to_rfc3339_opts(SecondsFormat::Micros, true),
        );
        let version = if entry.stored_version == entry.event_version {
            format!("v{}", entry.event_version)
        } else {
            format!(
                "v{} (stored v{})",
                entry.event_version, entry.stored_version
            )
        };
        let state = if history.aggregate_type == <Call as Aggregate>::TYPE {
            call_summary(&entry.state_after)
        } else {
            entry.state_after.to_string()
        };
        out.push_str(&format!(
            "\n#{}  {at}  {} {version}  by {}  ({})\n  {}\n  state: {}\n",
            entry.sequence,
            printable(&entry.event_type),
            entry.actor.as_deref().map_or_else(|| "-".into(), printable),
            entry
                .causation
                .as_deref()
                .map_or_else(|| "-".into(), printable),
            truncate(fields(&entry.event).to_string(), LINE_MAX),
            truncate(state, LINE_MAX),
        ));
    }
    out
}

/// The payload's fields: the inner object of `{"Variant":{…}}`, `{}` for a bare `"Variant"`.
fn fields(payload: &Value) -> Value {
    match payload {
        Value::Object(map) if map.len() == 1 => map.values().next().cloned().unwrap_or_default(),
        Value::String(_) => Value::Object(serde_json::Map::new()),
        other => other.clone(),
    }
}

/// Where a call is: its leg, route, the owner's outcome, the AI session and how it ended.
fn call_summary(state: &Value) -> String {
    let route = match state.get("route") {
        Some(Value::Object(route)) => {
            let to = route.get("to").map_or_else(|| "?".to_owned(), short);
            let rest: Vec<String> = route
                .iter()
                .filter(|(key, _)| key.as_str() != "to")
                .map(|(_, value)| short(value))
                .collect();
            format!("{to}({})", rest.join(", "))
        }
        other => other.map_or_else(|| "-".to_owned(), short),
    };
    let end = state.get("end").map_or(Value::Null, |end| {
        end.get("status").cloned().unwrap_or(Value::Null)
    });
    let field = |key: &str| state.get(key).map_or_else(|| "-".to_owned(), short);
    format!(
        "leg={} route={route} owner_outcome={} ai_session={} end={}",
        field("leg"),
        field("owner_outcome"),
        field("ai_session"),
        short(&end),
    )
}

/// A value in few characters: `-` for null, strings bare, `{"k":v}` as `k(v)`, else JSON.
fn short(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => printable(text),
        Value::Object(map) if map.len() == 1 => map
            .iter()
            .map(|(key, inner)| format!("{}({})", printable(key), short(inner)))
            .collect(),
        other => other.to_string(),
    }
}

/// Control characters (a newline in stored metadata, an escape sequence) would break the
/// one-line layout or the terminal; they are shown escaped.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// At most `max` characters (not bytes: payloads hold any language), ending in `…` when cut.
fn truncate(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

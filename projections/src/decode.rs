//! Reading stored events as today's domain events, through the same upcasters the write side
//! uses, so an old payload means the same thing to every reader.

use chrono::{DateTime, Utc};
use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use domain::business::BusinessEvent;
use domain::call::CallEvent;
use domain::phone_number::PhoneNumberEvent;
use infrastructure::event_store::RecordedEvent;
use serde::de::DeserializeOwned;

use crate::runtime::ProjectionError;

fn decode<E: DeserializeOwned>(
    event: &RecordedEvent,
    upcasters: &[Box<dyn EventUpcaster>],
) -> Result<E, ProjectionError> {
    let serialized = SerializedEvent::new(
        event.aggregate_id.clone(),
        usize::try_from(event.sequence).unwrap_or_default(),
        event.aggregate_type.clone(),
        event.event_type.clone(),
        event.event_version.clone(),
        event.payload.clone(),
        event.metadata.clone(),
    );
    let upcast = upcasters.iter().fold(serialized, |current, upcaster| {
        if upcaster.can_upcast(&current.event_type, &current.event_version) {
            upcaster.upcast(current)
        } else {
            current
        }
    });
    serde_json::from_value(upcast.payload).map_err(|err| ProjectionError::bad_event(event, err))
}

/// A `Business` event.
pub fn business_event(event: &RecordedEvent) -> Result<BusinessEvent, ProjectionError> {
    decode(event, &domain::business::upcasters())
}

/// A `PhoneNumber` event.
pub fn number_event(event: &RecordedEvent) -> Result<PhoneNumberEvent, ProjectionError> {
    decode(event, &[])
}

/// A `Call` event.
pub fn call_event(event: &RecordedEvent) -> Result<CallEvent, ProjectionError> {
    decode(event, &[])
}

/// When the command behind the event was received (metadata `received_at`), if recorded.
pub fn received_at(event: &RecordedEvent) -> Option<DateTime<Utc>> {
    event
        .metadata
        .get("received_at")
        .and_then(|value| value.as_str())
        .and_then(|raw| DateTime::parse_from_rfc3339(raw).ok())
        .map(|at| at.with_timezone(&Utc))
}

/// The actor behind the event (metadata `actor`), if recorded.
pub fn actor(event: &RecordedEvent) -> Option<String> {
    event
        .metadata
        .get("actor")
        .and_then(|value| value.as_str())
        .map(str::to_owned)
}

//! What a reader holds of a stored event, whatever its type: the global stream's
//! [`RecordedEvent`] or cqrs-es' [`SerializedEvent`] (per-aggregate reads).

use cqrs_es::persist::SerializedEvent;
use serde_json::Value;

use crate::event_store::RecordedEvent;

/// One stored event, as any reader holds it, with its parts that may be sealed.
pub trait StoredEvent {
    /// `Call`, `Business`, …
    fn aggregate_type(&self) -> &str;
    /// The call's sid for a call.
    fn aggregate_id(&self) -> &str;
    /// Its sequence within the aggregate.
    fn sequence(&self) -> i64;
    /// Its persisted name.
    fn event_type(&self) -> &str;
    /// Payload and metadata, to open in place.
    fn sealed_parts(&mut self) -> (&mut Value, &mut Value);
    /// Payload and metadata, to read.
    fn parts(&self) -> (&Value, &Value);
}

impl StoredEvent for RecordedEvent {
    fn aggregate_type(&self) -> &str {
        &self.aggregate_type
    }
    fn aggregate_id(&self) -> &str {
        &self.aggregate_id
    }
    fn sequence(&self) -> i64 {
        self.sequence
    }
    fn event_type(&self) -> &str {
        &self.event_type
    }
    fn sealed_parts(&mut self) -> (&mut Value, &mut Value) {
        (&mut self.payload, &mut self.metadata)
    }
    fn parts(&self) -> (&Value, &Value) {
        (&self.payload, &self.metadata)
    }
}

impl StoredEvent for SerializedEvent {
    fn aggregate_type(&self) -> &str {
        &self.aggregate_type
    }
    fn aggregate_id(&self) -> &str {
        &self.aggregate_id
    }
    fn sequence(&self) -> i64 {
        i64::try_from(self.sequence).unwrap_or(i64::MAX)
    }
    fn event_type(&self) -> &str {
        &self.event_type
    }
    fn sealed_parts(&mut self) -> (&mut Value, &mut Value) {
        (&mut self.payload, &mut self.metadata)
    }
    fn parts(&self) -> (&Value, &Value) {
        (&self.payload, &self.metadata)
    }
}

//! Upcasters: old stored payloads of business events, read as today's events.
//!
//! `BusinessRegistered` 1.0 had no `timezone`; businesses registered then were run in UTC, so
//! 1.0 payloads are read as 2.0 with `"timezone": "UTC"`.

use cqrs_es::persist::{EventUpcaster, SemanticVersionEventUpcaster};
use serde_json::Value;

/// Every upcaster of the `Business` aggregate, for the event store.
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![Box::new(SemanticVersionEventUpcaster::new(
        "BusinessRegistered",
        "2.0",
        Box::new(registered_v1_to_v2),
    ))]
}

fn registered_v1_to_v2(mut payload: Value) -> Value {
    if let Some(fields) = payload
        .get_mut("BusinessRegistered")
        .and_then(Value::as_object_mut)
    {
        fields
            .entry("timezone")
            .or_insert_with(|| Value::String("UTC".to_owned()));
    }
    payload
}

//! The call domain of Call Assistant: what can happen to a business, a phone number and a call,
//! and the pure rules that decide it.
//!
//! Every change is a command on an aggregate (`Business`, `PhoneNumber`, `Call`) that either is
//! rejected with an error saying why, or yields past-tense events. Deciding is synchronous and
//! free of I/O: whatever a decision needs from the outside world (the time, the business' state,
//! a Twilio parameter) is looked up first and put into the command. Applying an event never fails.
//!
//! The routing policy — owner, AI agent or voicemail — lives in [`routing`] as a pure function of
//! the business' state and an instant.
#![warn(missing_docs)]

pub mod business;
pub mod call;
pub mod metadata;
pub mod phone_number;
pub mod routing;
pub mod values;

pub use metadata::{Actor, CommandMetadata};

/// Hands decided events to cqrs-es' sink, which applies each to the aggregate as it records it.
/// Every aggregate's `handle` is `decide` followed by this.
pub(crate) async fn record<A: cqrs_es::Aggregate>(
    aggregate: &mut A,
    events: Vec<A::Event>,
    sink: &cqrs_es::event_sink::EventSink<A>,
) {
    for event in events {
        sink.write(event, aggregate).await;
    }
}

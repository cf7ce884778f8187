//! The `Call` aggregate: one phone call from the moment Twilio tells us it rings until it is
//! summarised. Its id is Twilio's `CallSid`, so a retried webhook lands on the same aggregate.

mod aggregate;
mod commands;
mod error;
mod events;
mod notifications;
mod voicemail;

#[cfg(test)]
mod tests;

pub use aggregate::{AiSession, Call, CallEnd, CallLeg, IncomingCallState, OwnerOutcome};
pub use commands::{CallCommand, IncomingCall};
pub use error::CallError;
pub use events::{CallEvent, FinalStatus, MissReason, RejectReason, Speaker, Urgency};
pub use notifications::NotificationOutcome;

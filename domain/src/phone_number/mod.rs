//! The `PhoneNumber` aggregate: a Twilio number we hold, which business it rings for, and
//! whether it takes calls. Its id is the E.164 number itself, so the incoming-call webhook finds
//! it from Twilio's `To` without a lookup table.

mod aggregate;
mod commands;
mod error;
mod events;

#[cfg(test)]
mod tests;

pub use aggregate::{NumberStatus, PhoneNumber};
pub use commands::{PhoneNumberCommand, ProvisionNumber};
pub use error::PhoneNumberError;
pub use events::PhoneNumberEvent;

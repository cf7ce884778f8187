//! The `Business` aggregate: a customer of Call Assistant, its owner's phone, hours, availability
//! and AI agent — everything routing needs to know about it.

mod aggregate;
mod commands;
mod error;
mod events;
pub mod hours;
pub mod notifications;
mod upcasters;

#[cfg(test)]
mod tests;

pub use aggregate::{AgentConfig, Business};
pub use commands::{AgentSettings, BusinessCommand, RegisterBusiness};
pub use error::BusinessError;
pub use events::{BusinessEvent, ErasureReason};
pub use hours::{ClockTime, OpenRange, WeeklyHours};
pub use notifications::{
    NotificationChannel, NotificationSettings, NotificationTrigger, QuietHours,
};
pub use upcasters::upcasters;

use serde::{Deserialize, Serialize};

/// An API key encrypted elsewhere (AEAD under a key id), as the domain keeps it: never the
/// plain key, and the last four characters to show the owner which key is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// Which encryption key sealed it, so keys can be rotated.
    pub key_id: String,
    /// Base64 of nonce and ciphertext.
    pub ciphertext: String,
    /// The last four characters of the plain key.
    pub last_four: String,
}

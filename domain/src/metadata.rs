//! Metadata that travels with every event: why it happened and who made it happen.
//!
//! cqrs-es stores metadata as a string map; this type is the one place that knows its keys, so
//! every event in the store carries the same four: `correlation_id`, `causation`, `actor`,
//! `received_at`.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

/// Who caused a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user.
    User(Uuid),
    /// Twilio, through a signed webhook.
    Twilio,
    /// The voice bridge acting for the AI agent.
    VoiceBridge,
    /// An operator at the command line.
    Cli,
    /// The system itself (jobs, post-call work).
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(id) => write!(f, "user:{id}"),
            Self::Twilio => f.write_str("twilio"),
            Self::VoiceBridge => f.write_str("voice-bridge"),
            Self::Cli => f.write_str("cli"),
            Self::System => f.write_str("system"),
        }
    }
}

/// Where a command came from and when it was received; stored as the metadata of every event
/// the command produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMetadata {
    /// Ties events of one flow together: the CallSid for call traffic, else the request id.
    pub correlation_id: String,
    /// What triggered the command, e.g. `webhook:/twilio/voice/incoming` or `cli:demo seed`.
    pub causation: String,
    /// Who triggered it.
    pub actor: Actor,
    /// When the command was received, by the clock of the node that received it.
    pub received_at: DateTime<Utc>,
    /// Extra key/values worth keeping (e.g. the webhook's parameters).
    pub extra: Vec<(String, String)>,
}

impl CommandMetadata {
    /// Metadata with the four required fields and no extras.
    pub fn new(
        correlation_id: impl Into<String>,
        causation: impl Into<String>,
        actor: Actor,
        received_at: DateTime<Utc>,
    ) -> Self {
        Self {
            correlation_id: correlation_id.into(),
            causation: causation.into(),
            actor,
            received_at,
            extra: Vec::new(),
        }
    }

    /// Adds an extra key/value; the four required keys cannot be overwritten.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((key.into(), value.into()));
        self
    }

    /// The string map cqrs-es persists.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map: HashMap<String, String> = self.extra.iter().cloned().collect();
        map.insert("correlation_id".into(), self.correlation_id.clone());
        map.insert("causation".into(), self.causation.clone());
        map.insert("actor".into(), self.actor.to_string());
        map.insert(
            "received_at".into(),
            self.received_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        );
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn it_should_always_carry_the_four_required_keys() {
        let at = Utc.with_ymd_and_hms(2026, 3, 8, 12, 0, 0).unwrap();
        let map = CommandMetadata::new("CA1", "webhook:/twilio/voice/incoming", Actor::Twilio, at)
            .with("actor", "forged")
            .with("From", "+14155550100")
            .to_map();
        assert_eq!(map["correlation_id"], "CA1");
        assert_eq!(map["causation"], "webhook:/twilio/voice/incoming");
        assert_eq!(
            map["actor"], "twilio",
            "an extra must not overwrite a required key"
        );
        assert_eq!(map["received_at"], "2026-03-08T12:00:00.000000Z");
        assert_eq!(map["From"], "+14155550100");
    }

    #[test]
    fn it_should_name_actors_as_the_design_says() {
        let id = Uuid::nil();
        assert_eq!(Actor::User(id).to_string(), format!("user:{id}"));
        assert_eq!(Actor::VoiceBridge.to_string(), "voice-bridge");
    }
}

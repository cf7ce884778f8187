//! The parameters of a Twilio voice webhook. Any of them may be missing or malformed: accessors
//! return `Option`, and only the call flow decides what a missing one means.

use domain::values::CallSid;

/// A webhook's form parameters, as sent.
#[derive(Debug, Clone, Default)]
pub struct WebhookParams(pub Vec<(String, String)>);

impl WebhookParams {
    /// The first value of `name`, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// `CallSid`, when present and well formed.
    pub fn call_sid(&self) -> Option<CallSid> {
        self.get("CallSid").and_then(|raw| CallSid::parse(raw).ok())
    }

    /// A whole number of seconds (Twilio sends them as strings).
    pub fn seconds(&self, name: &str) -> Option<u32> {
        self.get(name).and_then(|raw| raw.trim().parse().ok())
    }

    /// Every parameter, for the event metadata.
    pub fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.0.iter()
    }
}

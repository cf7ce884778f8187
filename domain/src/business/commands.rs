//! What can be asked of a business.

use chrono_tz::Tz;
use uuid::Uuid;

use super::{ErasureReason, NotificationSettings, SealedSecret, WeeklyHours};
use crate::values::{BusinessId, CallSid, RingTimeout, E164};

/// Registers a new business; its id is chosen by the caller (a fresh UUID).
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterBusiness {
    /// The new business' id.
    pub id: BusinessId,
    /// Display name, 1–120 characters.
    pub name: String,
    /// Free description, up to 2000 characters (may be empty).
    pub description: String,
    /// The user who owns it, when known.
    pub owner_user_id: Option<Uuid>,
    /// Where the owner takes calls.
    pub owner_phone: Option<E164>,
    /// The business' timezone, for its hours.
    pub timezone: Tz,
}

/// The AI agent's settings as an owner sets them.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSettings {
    /// OpenAI Realtime model, e.g. `gpt-realtime`.
    pub model: String,
    /// Voice name, e.g. `marin`.
    pub voice: String,
    /// What the agent should do and say.
    pub instructions: String,
    /// A new key; `None` keeps the key already set.
    pub api_key: Option<SealedSecret>,
}

/// Commands on a `Business`.
#[derive(Debug, Clone, PartialEq)]
pub enum BusinessCommand {
    /// Create the business.
    Register(RegisterBusiness),
    /// Change name and description.
    UpdateProfile {
        /// New name.
        name: String,
        /// New description.
        description: String,
    },
    /// Set or clear the owner's phone.
    SetOwnerPhone(Option<E164>),
    /// Change the timezone its hours are read in.
    SetTimezone(Tz),
    /// Replace the weekly hours.
    SetBusinessHours(WeeklyHours),
    /// The owner's availability switch.
    SetOwnerAvailability {
        /// Whether the owner takes calls now.
        available: bool,
    },
    /// How long the owner's phone rings.
    SetRingTimeout(RingTimeout),
    /// Configure (and enable) the AI agent.
    ConfigureAgent(AgentSettings),
    /// Turn the AI agent off, keeping its settings.
    DisableAgent,
    /// Stop taking calls for this business.
    Deactivate {
        /// Why, for the record.
        reason: String,
    },
    /// Take calls again.
    Reactivate,
    /// Replace the agent's sealed key by the same key sealed under another encryption key.
    /// Records nothing when the key in force is no longer `replaces` (set anew, or resealed
    /// already). The caller guarantees `api_key` seals the same plain key.
    ResealAgentKey {
        /// The sealed key this one replaces, as read before resealing.
        replaces: SealedSecret,
        /// The same key sealed under the current encryption key.
        api_key: SealedSecret,
    },
    /// Choose how the owner is told about calls.
    SetNotificationSettings(NotificationSettings),
    /// Record that the personal data of `calls` was erased (their keys are destroyed by the
    /// caller of this command, outside the domain). Recorded even for no calls: the request
    /// was honoured.
    RecordErasure {
        /// The calls erased.
        calls: Vec<CallSid>,
        /// Why.
        reason: ErasureReason,
    },
    /// Keep callers' personal data `days` days (`None`: until erased on request).
    SetRetention {
        /// Days, at least 1 (checked where the command is made); `None` for no limit.
        days: Option<u32>,
    },
}

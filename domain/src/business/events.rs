//! What has happened to a business. Persisted names and versions are stable: see
//! `docs/events.md`.

use chrono_tz::Tz;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{NotificationSettings, SealedSecret, WeeklyHours};
use crate::values::{BusinessId, CallSid, RingTimeout, E164};

/// Events of the `Business` aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BusinessEvent {
    /// A business was registered (version 2.0: `timezone` added; 1.0 payloads are upcast to UTC).
    BusinessRegistered {
        /// Its id.
        id: BusinessId,
        /// Display name.
        name: String,
        /// Description.
        description: String,
        /// Owning user.
        owner_user_id: Option<Uuid>,
        /// Owner's phone.
        owner_phone: Option<E164>,
        /// Timezone of its hours.
        timezone: Tz,
    },
    /// Name or description changed.
    BusinessProfileUpdated {
        /// New name.
        name: String,
        /// New description.
        description: String,
    },
    /// The owner's phone was set or cleared.
    OwnerPhoneChanged {
        /// The new phone, if any.
        owner_phone: Option<E164>,
    },
    /// The timezone changed.
    TimezoneChanged {
        /// New timezone.
        timezone: Tz,
    },
    /// The weekly hours were replaced.
    BusinessHoursChanged {
        /// New hours.
        hours: WeeklyHours,
    },
    /// The owner switched availability.
    OwnerAvailabilityChanged {
        /// Whether the owner takes calls now.
        available: bool,
    },
    /// The ring timeout changed.
    RingTimeoutChanged {
        /// New timeout.
        ring_timeout: RingTimeout,
    },
    /// The AI agent was configured and enabled.
    AgentConfigured {
        /// Model.
        model: String,
        /// Voice.
        voice: String,
        /// Instructions.
        instructions: String,
        /// The key in force (new or kept).
        api_key: SealedSecret,
    },
    /// The AI agent was turned off.
    AgentDisabled,
    /// The business stopped taking calls.
    BusinessDeactivated {
        /// Why.
        reason: String,
    },
    /// The business takes calls again.
    BusinessReactivated,
    /// The agent's API key was sealed again under another encryption key (the same plain key:
    /// `ENCRYPTION_KEY` was rotated, `callassist keys reseal`).
    AgentKeyResealed {
        /// The key, sealed under the new encryption key.
        api_key: SealedSecret,
    },
    /// The owner chose how to be told about calls (replaces the previous settings).
    NotificationSettingsChanged {
        /// The new settings.
        settings: NotificationSettings,
    },
    /// The personal data of these calls was erased: their keys were destroyed, so their
    /// caller's number, words, messages, recordings and summaries read `[erased]` from now on
    /// (docs/privacy.md). Never names the caller.
    CallerDataErased {
        /// The calls whose personal data is gone.
        calls: Vec<CallSid>,
        /// On request, or by the retention rule.
        reason: ErasureReason,
    },
    /// How long the business keeps its callers' personal data: recordings, transcripts and the
    /// rest are erased `days` after the call (`None`: kept until erased on request).
    RetentionSet {
        /// Days; `None` for no limit.
        days: Option<u32>,
    },
}

/// Why personal data was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ErasureReason {
    /// The caller (or the business on their behalf) asked: `callassist privacy erase`, or an
    /// admin through the API.
    Request,
    /// The business' retention period passed.
    Retention {
        /// The period, in days.
        days: u32,
    },
}

impl DomainEvent for BusinessEvent {
    fn event_type(&self) -> String {
        let name = match self {
            Self::BusinessRegistered { .. } => "BusinessRegistered",
            Self::BusinessProfileUpdated { .. } => "BusinessProfileUpdated",
            Self::OwnerPhoneChanged { .. } => "OwnerPhoneChanged",
            Self::TimezoneChanged { .. } => "TimezoneChanged",
            Self::BusinessHoursChanged { .. } => "BusinessHoursChanged",
            Self::OwnerAvailabilityChanged { .. } => "OwnerAvailabilityChanged",
            Self::RingTimeoutChanged { .. } => "RingTimeoutChanged",
            Self::AgentConfigured { .. } => "AgentConfigured",
            Self::AgentDisabled => "AgentDisabled",
            Self::BusinessDeactivated { .. } => "BusinessDeactivated",
            Self::BusinessReactivated => "BusinessReactivated",
            Self::AgentKeyResealed { .. } => "AgentKeyResealed",
            Self::NotificationSettingsChanged { .. } => "NotificationSettingsChanged",
            Self::CallerDataErased { .. } => "CallerDataErased",
            Self::RetentionSet { .. } => "RetentionSet",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            Self::BusinessRegistered { .. } => "2.0",
            _ => "1.0",
        }
        .to_owned()
    }
}

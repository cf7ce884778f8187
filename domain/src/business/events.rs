//! What has happened to a business. Persisted names and versions are stable: see
//! `docs/events.md`.

use chrono_tz::Tz;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{SealedSecret, WeeklyHours};
use crate::values::{BusinessId, RingTimeout, E164};

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

//! What has happened to a phone number. Persisted names and versions are stable: see
//! `docs/events.md`.

use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::values::{BusinessId, Money, E164};

/// Events of the `PhoneNumber` aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PhoneNumberEvent {
    /// We hold the number at Twilio.
    NumberProvisioned {
        /// The number.
        number: E164,
        /// Twilio's `PN…` sid.
        twilio_sid: String,
        /// Country code.
        country: String,
        /// Area code.
        area_code: Option<String>,
        /// Monthly cost.
        monthly_cost: Money,
    },
    /// The number now rings for a business.
    NumberAssigned {
        /// The business.
        business_id: BusinessId,
        /// The business it rang for before, if any.
        previous_business_id: Option<BusinessId>,
    },
    /// The number was given back to Twilio.
    NumberReleased,
    /// The number stopped taking calls.
    NumberSuspended {
        /// Why.
        reason: String,
    },
    /// The number takes calls again.
    NumberReactivated,
}

impl DomainEvent for PhoneNumberEvent {
    fn event_type(&self) -> String {
        match self {
            Self::NumberProvisioned { .. } => "NumberProvisioned",
            Self::NumberAssigned { .. } => "NumberAssigned",
            Self::NumberReleased => "NumberReleased",
            Self::NumberSuspended { .. } => "NumberSuspended",
            Self::NumberReactivated => "NumberReactivated",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

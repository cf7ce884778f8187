//! What can be asked of a phone number.

use crate::values::{BusinessId, Money, E164};

/// Records that we hold a number at Twilio (bought, or an existing one registered).
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisionNumber {
    /// The number.
    pub number: E164,
    /// Twilio's `PN…` sid of the incoming phone number.
    pub twilio_sid: String,
    /// ISO country code, e.g. `US`.
    pub country: String,
    /// Area code, where the numbering plan has one.
    pub area_code: Option<String>,
    /// What Twilio charges for it per month.
    pub monthly_cost: Money,
}

/// Commands on a `PhoneNumber`.
#[derive(Debug, Clone, PartialEq)]
pub enum PhoneNumberCommand {
    /// Start holding the number (again, after a release).
    Provision(ProvisionNumber),
    /// Let it ring for a business.
    AssignToBusiness(BusinessId),
    /// Give the number back to Twilio.
    Release,
    /// Stop taking calls on it for now.
    Suspend {
        /// Why, for the record.
        reason: String,
    },
    /// Take calls on it again.
    Reactivate,
}

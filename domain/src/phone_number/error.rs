//! Why a command on a phone number was refused.

use crate::values::ValueError;

/// A command on a `PhoneNumber` that does not make sense in its current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    /// Never provisioned.
    #[error("phone number not found")]
    NotFound,
    /// `Provision` on a number we hold.
    #[error("phone number already provisioned")]
    AlreadyProvisioned,
    /// Any change to a released number but provisioning it again.
    #[error("phone number has been released")]
    Released,
    /// `Suspend` on a suspended number.
    #[error("phone number is already suspended")]
    AlreadySuspended,
    /// `Reactivate` on a number that is not suspended.
    #[error("phone number is not suspended")]
    NotSuspended,
    /// A field of the command is malformed.
    #[error(transparent)]
    Invalid(#[from] ValueError),
}

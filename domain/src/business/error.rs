//! Why a command on a business was refused.

use crate::values::ValueError;

/// A command on a `Business` that does not make sense in its current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusinessError {
    /// The business has not been registered.
    #[error("business not found")]
    NotFound,
    /// `Register` on a business that exists.
    #[error("business already registered")]
    AlreadyRegistered,
    /// A change to a deactivated business (other than reactivating it).
    #[error("business is deactivated")]
    Deactivated,
    /// `Reactivate` on an active business.
    #[error("business is already active")]
    AlreadyActive,
    /// The first agent configuration must include an API key.
    #[error("the AI agent needs an OpenAI API key")]
    AgentKeyMissing,
    /// `DisableAgent` when no agent is configured or it is already off.
    #[error("the AI agent is not enabled")]
    AgentNotEnabled,
    /// Quiet hours that start when they end.
    #[error("quiet hours must end at another time than they start")]
    EmptyQuietHours,
    /// A field of the command is malformed.
    #[error(transparent)]
    Invalid(#[from] ValueError),
}

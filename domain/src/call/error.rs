//! Why a command on a call was refused.

use crate::values::ValueError;

/// A command on a `Call` that does not make sense in its current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Nothing is known of this call.
    #[error("call not found")]
    NotFound,
    /// `Receive` or `Reject` with other facts than the call was received with.
    #[error("call already received with other details")]
    AlreadyReceived,
    /// The call was turned away; nothing more can happen to it but its end.
    #[error("call was rejected")]
    Rejected,
    /// The call is over: it cannot be routed any more.
    #[error("call has ended")]
    Ended,
    /// `End` with another final status than the one recorded.
    #[error("call already ended with another status")]
    AlreadyEnded,
    /// An owner outcome when the owner's phone is not ringing.
    #[error("the owner is not being rung for this call")]
    OwnerNotRinging,
    /// A second owner-answered for one ring.
    #[error("the owner has already answered")]
    OwnerAlreadyAnswered,
    /// A second owner outcome for one ring.
    #[error("the owner's outcome is already recorded")]
    OwnerOutcomeKnown,
    /// A fallback route when the call is not waiting for one.
    #[error("call is not waiting to be routed")]
    NotAwaitingRoute,
    /// An agent action on a call the agent does not have.
    #[error("call is not with the AI agent")]
    NotWithAgent,
    /// `StartAiSession` twice.
    #[error("AI session already started")]
    AiSessionAlreadyStarted,
    /// An AI-session fact before the session started.
    #[error("AI session has not started")]
    NoAiSession,
    /// `EndAiSession` twice.
    #[error("AI session already ended")]
    AiSessionAlreadyEnded,
    /// A voicemail for a call never routed to voicemail.
    #[error("call was not routed to voicemail")]
    NotRoutedToVoicemail,
    /// A second voicemail.
    #[error("voicemail already recorded")]
    VoicemailAlreadyRecorded,
    /// A summary before the call ended.
    #[error("call has not ended yet")]
    NotEnded,
    /// A second summary.
    #[error("call already summarized")]
    AlreadySummarized,
    /// A field of the command is malformed.
    #[error(transparent)]
    Invalid(#[from] ValueError),
}

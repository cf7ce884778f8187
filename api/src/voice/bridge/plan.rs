//! What the bridge loop is given (the call's [`Plan`], its [`Limits`], the [`Sides`] it relays
//! between) and what it returns ([`Ending`]).

use std::time::Duration;

use infrastructure::openai::realtime::Interface;

/// With `server_vad`, `interrupt_response` defaults to true: the session cancels the agent's
/// response itself when the caller starts speaking, so a `response.cancel` of ours would only
/// race it (and earn a `response_cancel_not_active` error). The bridge therefore cancels only
/// when configured otherwise.
pub const SESSION_CANCELS_ON_SPEECH: bool = true;

/// Time limits of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest a session may last (the Realtime API's maximum minus a margin).
    pub session_max: Duration,
    /// How long before `session_max` the agent is told to wrap up.
    pub wrap_up_lead: Duration,
    /// How long OpenAI may take to confirm the session (`session.updated`).
    pub greeting_timeout: Duration,
    /// How long the agent's goodbye (before a hang-up or transfer) may take to play.
    pub goodbye_timeout: Duration,
}

/// What the loop knows of its call.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Twilio's `MZ…`: every message to Twilio names it.
    pub stream_sid: String,
    /// Which Realtime interface the session speaks.
    pub interface: Interface,
    /// Time limits.
    pub limits: Limits,
    /// Whether `transfer_to_owner` can work (the owner has a phone).
    pub can_transfer: bool,
    /// Whether a barge-in sends `response.cancel` (see [`SESSION_CANCELS_ON_SPEECH`]).
    pub cancel_on_barge_in: bool,
}

/// Why the agent cannot go on with the call: it goes to voicemail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The `reason` label of the fallback counter.
    pub kind: &'static str,
    /// Recorded with the session's end.
    pub reason: String,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Twilio stopped the stream or its socket went away: nothing to tell Twilio.
    CallerLeft(String),
    /// The agent said goodbye (`end_call`): hang up.
    HangUp,
    /// The agent announced a transfer (`transfer_to_owner`): ring the owner.
    Transfer,
    /// The agent failed: voicemail.
    Voicemail(Failure),
}

impl Ending {
    /// A failure of kind `kind`.
    pub fn voicemail(kind: &'static str, reason: impl Into<String>) -> Self {
        Self::Voicemail(Failure {
            kind,
            reason: reason.into(),
        })
    }
}

/// The four ends of the two sockets.
pub struct Sides<TI, TO, OI, OO> {
    /// Twilio's text frames.
    pub twilio_in: TI,
    /// Text frames to Twilio.
    pub twilio_out: TO,
    /// OpenAI's text frames.
    pub openai_in: OI,
    /// Text frames to OpenAI.
    pub openai_out: OO,
}

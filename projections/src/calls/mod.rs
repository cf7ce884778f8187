//! Read model `calls`: one row per call for the calls list and the call detail page, the call's
//! timeline (every event, the seed's "Call Events"), the AI conversation's transcript and the
//! voicemail's transcription.
//!
//! Tables (schema `rm_calls`, migrations `20261125000005_rm_calls.sql` and
//! `20261125000012_rm_calls_voicemail_transcript.sql`): `calls`, `call_events`,
//! `transcript_segments`. The rules that turn events into the columns `route`, `handled_by`,
//! `status` and `owner_outcome` are in [`projection`]; the queries in [`queries`] are what the
//! REST API and dashboards read.

mod erase;
mod projection;
mod queries;
mod tables;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use projection::CallsProjection;
pub use queries::{
    call_detail, call_timeline, calls_by_sid, list_calls, CallCursor, CallDetail, CallFilter,
    CallPage, CallRow, TakenMessage, TimelineEntry, TranscriptLine, MAX_PAGE,
};

/// Where a call was last routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallRoute {
    /// The owner's phone (`CallRoutedToOwner`).
    Owner,
    /// The AI agent (`CallRoutedToAi`).
    Ai,
    /// Voicemail (`CallRoutedToVoicemail`).
    Voicemail,
}

/// Who dealt with the caller. Precedence: the owner, then a recorded voicemail, then the AI agent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HandledBy {
    /// The AI agent was given the call (`CallRoutedToAi` or `AiSessionStarted`), and neither of
    /// the others happened.
    Ai,
    /// The caller left a voicemail (`VoicemailRecorded`) and the owner never answered.
    Voicemail,
    /// The owner answered (`OwnerAnswered`), whatever else happened.
    Owner,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Received, nobody has taken it yet.
    Ringing,
    /// The owner answered or an AI session started, and it has not ended.
    InProgress,
    /// Ended normally (Twilio's `completed`).
    Completed,
    /// Ended busy.
    Busy,
    /// Ended failed.
    Failed,
    /// Ended unanswered (Twilio's `no-answer`).
    NoAnswer,
    /// Ended before it was answered.
    Canceled,
    /// Turned away (`CallRejected`); stays so after it ends.
    Rejected,
}

macro_rules! text_enum {
    ($type:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $type {
            /// The value stored in the read model (and serialised in JSON).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Reads a stored value.
            pub fn parse(raw: &str) -> Option<Self> {
                match raw {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

text_enum!(CallRoute { Owner => "owner", Ai => "ai", Voicemail => "voicemail" });
text_enum!(HandledBy { Ai => "ai", Voicemail => "voicemail", Owner => "owner" });
text_enum!(CallStatus {
    Ringing => "ringing",
    InProgress => "in_progress",
    Completed => "completed",
    Busy => "busy",
    Failed => "failed",
    NoAnswer => "no_answer",
    Canceled => "canceled",
    Rejected => "rejected",
});

impl CallStatus {
    /// Whether the call is over (or was turned away).
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Ringing | Self::InProgress)
    }
}

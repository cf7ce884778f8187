//! What has happened to a call. Persisted names and versions are stable: see `docs/events.md`.

use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::business::{NotificationChannel, NotificationTrigger};
use crate::routing::RouteReason;
use crate::values::{BusinessId, CallSid, CallerId, Money, RingTimeout, E164};

/// Why a call was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The number called is not one we hold.
    UnknownNumber,
    /// The number has been released.
    NumberReleased,
    /// The number is suspended.
    NumberSuspended,
    /// The number rings for no business.
    NumberUnassigned,
    /// The business is deactivated.
    BusinessInactive,
}

/// Why the owner did not take a call their phone rang for (Twilio's `DialCallStatus`, and
/// answered-but-not-bridged when screening sent the leg away).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissReason {
    /// Rang until the timeout.
    NoAnswer,
    /// The owner's line was busy or declined.
    Busy,
    /// The owner's leg could not be set up.
    Failed,
    /// The dial was cancelled (the caller hung up while it rang).
    Canceled,
    /// Something answered (a carrier voicemail) but did not accept the call at the screen.
    NotAccepted,
}

/// Twilio's final `CallStatus` of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinalStatus {
    /// The call was connected and ended normally.
    Completed,
    /// Busy.
    Busy,
    /// Failed.
    Failed,
    /// Nobody answered.
    NoAnswer,
    /// Ended before it was answered.
    Canceled,
}

/// Who said a transcript segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    /// The person calling.
    Caller,
    /// The AI agent.
    Agent,
}

/// How urgent a message is, as the caller put it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Whenever the owner can.
    Low,
    /// The usual.
    #[default]
    Normal,
    /// Call back as soon as possible.
    High,
}

/// Events of the `Call` aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CallEvent {
    /// Twilio told us of a new call. Its time is the metadata's `received_at`.
    CallReceived {
        /// Twilio's id.
        call_sid: CallSid,
        /// Who calls.
        from: CallerId,
        /// The number called.
        to: String,
        /// The business it rings for, when known.
        business_id: Option<BusinessId>,
    },
    /// The call was turned away.
    CallRejected {
        /// Why.
        reason: RejectReason,
    },
    /// The owner's phone is rung.
    CallRoutedToOwner {
        /// The phone.
        owner_phone: E164,
        /// How long it rings.
        ring_timeout: RingTimeout,
    },
    /// The owner took the call.
    OwnerAnswered {
        /// Twilio's sid of the owner's leg.
        dial_call_sid: Option<String>,
    },
    /// The owner's phone rang but the owner did not take the call.
    OwnerMissed {
        /// Why.
        reason: MissReason,
    },
    /// The AI agent takes the call.
    CallRoutedToAi {
        /// Why not the owner.
        why: RouteReason,
    },
    /// The call goes to voicemail.
    CallRoutedToVoicemail {
        /// Why.
        why: RouteReason,
    },
    /// The agent's realtime session opened.
    AiSessionStarted {
        /// Model.
        model: String,
        /// Voice.
        voice: String,
    },
    /// A piece of the conversation.
    TranscriptSegmentRecorded {
        /// Who said it.
        speaker: Speaker,
        /// What was said.
        text: String,
        /// Milliseconds since the session started.
        offset_ms: u64,
    },
    /// The agent took a message for the owner.
    MessageTaken {
        /// Caller's name.
        caller_name: Option<String>,
        /// Callback number.
        callback_number: Option<String>,
        /// The message.
        message: String,
        /// Urgency.
        urgency: Urgency,
    },
    /// The agent's session closed.
    AiSessionEnded {
        /// Why.
        reason: String,
    },
    /// The caller left a voicemail.
    VoicemailRecorded {
        /// Twilio's recording URL.
        recording_url: String,
        /// Seconds.
        duration_secs: u32,
    },
    /// Twilio transcribed the voicemail: the caller's words.
    VoicemailTranscribed {
        /// Twilio's `TR…` sid of the transcription.
        transcription_sid: String,
        /// Twilio's `RE…` sid of the recording transcribed.
        recording_sid: String,
        /// What the caller said.
        text: String,
    },
    /// Twilio could not transcribe the voicemail (or heard nothing in it).
    VoicemailTranscriptionFailed {
        /// Twilio's `TR…` sid of the transcription.
        transcription_sid: String,
        /// Twilio's `RE…` sid of the recording.
        recording_sid: String,
    },
    /// A recording of the call is available.
    RecordingAvailable {
        /// Twilio's `RE…` sid.
        recording_sid: String,
        /// Twilio's recording URL.
        recording_url: String,
        /// Seconds.
        duration_secs: u32,
    },
    /// The call is over.
    CallEnded {
        /// Twilio's final status.
        status: FinalStatus,
        /// Seconds, when known.
        duration_secs: Option<u32>,
    },
    /// Twilio's price for the call.
    CallCostRecorded {
        /// The price.
        price: Money,
    },
    /// The post-call summary.
    CallSummarized {
        /// The summary.
        summary: String,
    },
    /// No summary will be made: the summariser gave up for good.
    CallSummaryFailed {
        /// Why.
        reason: String,
    },
    /// The owner was told about the call (a text or an email was handed to its provider).
    OwnerNotified {
        /// Derived from the event that caused it (`<global position>-<channel>`).
        notification_id: String,
        /// What it was about.
        trigger: NotificationTrigger,
        /// How.
        channel: NotificationChannel,
        /// The owner's phone or email address.
        to: String,
        /// The provider's id (Twilio's `SM…` sid), when it gave one.
        provider_id: Option<String>,
    },
    /// A notification of the owner will not be sent: refused for good or given up.
    OwnerNotificationFailed {
        /// Derived from the event that caused it.
        notification_id: String,
        /// What it was about.
        trigger: NotificationTrigger,
        /// How it was to go.
        channel: NotificationChannel,
        /// Why.
        reason: String,
    },
}

impl DomainEvent for CallEvent {
    fn event_type(&self) -> String {
        match self {
            Self::CallReceived { .. } => "CallReceived",
            Self::CallRejected { .. } => "CallRejected",
            Self::CallRoutedToOwner { .. } => "CallRoutedToOwner",
            Self::OwnerAnswered { .. } => "OwnerAnswered",
            Self::OwnerMissed { .. } => "OwnerMissed",
            Self::CallRoutedToAi { .. } => "CallRoutedToAi",
            Self::CallRoutedToVoicemail { .. } => "CallRoutedToVoicemail",
            Self::AiSessionStarted { .. } => "AiSessionStarted",
            Self::TranscriptSegmentRecorded { .. } => "TranscriptSegmentRecorded",
            Self::MessageTaken { .. } => "MessageTaken",
            Self::AiSessionEnded { .. } => "AiSessionEnded",
            Self::VoicemailRecorded { .. } => "VoicemailRecorded",
            Self::VoicemailTranscribed { .. } => "VoicemailTranscribed",
            Self::VoicemailTranscriptionFailed { .. } => "VoicemailTranscriptionFailed",
            Self::RecordingAvailable { .. } => "RecordingAvailable",
            Self::CallEnded { .. } => "CallEnded",
            Self::CallCostRecorded { .. } => "CallCostRecorded",
            Self::CallSummarized { .. } => "CallSummarized",
            Self::CallSummaryFailed { .. } => "CallSummaryFailed",
            Self::OwnerNotified { .. } => "OwnerNotified",
            Self::OwnerNotificationFailed { .. } => "OwnerNotificationFailed",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

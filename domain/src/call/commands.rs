//! What can be asked of a call. Webhooks, the voice bridge and post-call work issue these.

use crate::routing::{Route, RouteReason};
use crate::values::{BusinessId, CallSid, CallerId, Money, RingTimeout, E164};

use super::{FinalStatus, MissReason, NotificationOutcome, RejectReason, Speaker, Urgency};
use crate::business::{NotificationChannel, NotificationTrigger};

/// The facts of an incoming call, as Twilio's first webhook gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingCall {
    /// Twilio's id of the call.
    pub call_sid: CallSid,
    /// Who is calling.
    pub from: CallerId,
    /// The number called, as Twilio's `To` gives it (kept even when it is not one of ours).
    pub to: String,
    /// The business the number rings for, when known.
    pub business_id: Option<BusinessId>,
}

/// Commands on a `Call`.
#[derive(Debug, Clone, PartialEq)]
pub enum CallCommand {
    /// A call came in and was routed.
    Receive {
        /// The call's facts.
        call: IncomingCall,
        /// Where it goes first.
        route: Route,
    },
    /// A call came in and is turned away; the attempt is still recorded.
    Reject {
        /// The call's facts.
        call: IncomingCall,
        /// Why.
        reason: RejectReason,
    },
    /// The owner took the call (the legs were bridged).
    RecordOwnerAnswered {
        /// Twilio's sid of the owner's leg.
        dial_call_sid: Option<String>,
    },
    /// The owner's phone rang but the owner did not take the call.
    RecordOwnerMissed {
        /// What Twilio reported.
        reason: MissReason,
    },
    /// Hand the call to the AI agent.
    RouteToAi {
        /// Why not the owner.
        why: RouteReason,
    },
    /// Hand the call to voicemail.
    RouteToVoicemail {
        /// Why.
        why: RouteReason,
    },
    /// Ring the owner again (the agent transfers the caller).
    TransferToOwner {
        /// The phone to ring.
        owner_phone: E164,
        /// How long it rings.
        ring_timeout: RingTimeout,
    },
    /// The AI agent's session opened.
    StartAiSession {
        /// Realtime model.
        model: String,
        /// Voice.
        voice: String,
    },
    /// A piece of what was said.
    RecordTranscriptSegment {
        /// Who said it.
        speaker: Speaker,
        /// What was said.
        text: String,
        /// Milliseconds since the AI session started.
        offset_ms: u64,
    },
    /// The agent took a message for the owner.
    TakeMessage {
        /// Caller's name, if given.
        caller_name: Option<String>,
        /// Where to call back, if given.
        callback_number: Option<String>,
        /// The message.
        message: String,
        /// How urgent the caller said it is.
        urgency: Urgency,
    },
    /// The AI agent's session closed.
    EndAiSession {
        /// Why, e.g. `caller hung up`, `openai socket closed`.
        reason: String,
    },
    /// The caller left a voicemail.
    RecordVoicemail {
        /// Twilio's recording URL.
        recording_url: String,
        /// Length in seconds.
        duration_secs: u32,
    },
    /// Twilio transcribed the voicemail (`<Record transcribe="true">`). Empty or blank text
    /// counts as a failed transcription.
    RecordVoicemailTranscription {
        /// Twilio's `TR…` sid of the transcription.
        transcription_sid: String,
        /// Twilio's `RE…` sid of the recording it transcribes.
        recording_sid: String,
        /// What the caller said.
        text: String,
    },
    /// Twilio could not transcribe the voicemail (`TranscriptionStatus=failed`).
    RecordVoicemailTranscriptionFailure {
        /// Twilio's `TR…` sid of the transcription.
        transcription_sid: String,
        /// Twilio's `RE…` sid of the recording.
        recording_sid: String,
    },
    /// A recording of the call is available at Twilio.
    AttachRecording {
        /// Twilio's `RE…` sid.
        recording_sid: String,
        /// Twilio's recording URL.
        recording_url: String,
        /// Length in seconds.
        duration_secs: u32,
    },
    /// The call is over.
    End {
        /// Twilio's final `CallStatus`.
        status: FinalStatus,
        /// Length in seconds, when Twilio gave it.
        duration_secs: Option<u32>,
    },
    /// What Twilio charged for the call (known only some time after it ends).
    RecordCost {
        /// The price.
        price: Money,
    },
    /// The post-call summary.
    RecordSummary {
        /// The summary text.
        summary: String,
    },
    /// The post-call summary could not be made and will not be retried (OpenAI refused the
    /// request, no key is configured, or it kept failing).
    RecordSummaryFailure {
        /// Why, e.g. `no OpenAI key` or `OpenAI answered 401: …`.
        reason: String,
    },
    /// How a notification of the owner about this call went.
    RecordNotification {
        /// Derived from the event that caused it, e.g. `4711-sms`.
        notification_id: String,
        /// What it was about.
        trigger: NotificationTrigger,
        /// How it was sent.
        channel: NotificationChannel,
        /// Sent or failed.
        outcome: NotificationOutcome,
    },
    /// Several commands decided in order, each on the state the ones before it left, and
    /// appended together or not at all. The voice bridge records what queued up while the
    /// database was busy (session start, transcript segments, messages, session end) in one
    /// append instead of one round trip each.
    Batch(Vec<CallCommand>),
}

//! The call's state, how commands are decided on it and how events fold into it.
//!
//! Twilio's callbacks come late, twice, or out of order, so facts about the past (the owner's
//! outcome, a recording, the end) are accepted after the call ended, while decisions about the
//! future (routing) are not.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{
    CallCommand, CallError, CallEvent, FinalStatus, IncomingCall, MissReason, RejectReason,
};
use crate::routing::Route;
use crate::values::{bounded_text, BusinessId, CallSid, CallerId, Money};

pub(super) const TEXT_MAX: usize = 10_000;
const SHORT_MAX: usize = 200;
/// A summary failure's reason may quote OpenAI's error message.
const REASON_MAX: usize = 1_000;

/// Where the call is (or was last, once it ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallLeg {
    /// Nothing received yet.
    #[default]
    NotReceived,
    /// Turned away.
    Rejected,
    /// The owner's phone is ringing.
    RingingOwner,
    /// The owner took it.
    WithOwner,
    /// The owner did not take it; waiting for the fallback route.
    OwnerMissed,
    /// The AI agent has it.
    WithAiAgent,
    /// Voicemail.
    Voicemail,
}

/// What came of ringing the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerOutcome {
    /// Bridged to the owner.
    Answered,
    /// Not taken.
    Missed(MissReason),
}

/// The AI agent's realtime session.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AiSession {
    /// Not opened.
    #[default]
    NotStarted,
    /// Open.
    Running,
    /// Closed.
    Ended,
}

/// How the call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEnd {
    /// Twilio's final status.
    pub status: FinalStatus,
    /// Seconds, when known.
    pub duration_secs: Option<u32>,
}

/// A call as the write side knows it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Call {
    /// The facts it was received with.
    pub received: Option<IncomingCallState>,
    /// Where it is.
    pub leg: CallLeg,
    /// The latest routing decision, with what the answer to Twilio needs (the owner's phone and
    /// ring timeout), so a retried webhook gets the same answer.
    pub route: Option<Route>,
    /// Why it was rejected.
    pub rejected: Option<RejectReason>,
    /// The owner's latest outcome.
    pub owner_outcome: Option<OwnerOutcome>,
    /// The AI session.
    pub ai_session: AiSession,
    /// Whether the AI agent was ever given the call.
    pub handled_by_ai: bool,
    /// Whether the call was ever routed to voicemail.
    pub routed_to_voicemail: bool,
    /// Whether a voicemail was left.
    pub voicemail_recorded: bool,
    /// Sids of the voicemail transcriptions Twilio reported (done or failed): a repeat of one
    /// changes nothing.
    #[serde(default)]
    pub voicemail_transcriptions: Vec<String>,
    /// Messages taken.
    pub messages_taken: u32,
    /// Sids of the recordings attached.
    pub recordings: Vec<String>,
    /// The end, once known.
    pub end: Option<CallEnd>,
    /// Twilio's price, once known.
    pub price: Option<Money>,
    /// Whether a summary was recorded.
    pub summarized: bool,
    /// Whether the summariser gave up on this call.
    pub summary_failed: bool,
    /// Ids of the owner notifications with a recorded outcome.
    #[serde(default)]
    pub notifications: Vec<String>,
}

/// The facts of a received call, as stored in the aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingCallState {
    /// Twilio's id.
    pub call_sid: CallSid,
    /// Who calls.
    pub from: CallerId,
    /// The number called.
    pub to: String,
    /// The business.
    pub business_id: Option<BusinessId>,
}

impl IncomingCallState {
    fn same_as(&self, call: &IncomingCall) -> bool {
        self.call_sid == call.call_sid
            && self.from == call.from
            && self.to == call.to
            && self.business_id == call.business_id
    }
}

impl Call {
    /// Decides a command: the events it causes, or why it is refused. Pure.
    pub fn decide(&self, command: CallCommand) -> Result<Vec<CallEvent>, CallError> {
        use CallCommand as C;
        use CallEvent as E;
        match command {
            C::Receive { call, route } => self.receive(call, Some(route), None),
            C::Reject { call, reason } => self.receive(call, None, Some(reason)),
            C::RecordOwnerAnswered { dial_call_sid } => {
                self.require_owner_ringing()?;
                Ok(vec![E::OwnerAnswered { dial_call_sid }])
            }
            C::RecordOwnerMissed { reason } => {
                self.require_owner_ringing()?;
                Ok(vec![E::OwnerMissed { reason }])
            }
            C::RouteToAi { why } => {
                self.require_routable()?;
                match self.leg {
                    CallLeg::OwnerMissed => Ok(vec![E::CallRoutedToAi { why }]),
                    _ => Err(CallError::NotAwaitingRoute),
                }
            }
            C::RouteToVoicemail { why } => {
                self.require_routable()?;
                match self.leg {
                    CallLeg::OwnerMissed | CallLeg::WithAiAgent => {
                        Ok(vec![E::CallRoutedToVoicemail { why }])
                    }
                    _ => Err(CallError::NotAwaitingRoute),
                }
            }
            C::TransferToOwner {
                owner_phone,
                ring_timeout,
            } => {
                self.require_routable()?;
                match self.leg {
                    CallLeg::WithAiAgent => Ok(vec![E::CallRoutedToOwner {
                        owner_phone,
                        ring_timeout,
                    }]),
                    _ => Err(CallError::NotWithAgent),
                }
            }
            C::StartAiSession { model, voice } => {
                self.require_routable()?;
                if self.leg != CallLeg::WithAiAgent {
                    return Err(CallError::NotWithAgent);
                }
                if self.ai_session != AiSession::NotStarted {
                    return Err(CallError::AiSessionAlreadyStarted);
                }
                Ok(vec![E::AiSessionStarted {
                    model: bounded_text("model", &model, SHORT_MAX)?,
                    voice: bounded_text("voice", &voice, SHORT_MAX)?,
                }])
            }
            C::RecordTranscriptSegment {
                speaker,
                text,
                offset_ms,
            } => {
                self.require_ai_session_started()?;
                Ok(vec![E::TranscriptSegmentRecorded {
                    speaker,
                    text: bounded_text("text", &text, TEXT_MAX)?,
                    offset_ms,
                }])
            }
            C::TakeMessage {
                caller_name,
                callback_number,
                message,
                urgency,
            } => {
                self.require_ai_session_started()?;
                Ok(vec![E::MessageTaken {
                    caller_name: optional_text("caller_name", caller_name)?,
                    callback_number: optional_text("callback_number", callback_number)?,
                    message: bounded_text("message", &message, TEXT_MAX)?,
                    urgency,
                }])
            }
            C::EndAiSession { reason } => match self.ai_session {
                AiSession::NotStarted => Err(CallError::NoAiSession),
                AiSession::Ended => Err(CallError::AiSessionAlreadyEnded),
                AiSession::Running => Ok(vec![E::AiSessionEnded {
                    reason: bounded_text("reason", &reason, SHORT_MAX)?,
                }]),
            },
            C::RecordVoicemail {
                recording_url,
                duration_secs,
            } => {
                self.require_received()?;
                if !self.routed_to_voicemail {
                    return Err(CallError::NotRoutedToVoicemail);
                }
                if self.voicemail_recorded {
                    return Err(CallError::VoicemailAlreadyRecorded);
                }
                Ok(vec![E::VoicemailRecorded {
                    recording_url: bounded_text("recording_url", &recording_url, 2048)?,
                    duration_secs,
                }])
            }
            C::RecordVoicemailTranscription {
                transcription_sid,
                recording_sid,
                text,
            } => self.transcribe_voicemail(&transcription_sid, &recording_sid, Some(&text)),
            C::RecordVoicemailTranscriptionFailure {
                transcription_sid,
                recording_sid,
            } => self.transcribe_voicemail(&transcription_sid, &recording_sid, None),
            C::AttachRecording {
                recording_sid,
                recording_url,
                duration_secs,
            } => {
                self.require_received()?;
                let recording_sid = bounded_text("recording_sid", &recording_sid, 64)?;
                if self.recordings.contains(&recording_sid) {
                    return Ok(vec![]);
                }
                Ok(vec![E::RecordingAvailable {
                    recording_sid,
                    recording_url: bounded_text("recording_url", &recording_url, 2048)?,
                    duration_secs,
                }])
            }
            C::End {
                status,
                duration_secs,
            } => {
                self.require_received()?;
                match &self.end {
                    None => Ok(vec![E::CallEnded {
                        status,
                        duration_secs,
                    }]),
                    Some(end) if end.status == status => Ok(vec![]),
                    Some(_) => Err(CallError::AlreadyEnded),
                }
            }
            C::RecordCost { price } => {
                self.require_received()?;
                if self.price.as_ref() == Some(&price) {
                    return Ok(vec![]);
                }
                Ok(vec![E::CallCostRecorded { price }])
            }
            C::RecordSummary { summary } => {
                self.require_received()?;
                if self.end.is_none() {
                    return Err(CallError::NotEnded);
                }
                if self.summarized {
                    return Err(CallError::AlreadySummarized);
                }
                Ok(vec![E::CallSummarized {
                    summary: bounded_text("summary", &summary, TEXT_MAX)?,
                }])
            }
            C::RecordSummaryFailure { reason } => {
                self.require_received()?;
                if self.end.is_none() {
                    return Err(CallError::NotEnded);
                }
                if self.summarized {
                    return Err(CallError::AlreadySummarized);
                }
                let reason = bounded_text("reason", &reason, REASON_MAX)?;
                if self.summary_failed {
                    // A summariser that crashed after recording the failure tries again.
                    return Ok(vec![]);
                }
                Ok(vec![E::CallSummaryFailed { reason }])
            }
            C::RecordNotification {
                notification_id,
                trigger,
                channel,
                outcome,
            } => self.record_notification(&notification_id, trigger, channel, outcome),
            C::Batch(commands) => self.decide_in_order(commands),
        }
    }

    /// `Batch`: each command is decided on the state the previous ones produced; the first
    /// refusal refuses the whole batch.
    fn decide_in_order(&self, commands: Vec<CallCommand>) -> Result<Vec<CallEvent>, CallError> {
        let mut state = self.clone();
        let mut events = Vec::new();
        for command in commands {
            let decided = state.decide(command)?;
            for event in &decided {
                state.apply(event.clone());
            }
            events.extend(decided);
        }
        Ok(events)
    }

    /// `Receive` and `Reject`: the first records the call; a retry with the same facts
    /// changes nothing (Twilio retries webhooks).
    fn receive(
        &self,
        call: IncomingCall,
        route: Option<Route>,
        reject: Option<RejectReason>,
    ) -> Result<Vec<CallEvent>, CallError> {
        if let Some(received) = &self.received {
            let same_outcome = match reject {
                Some(reason) => self.rejected == Some(reason),
                None => self.rejected.is_none(),
            };
            return if received.same_as(&call) && same_outcome {
                Ok(vec![])
            } else {
                Err(CallError::AlreadyReceived)
            };
        }
        let received = CallEvent::CallReceived {
            call_sid: call.call_sid,
            from: call.from,
            to: call.to,
            business_id: call.business_id,
        };
        let next = match (route, reject) {
            (_, Some(reason)) => CallEvent::CallRejected { reason },
            (
                Some(Route::Owner {
                    owner_phone,
                    ring_timeout,
                }),
                None,
            ) => CallEvent::CallRoutedToOwner {
                owner_phone,
                ring_timeout,
            },
            (Some(Route::AiAgent { why }), None) => CallEvent::CallRoutedToAi { why },
            (Some(Route::Voicemail { why }), None) => CallEvent::CallRoutedToVoicemail { why },
            (None, None) => return Ok(vec![received]),
        };
        Ok(vec![received, next])
    }

    pub(super) fn require_received(&self) -> Result<(), CallError> {
        self.received
            .as_ref()
            .map(|_| ())
            .ok_or(CallError::NotFound)
    }

    /// Routing decides the future: only for a live, accepted call.
    fn require_routable(&self) -> Result<(), CallError> {
        self.require_received()?;
        if self.rejected.is_some() {
            return Err(CallError::Rejected);
        }
        if self.end.is_some() {
            return Err(CallError::Ended);
        }
        Ok(())
    }

    /// The owner's outcome is a fact about the past: accepted even after the call ended, as
    /// long as it answers a ring whose outcome is not yet known.
    fn require_owner_ringing(&self) -> Result<(), CallError> {
        self.require_received()?;
        match (self.leg, self.owner_outcome) {
            (CallLeg::RingingOwner, _) => Ok(()),
            (_, Some(OwnerOutcome::Answered)) => Err(CallError::OwnerAlreadyAnswered),
            (_, Some(OwnerOutcome::Missed(_))) => Err(CallError::OwnerOutcomeKnown),
            (_, None) => Err(CallError::OwnerNotRinging),
        }
    }

    fn require_ai_session_started(&self) -> Result<(), CallError> {
        self.require_received()?;
        match self.ai_session {
            AiSession::NotStarted => Err(CallError::NoAiSession),
            AiSession::Running | AiSession::Ended => Ok(()),
        }
    }
}

fn optional_text(field: &'static str, raw: Option<String>) -> Result<Option<String>, CallError> {
    match raw {
        Some(text) if !text.trim().is_empty() => Ok(Some(bounded_text(field, &text, SHORT_MAX)?)),
        _ => Ok(None),
    }
}

impl Aggregate for Call {
    const TYPE: &'static str = "Call";
    type Command = CallCommand;
    type Event = CallEvent;
    type Error = CallError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let events = self.decide(command)?;
        crate::record(self, events, sink).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        use CallEvent as E;
        match event {
            E::CallReceived {
                call_sid,
                from,
                to,
                business_id,
            } => {
                self.received = Some(IncomingCallState {
                    call_sid,
                    from,
                    to,
                    business_id,
                });
            }
            E::CallRejected { reason } => {
                self.rejected = Some(reason);
                self.leg = CallLeg::Rejected;
            }
            E::CallRoutedToOwner {
                owner_phone,
                ring_timeout,
            } => {
                self.leg = CallLeg::RingingOwner;
                self.owner_outcome = None;
                self.route = Some(Route::Owner {
                    owner_phone,
                    ring_timeout,
                });
            }
            E::OwnerAnswered { .. } => {
                self.leg = CallLeg::WithOwner;
                self.owner_outcome = Some(OwnerOutcome::Answered);
            }
            E::OwnerMissed { reason } => {
                self.leg = CallLeg::OwnerMissed;
                self.owner_outcome = Some(OwnerOutcome::Missed(reason));
            }
            E::CallRoutedToAi { why } => {
                self.route = Some(Route::AiAgent { why });
                self.leg = CallLeg::WithAiAgent;
                self.handled_by_ai = true;
                // Back with the agent after a transfer the owner missed: a new session opens.
                if self.ai_session == AiSession::Ended {
                    self.ai_session = AiSession::NotStarted;
                }
            }
            E::CallRoutedToVoicemail { why } => {
                self.route = Some(Route::Voicemail { why });
                self.leg = CallLeg::Voicemail;
                self.routed_to_voicemail = true;
            }
            E::AiSessionStarted { .. } => self.ai_session = AiSession::Running,
            E::TranscriptSegmentRecorded { .. } => {}
            E::MessageTaken { .. } => self.messages_taken += 1,
            E::AiSessionEnded { .. } => self.ai_session = AiSession::Ended,
            E::VoicemailRecorded { .. } => self.voicemail_recorded = true,
            E::VoicemailTranscribed {
                transcription_sid, ..
            }
            | E::VoicemailTranscriptionFailed {
                transcription_sid, ..
            } => self.voicemail_transcriptions.push(transcription_sid),
            E::RecordingAvailable { recording_sid, .. } => self.recordings.push(recording_sid),
            E::CallEnded {
                status,
                duration_secs,
            } => {
                self.end = Some(CallEnd {
                    status,
                    duration_secs,
                });
            }
            E::CallCostRecorded { price } => self.price = Some(price),
            E::CallSummarized { .. } => self.summarized = true,
            E::CallSummaryFailed { .. } => self.summary_failed = true,
            E::OwnerNotified {
                notification_id, ..
            }
            | E::OwnerNotificationFailed {
                notification_id, ..
            } => self.notifications.push(notification_id),
        }
    }
}

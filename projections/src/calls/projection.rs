//! Folds `Call` events into `calls`, `call_events` and `transcript_segments`.
//!
//! Set-based, for rebuild speed: per batch, one query loads the rows of the calls the batch
//! touches, the events fold into them in memory, and three statements write the result (an
//! `UNNEST` upsert of the changed calls, one `UNNEST` insert of the timeline rows, one of the
//! transcript rows). An event whose sequence is not above the row's `last_sequence` was applied
//! already and is skipped, so applying a batch twice changes nothing.
//!
//! The columns, event by event:
//! - `status`: `ringing` after `CallReceived`; `in_progress` once `OwnerAnswered` or
//!   `AiSessionStarted` while it is ringing; Twilio's final status at `CallEnded` (`no-answer`
//!   becomes `no_answer`); `rejected` at `CallRejected`, kept after the call ends. A late
//!   `OwnerAnswered` after `CallEnded` does not reopen the call.
//! - `route`: the latest `CallRoutedTo…` (`owner`, `ai`, `voicemail`).
//! - `handled_by`: `owner` once the owner answered; otherwise `voicemail` once a voicemail was
//!   recorded; otherwise `ai` once the call was routed to the AI agent or an AI session started;
//!   otherwise null. It only ever moves up that order.
//! - `owner_outcome`: `answered` or the miss reason of the latest ring of the owner's phone; a
//!   new ring (a transfer from the agent) clears it, as the aggregate does.
//! - `message` is the last `MessageTaken`, `messages_taken` counts them; `recording_*` and
//!   `cost_*` are the latest `RecordingAvailable` and `CallCostRecorded`; `started_at` and
//!   `ended_at` are the `received_at` of `CallReceived` and `CallEnded`.
//! - `summary` is the `CallSummarized` text; a `CallSummaryFailed` leaves it null and shows, with
//!   its reason, in the timeline only.
//! - `voicemail_transcript` is the text of the latest `VoicemailTranscribed` (shown on the call
//!   page only); a `VoicemailTranscriptionFailed` leaves it as it is and shows in the timeline.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::business::BusinessEvent;
use domain::call::{CallEvent, FinalStatus, MissReason, RejectReason, Urgency};
use domain::values::CallerId;
use infrastructure::event_store::RecordedEvent;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::tables::{load, upsert, Timeline, Transcript};
use super::{CallRoute, CallRow, CallStatus, HandledBy};
use crate::decode;
use crate::runtime::{Projection, ProjectionError};

/// The `calls` projection.
pub struct CallsProjection;

#[async_trait]
impl Projection for CallsProjection {
    fn name(&self) -> &'static str {
        "calls"
    }

    /// 2: `voicemail_transcript` (migration `20261125000012`).
    fn version(&self) -> i32 {
        2
    }

    async fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        // An erasure blanks what the calls' events before it wrote: apply those first.
        let mut run: Vec<&RecordedEvent> = Vec::with_capacity(events.len());
        for event in events {
            if event.aggregate_type == "Call" {
                run.push(event);
            } else if event.aggregate_type == "Business" && event.event_type == "CallerDataErased" {
                apply_calls(tx, std::mem::take(&mut run)).await?;
                if let BusinessEvent::CallerDataErased { calls, .. } =
                    decode::business_event(event)?
                {
                    let calls: Vec<String> = calls.into_iter().map(String::from).collect();
                    super::erase::erase_calls(tx, &calls).await?;
                }
            }
        }
        apply_calls(tx, run).await
    }
}

/// Folds a run of `Call` events into the tables.
async fn apply_calls(
    tx: &mut PgConnection,
    events: Vec<&RecordedEvent>,
) -> Result<(), ProjectionError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut sids: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
    sids.sort_unstable();
    sids.dedup();
    let mut calls = load(tx, &sids).await?;
    let mut timeline = Timeline::with_capacity(events.len());
    let mut transcript = Transcript::default();
    for event in events {
        if calls
            .get(&event.aggregate_id)
            .is_some_and(|call| event.sequence <= call.last_sequence)
        {
            continue; // applied already
        }
        let decoded = decode::call_event(event)?;
        let at = decode::received_at(event);
        if let CallEvent::TranscriptSegmentRecorded {
            speaker,
            text,
            offset_ms,
        } = &decoded
        {
            transcript.push(event, *speaker, text, *offset_ms);
        }
        timeline.push(event, at);
        match calls.get_mut(&event.aggregate_id) {
            Some(call) => call.apply(decoded, at),
            None => {
                let call = CallState::received(event, decoded, at)?;
                calls.insert(event.aggregate_id.clone(), call);
            }
        }
        if let Some(call) = calls.get_mut(&event.aggregate_id) {
            call.last_sequence = event.sequence;
            call.changed = true;
        }
    }
    upsert(tx, calls.values().filter(|call| call.changed)).await?;
    timeline.insert(tx).await?;
    transcript.insert(tx).await?;
    Ok(())
}

/// A row of `calls`, as loaded and folded: the row the queries show, plus what only the
/// projection needs. Field access goes through to the row.
pub(super) struct CallState {
    pub(super) row: CallRow,
    pub(super) message: Option<Value>,
    pub(super) voicemail_transcript: Option<String>,
    pub(super) last_sequence: i64,
    /// Whether this batch changed it (only those are written).
    pub(super) changed: bool,
}

impl std::ops::Deref for CallState {
    type Target = CallRow;
    fn deref(&self) -> &CallRow {
        &self.row
    }
}

impl std::ops::DerefMut for CallState {
    fn deref_mut(&mut self) -> &mut CallRow {
        &mut self.row
    }
}

/// The last message taken, as stored in `calls.message`.
#[derive(Serialize)]
struct MessageJson<'a> {
    caller_name: Option<&'a str>,
    callback_number: Option<&'a str>,
    message: &'a str,
    urgency: Urgency,
}

impl CallState {
    /// A new row from the call's first event, which is always `CallReceived`.
    fn received(
        event: &RecordedEvent,
        decoded: CallEvent,
        at: Option<DateTime<Utc>>,
    ) -> Result<Self, ProjectionError> {
        let CallEvent::CallReceived {
            from,
            to,
            business_id,
            ..
        } = decoded
        else {
            return Err(ProjectionError::bad_event(
                event,
                "the first event of a call must be CallReceived",
            ));
        };
        let Some(started_at) = at else {
            return Err(ProjectionError::bad_event(
                event,
                "CallReceived without received_at",
            ));
        };
        Ok(Self {
            row: CallRow {
                call_sid: event.aggregate_id.clone(),
                business_id: business_id.map(|id| id.0),
                phone_number: to,
                caller: Some(caller_text(from)),
                route: None,
                handled_by: None,
                status: CallStatus::Ringing,
                reject_reason: None,
                owner_outcome: None,
                started_at,
                ended_at: None,
                duration_secs: None,
                summary: None,
                messages_taken: 0,
                voicemail_url: None,
                voicemail_duration_secs: None,
                recording_sid: None,
                recording_url: None,
                recording_duration_secs: None,
                cost_amount: None,
                cost_currency: None,
            },
            message: None,
            voicemail_transcript: None,
            last_sequence: 0,
            changed: true,
        })
    }

    fn handled(&mut self, by: HandledBy) {
        self.handled_by = self.handled_by.max(Some(by));
    }

    fn taken(&mut self) {
        if self.status == CallStatus::Ringing {
            self.status = CallStatus::InProgress;
        }
    }

    fn apply(&mut self, event: CallEvent, at: Option<DateTime<Utc>>) {
        use CallEvent as E;
        match event {
            // A repeat of the first event cannot be appended; nothing to do.
            E::CallReceived { .. } => {}
            E::CallRejected { reason } => {
                self.status = CallStatus::Rejected;
                self.reject_reason = Some(reject_reason(reason).to_owned());
            }
            E::CallRoutedToOwner { .. } => {
                self.route = Some(CallRoute::Owner);
                self.owner_outcome = None;
            }
            E::OwnerAnswered { .. } => {
                self.owner_outcome = Some("answered".to_owned());
                self.handled(HandledBy::Owner);
                self.taken();
            }
            E::OwnerMissed { reason } => self.owner_outcome = Some(miss_reason(reason).to_owned()),
            E::CallRoutedToAi { .. } => {
                self.route = Some(CallRoute::Ai);
                self.handled(HandledBy::Ai);
            }
            E::CallRoutedToVoicemail { .. } => self.route = Some(CallRoute::Voicemail),
            E::AiSessionStarted { .. } => {
                self.handled(HandledBy::Ai);
                self.taken();
            }
            E::TranscriptSegmentRecorded { .. } | E::AiSessionEnded { .. } => {}
            E::MessageTaken {
                caller_name,
                callback_number,
                message,
                urgency,
            } => {
                self.messages_taken = self.messages_taken.saturating_add(1);
                self.message = serde_json::to_value(MessageJson {
                    caller_name: caller_name.as_deref(),
                    callback_number: callback_number.as_deref(),
                    message: &message,
                    urgency,
                })
                .ok();
            }
            E::VoicemailRecorded {
                recording_url,
                duration_secs,
            } => {
                self.voicemail_url = Some(recording_url);
                self.voicemail_duration_secs = Some(to_i32(duration_secs));
                self.handled(HandledBy::Voicemail);
            }
            E::VoicemailTranscribed { text, .. } => self.voicemail_transcript = Some(text),
            // Shown in the call's timeline; a transcript already there stays.
            E::VoicemailTranscriptionFailed { .. } => {}
            E::RecordingAvailable {
                recording_sid,
                recording_url,
                duration_secs,
            } => {
                self.recording_sid = Some(recording_sid);
                self.recording_url = Some(recording_url);
                self.recording_duration_secs = Some(to_i32(duration_secs));
            }
            E::CallEnded {
                status,
                duration_secs,
            } => {
                self.ended_at = at;
                self.duration_secs = duration_secs.map(to_i32);
                if self.status != CallStatus::Rejected {
                    self.status = final_status(status);
                }
            }
            E::CallCostRecorded { price } => {
                self.cost_amount = Some(price.amount);
                self.cost_currency = Some(price.currency);
            }
            E::CallSummarized { summary } => self.summary = Some(summary),
            // Shown in the call's timeline (`call_events`); `summary` stays empty.
            E::CallSummaryFailed { .. } => {}
            // Owner notifications: shown in the call's timeline only.
            E::OwnerNotified { .. } | E::OwnerNotificationFailed { .. } => {}
        }
    }
}

fn to_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn caller_text(from: CallerId) -> String {
    match from {
        CallerId::Number(number) => number.to_string(),
        CallerId::Withheld => "withheld".to_owned(),
        CallerId::Other(raw) => raw,
    }
}

fn final_status(status: FinalStatus) -> CallStatus {
    match status {
        FinalStatus::Completed => CallStatus::Completed,
        FinalStatus::Busy => CallStatus::Busy,
        FinalStatus::Failed => CallStatus::Failed,
        FinalStatus::NoAnswer => CallStatus::NoAnswer,
        FinalStatus::Canceled => CallStatus::Canceled,
    }
}

fn miss_reason(reason: MissReason) -> &'static str {
    match reason {
        MissReason::NoAnswer => "no_answer",
        MissReason::Busy => "busy",
        MissReason::Failed => "failed",
        MissReason::Canceled => "canceled",
        MissReason::NotAccepted => "not_accepted",
    }
}

fn reject_reason(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::UnknownNumber => "unknown_number",
        RejectReason::NumberReleased => "number_released",
        RejectReason::NumberSuspended => "number_suspended",
        RejectReason::NumberUnassigned => "number_unassigned",
        RejectReason::BusinessInactive => "business_inactive",
    }
}

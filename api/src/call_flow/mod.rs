//! The call flow of DESIGN.md: what each Twilio webhook does to a call — commands on the
//! aggregates — and what we answer.
//!
//! Routing reads only the write side (the `PhoneNumber` and `Business` aggregates this node
//! holds, caught up with one query each), so it never waits on a projection. Twilio retries and
//! reorders its callbacks: every answer is derived from the call's recorded state, so a retry
//! gets the same answer and appends nothing, and a late callback is recorded as the fact it is.
//! When the event store does not answer within the configured bound, the caller is still
//! served: from the routing data held in memory, else with an apology — never with Twilio's
//! "application error".

pub mod answers;
mod transcription;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::business::Business;
use domain::call::{
    Call, CallCommand, CallLeg, FinalStatus, IncomingCall, MissReason, RejectReason,
};
use domain::phone_number::NumberStatus;
use domain::routing::{self, Route, RouteReason};
use domain::values::{BusinessId, CallSid, CallerId, Money, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{StoreError, Stores};

pub use answers::Answer;

use crate::metrics::CallsRouted;
use crate::twilio::{SignedWebhook, WebhookError, WebhookParams};

/// One webhook as the flow sees it.
pub struct Webhook<'a> {
    /// Our path it came to, for the events' causation.
    pub path: &'static str,
    /// Its parameters.
    pub params: &'a WebhookParams,
    /// Twilio's idempotency token, if sent.
    pub idempotency_token: Option<&'a str>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

impl<'a> Webhook<'a> {
    /// A webhook that arrived now at `path`.
    pub fn arrived(path: &'static str, signed: &'a SignedWebhook) -> Self {
        Self {
            path,
            params: &signed.params,
            idempotency_token: signed.idempotency_token.as_deref(),
            received_at: Utc::now(),
        }
    }

    fn call_sid(&self) -> Result<CallSid, WebhookError> {
        self.params.call_sid().ok_or(WebhookError::MissingParameter(
            "CallSid is missing or malformed",
        ))
    }

    /// Metadata for the events this webhook causes: the webhook's parameters ride along.
    fn metadata(&self, call_sid: &CallSid) -> CommandMetadata {
        let mut metadata = CommandMetadata::new(
            call_sid.as_ref(),
            format!("webhook:{}", self.path),
            Actor::Twilio,
            self.received_at,
        );
        for (name, value) in self.params.iter() {
            metadata = metadata.with(name.as_str(), value.as_str());
        }
        if let Some(token) = self.idempotency_token {
            metadata = metadata.with("idempotency_token", token);
        }
        metadata
    }
}

/// Why the flow could not use the event store.
#[derive(Debug, thiserror::Error)]
enum Trouble {
    #[error("the event store did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the event store failed: {0}")]
    Store(String),
}

fn store_trouble<E: std::error::Error>(err: StoreError<E>) -> Trouble {
    Trouble::Store(err.to_string())
}

/// Carries out the call flow for Twilio's webhooks.
pub struct CallFlow {
    stores: Arc<Stores>,
    store_timeout: Duration,
    routed: Option<CallsRouted>,
}

impl CallFlow {
    /// A flow over the write side, waiting at most `store_timeout` for the event store.
    pub fn new(stores: Arc<Stores>, store_timeout: Duration) -> Self {
        Self {
            stores,
            store_timeout,
            routed: None,
        }
    }

    /// Counts the routes calls are sent on into `routed`.
    pub fn with_metrics(mut self, routed: CallsRouted) -> Self {
        self.routed = Some(routed);
        self
    }

    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, Trouble>>,
    ) -> Result<T, Trouble> {
        match tokio::time::timeout(self.store_timeout, work).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => Err(Trouble::Timeout(self.store_timeout)),
        }
    }

    /// `POST /twilio/voice/incoming`: record the call and route it (or turn it away).
    pub async fn incoming(&self, hook: &Webhook<'_>) -> Result<Answer, WebhookError> {
        let call_sid = hook.call_sid()?;
        match self.bounded(self.receive(&call_sid, hook)).await {
            Ok(answer) => Ok(answer),
            Err(trouble) => {
                tracing::error!(call_sid = %call_sid, error = %trouble, "answering an incoming call from memory");
                Ok(self.incoming_from_memory(hook))
            }
        }
    }

    async fn receive(&self, call_sid: &CallSid, hook: &Webhook<'_>) -> Result<Answer, Trouble> {
        let to = hook.params.get("To").unwrap_or_default();
        let (business, verdict) = self.routing_facts(to).await?;
        let call = IncomingCall {
            call_sid: call_sid.clone(),
            from: CallerId::from_twilio(hook.params.get("From").unwrap_or_default()),
            to: to.to_owned(),
            business_id: business.as_ref().and_then(|b| b.id),
        };
        let command = match (&business, verdict) {
            (Some(business), None) => CallCommand::Receive {
                call,
                route: routing::route_new_call(business, hook.received_at),
            },
            (_, Some(reason)) => CallCommand::Reject { call, reason },
            (None, None) => CallCommand::Reject {
                call,
                reason: RejectReason::UnknownNumber,
            },
        };
        let call = self.execute(call_sid, command, hook).await?;
        Ok(answer_for(&call, business.as_ref()))
    }

    /// The business a number rings for, and why the call must be turned away, if it must.
    async fn routing_facts(
        &self,
        to: &str,
    ) -> Result<(Option<Business>, Option<RejectReason>), Trouble> {
        let Ok(number) = E164::parse(to) else {
            return Ok((None, Some(RejectReason::UnknownNumber)));
        };
        let number = self
            .stores
            .numbers
            .load(number.as_ref())
            .await
            .map_err(store_trouble)?
            .aggregate;
        let business_id = match (number.status, number.business_id) {
            (NumberStatus::Unknown, _) => return Ok((None, Some(RejectReason::UnknownNumber))),
            (NumberStatus::Released, _) => return Ok((None, Some(RejectReason::NumberReleased))),
            (NumberStatus::Suspended, _) => return Ok((None, Some(RejectReason::NumberSuspended))),
            (NumberStatus::Active, None) => {
                return Ok((None, Some(RejectReason::NumberUnassigned)))
            }
            (NumberStatus::Active, Some(business_id)) => business_id,
        };
        let business = self.business(Some(business_id)).await?;
        Ok(match business {
            None => (None, Some(RejectReason::NumberUnassigned)),
            Some(business) if !business.active => {
                (Some(business), Some(RejectReason::BusinessInactive))
            }
            Some(business) => (Some(business), None),
        })
    }

    async fn business(&self, id: Option<BusinessId>) -> Result<Option<Business>, Trouble> {
        let Some(id) = id else { return Ok(None) };
        let business = self
            .stores
            .businesses
            .load(&id.to_string())
            .await
            .map_err(store_trouble)?
            .aggregate;
        Ok(business.id.is_some().then_some(business))
    }

    async fn load_call(&self, call_sid: &CallSid) -> Result<Call, Trouble> {
        Ok(self
            .stores
            .calls
            .load(call_sid.as_ref())
            .await
            .map_err(store_trouble)?
            .aggregate)
    }

    /// Runs a command on the call. A refusal is not a failure here: Twilio told us a fact
    /// that the call's state already reflects (a retry, a late or reordered callback), so it is
    /// logged and the call's current state is returned.
    async fn execute(
        &self,
        call_sid: &CallSid,
        command: CallCommand,
        hook: &Webhook<'_>,
    ) -> Result<Call, Trouble> {
        match self
            .stores
            .calls
            .execute(call_sid.as_ref(), command, &hook.metadata(call_sid))
            .await
        {
            Ok(committed) => {
                // Only what this command appended: a retried webhook appends nothing.
                if let Some(routed) = &self.routed {
                    routed.count(committed.events.iter().map(|event| &event.payload));
                }
                Ok(committed.aggregate)
            }
            Err(StoreError::Rejected(refusal)) => {
                tracing::warn!(call_sid = %call_sid, webhook = hook.path, %refusal, "nothing to record for this webhook");
                self.load_call(call_sid).await
            }
            Err(other) => Err(store_trouble(other)),
        }
    }

    /// Without the event store: ring the owner from the routing data held in memory, else
    /// voicemail for a business we know, else an apology.
    fn incoming_from_memory(&self, hook: &Webhook<'_>) -> Answer {
        let to = hook.params.get("To").unwrap_or_default();
        match self.business_in_memory(to) {
            Some(business) => match routing::route_new_call(&business, hook.received_at) {
                Route::Owner {
                    owner_phone,
                    ring_timeout,
                } => Answer::RingOwner {
                    owner_phone,
                    ring_timeout,
                    caller_id: to.to_owned(),
                },
                Route::AiAgent { .. } | Route::Voicemail { .. } => Answer::Voicemail {
                    business_name: Some(business.name),
                },
            },
            None => Answer::Apology(answers::TECHNICAL_TROUBLE),
        }
    }

    fn business_in_memory(&self, to: &str) -> Option<Business> {
        let number = self.stores.numbers.held_in_memory(to)?;
        let business = self
            .stores
            .businesses
            .held_in_memory(&number.rings_for()?.to_string())?;
        business.active.then_some(business)
    }

    /// `POST /twilio/voice/screen`, on the owner's leg before bridging: ask the owner to press 1.
    pub async fn screen(&self, hook: &Webhook<'_>) -> Answer {
        let parent = hook
            .params
            .get("ParentCallSid")
            .and_then(|raw| CallSid::parse(raw).ok());
        let name = async {
            let Some(parent) = parent else {
                return Ok(None);
            };
            let call = self.load_call(&parent).await?;
            let business = self
                .business(call.received.and_then(|r| r.business_id))
                .await?;
            Ok(business.map(|b| b.name))
        };
        let business_name = self.bounded(name).await.unwrap_or_else(|trouble| {
            tracing::warn!(error = %trouble, "screening without the business name");
            None
        });
        Answer::Screen { business_name }
    }

    /// `POST /twilio/voice/screen-result`: 1 takes the call; anything else (a voicemail box
    /// answered) hangs up the owner's leg, so the caller's `<Dial>` ends unbridged.
    pub fn screen_result(&self, hook: &Webhook<'_>) -> Answer {
        if hook.params.get("Digits").map(str::trim) == Some("1") {
            Answer::Proceed
        } else {
            Answer::Hangup
        }
    }

    /// `POST /twilio/voice/dial-result`: the owner took the call, or the call falls back.
    pub async fn dial_result(&self, hook: &Webhook<'_>) -> Result<Answer, WebhookError> {
        let call_sid = hook.call_sid()?;
        match self.bounded(self.after_dial(&call_sid, hook)).await {
            Ok(answer) => Ok(answer),
            Err(trouble) => {
                tracing::error!(call_sid = %call_sid, error = %trouble, "answering a dial result from memory");
                Ok(match owner_outcome(hook.params) {
                    OwnerOutcome::Answered { .. } => Answer::Hangup,
                    OwnerOutcome::Missed(_) => {
                        match self.business_in_memory(hook.params.get("To").unwrap_or_default()) {
                            Some(business) => Answer::Voicemail {
                                business_name: Some(business.name),
                            },
                            None => Answer::Apology(answers::TECHNICAL_TROUBLE),
                        }
                    }
                })
            }
        }
    }

    async fn after_dial(&self, call_sid: &CallSid, hook: &Webhook<'_>) -> Result<Answer, Trouble> {
        let call = self.load_call(call_sid).await?;
        let Some(received) = &call.received else {
            tracing::warn!(call_sid = %call_sid, "dial result for a call never recorded; taking a voicemail");
            let business = self
                .routing_facts(hook.params.get("To").unwrap_or_default())
                .await?
                .0;
            return Ok(Answer::Voicemail {
                business_name: business.map(|b| b.name),
            });
        };
        let business = self.business(received.business_id).await?;
        if call.leg != CallLeg::RingingOwner {
            // A retry, or a result that arrives after the call moved on: answer from the state.
            return Ok(answer_after_dial(&call, business.as_ref()));
        }
        let command = match owner_outcome(hook.params) {
            OwnerOutcome::Answered { dial_call_sid } => {
                CallCommand::RecordOwnerAnswered { dial_call_sid }
            }
            OwnerOutcome::Missed(reason) => CallCommand::RecordOwnerMissed { reason },
        };
        let call = self.execute(call_sid, command, hook).await?;
        if call.leg != CallLeg::OwnerMissed || call.end.is_some() {
            return Ok(answer_after_dial(&call, business.as_ref()));
        }
        let command = match business
            .as_ref()
            .map(|b| routing::fallback(b, RouteReason::OwnerMissed))
        {
            Some(Route::AiAgent { why }) => CallCommand::RouteToAi { why },
            Some(Route::Voicemail { why }) => CallCommand::RouteToVoicemail { why },
            Some(Route::Owner { .. }) | None => CallCommand::RouteToVoicemail {
                why: RouteReason::OwnerMissed,
            },
        };
        let call = self.execute(call_sid, command, hook).await?;
        Ok(answer_after_dial(&call, business.as_ref()))
    }

    /// `POST /twilio/voice/voicemail` (the `<Record action>`): keep the caller's message.
    pub async fn voicemail(&self, hook: &Webhook<'_>) -> Result<Answer, WebhookError> {
        let call_sid = hook.call_sid()?;
        let recorded = async {
            let call = self.load_call(&call_sid).await?;
            if call.received.is_none() {
                tracing::warn!(call_sid = %call_sid, "voicemail for a call never recorded");
                return Ok(());
            }
            if call.leg == CallLeg::WithAiAgent {
                // The agent's stream ended without the call ending: the caller went on to the
                // voicemail that follows it in the TwiML.
                self.execute(
                    &call_sid,
                    CallCommand::RouteToVoicemail {
                        why: RouteReason::AgentFailed,
                    },
                    hook,
                )
                .await?;
            }
            let url = hook.params.get("RecordingUrl");
            let duration = hook.params.seconds("RecordingDuration").unwrap_or(0);
            if let (Some(url), true) = (url, duration > 0) {
                let command = CallCommand::RecordVoicemail {
                    recording_url: url.to_owned(),
                    duration_secs: duration,
                };
                self.execute(&call_sid, command, hook).await?;
            }
            Ok(())
        };
        if let Err(trouble) = self.bounded(recorded).await {
            tracing::error!(call_sid = %call_sid, error = %trouble, "voicemail not recorded");
        }
        Ok(Answer::Goodbye)
    }

    /// `POST /twilio/voice/status`: the call's end, duration and price, when final.
    pub async fn status(&self, hook: &Webhook<'_>) -> Result<(), WebhookError> {
        let status = match hook.params.get("CallStatus") {
            Some("completed") => FinalStatus::Completed,
            Some("busy") => FinalStatus::Busy,
            Some("failed") => FinalStatus::Failed,
            Some("no-answer") => FinalStatus::NoAnswer,
            Some("canceled") => FinalStatus::Canceled,
            Some("queued" | "initiated" | "ringing" | "in-progress") => return Ok(()),
            other => {
                tracing::warn!(status = ?other, "status callback with an unknown CallStatus");
                return Ok(());
            }
        };
        let call_sid = hook.call_sid()?;
        let duration_secs = hook
            .params
            .seconds("CallDuration")
            .or_else(|| hook.params.seconds("Duration"));
        let price = price(hook.params);
        let recorded = async {
            self.execute(
                &call_sid,
                CallCommand::End {
                    status,
                    duration_secs,
                },
                hook,
            )
            .await?;
            if let Some(price) = price {
                self.execute(&call_sid, CallCommand::RecordCost { price }, hook)
                    .await?;
            }
            Ok(())
        };
        if let Err(trouble) = self.bounded(recorded).await {
            tracing::error!(call_sid = %call_sid, error = %trouble, "call end not recorded");
        }
        Ok(())
    }

    /// `POST /twilio/voice/recording`: a recording of the call is ready.
    pub async fn recording(&self, hook: &Webhook<'_>) -> Result<(), WebhookError> {
        let call_sid = hook.call_sid()?;
        match hook.params.get("RecordingStatus") {
            Some("completed") => {}
            other => {
                tracing::info!(call_sid = %call_sid, status = ?other, error_code = ?hook.params.get("ErrorCode"), "recording not available");
                return Ok(());
            }
        }
        let (Some(recording_sid), Some(recording_url)) = (
            hook.params.get("RecordingSid"),
            hook.params.get("RecordingUrl"),
        ) else {
            return Err(WebhookError::MissingParameter(
                "RecordingSid and RecordingUrl are required",
            ));
        };
        let command = CallCommand::AttachRecording {
            recording_sid: recording_sid.to_owned(),
            recording_url: recording_url.to_owned(),
            duration_secs: hook.params.seconds("RecordingDuration").unwrap_or(0),
        };
        if let Err(trouble) = self.bounded(self.execute(&call_sid, command, hook)).await {
            tracing::error!(call_sid = %call_sid, error = %trouble, "recording not recorded");
        }
        Ok(())
    }
}

/// What Twilio's `<Dial>` result says of the owner.
enum OwnerOutcome {
    Answered { dial_call_sid: Option<String> },
    Missed(MissReason),
}

/// The owner took the call only if the legs were bridged: with screening, a carrier voicemail
/// that picks up answers the owner's leg but is hung up at the screen, unbridged.
fn owner_outcome(params: &WebhookParams) -> OwnerOutcome {
    let bridged = params
        .get("DialBridged")
        .map(|raw| raw.eq_ignore_ascii_case("true"));
    match params.get("DialCallStatus") {
        Some("completed" | "answered") if bridged != Some(false) => OwnerOutcome::Answered {
            dial_call_sid: params.get("DialCallSid").map(str::to_owned),
        },
        Some("completed" | "answered") => OwnerOutcome::Missed(MissReason::NotAccepted),
        Some("busy") => OwnerOutcome::Missed(MissReason::Busy),
        Some("no-answer") => OwnerOutcome::Missed(MissReason::NoAnswer),
        Some("canceled") => OwnerOutcome::Missed(MissReason::Canceled),
        Some("failed") => OwnerOutcome::Missed(MissReason::Failed),
        other => {
            tracing::warn!(status = ?other, "dial result without a known DialCallStatus; treating it as failed");
            OwnerOutcome::Missed(MissReason::Failed)
        }
    }
}

/// Twilio's `Price` (negative decimal string) and `PriceUnit`, when both are given.
fn price(params: &WebhookParams) -> Option<Money> {
    let amount = params.get("Price")?.trim().parse().ok()?;
    Money::new(amount, params.get("PriceUnit")?).ok()
}

/// The answer to the incoming-call webhook for the call as recorded.
fn answer_for(call: &Call, business: Option<&Business>) -> Answer {
    if let Some(reason) = call.rejected {
        return Answer::Apology(match reason {
            RejectReason::UnknownNumber
            | RejectReason::NumberReleased
            | RejectReason::NumberUnassigned => answers::NOT_IN_SERVICE,
            RejectReason::NumberSuspended | RejectReason::BusinessInactive => {
                answers::NOT_TAKING_CALLS
            }
        });
    }
    let business_name = business.map(|b| b.name.clone());
    match (&call.route, &call.received) {
        (
            Some(Route::Owner {
                owner_phone,
                ring_timeout,
            }),
            Some(received),
        ) => Answer::RingOwner {
            owner_phone: owner_phone.clone(),
            ring_timeout: *ring_timeout,
            caller_id: received.to.clone(),
        },
        (Some(Route::AiAgent { .. }), Some(received)) => Answer::AiAgent {
            call_sid: received.call_sid.clone(),
            business_id: received.business_id,
            business_name,
        },
        (Some(Route::Voicemail { .. }), _) => Answer::Voicemail { business_name },
        _ => Answer::Apology(answers::TECHNICAL_TROUBLE),
    }
}

/// The answer to the dial result: nothing more once the owner took the call or the call is
/// over; else the fallback the call was routed to.
fn answer_after_dial(call: &Call, business: Option<&Business>) -> Answer {
    if call.end.is_some() || call.leg == CallLeg::WithOwner {
        Answer::Hangup
    } else {
        answer_for(call, business)
    }
}

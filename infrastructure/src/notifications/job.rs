//! Working one job: what the happening was, whether and how the owner wants to hear of it,
//! sending on each channel that has no outcome yet, and recording each outcome on the call.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::persist::PersistedEventRepository;
use cqrs_es::Aggregate;
use domain::business::{Business, NotificationChannel, NotificationTrigger};
use domain::call::{Call, CallCommand, CallEvent, NotificationOutcome};
use domain::{Actor, CommandMetadata};
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;

use super::email::Mailer;
use super::queue::{self, Happening, Job};
use super::text::{About, Facts};
use super::{Clock, NotifyPolicy};
use crate::event_store::{StoreError, Stores};
use crate::privacy::PersonalData;
use crate::twilio::rest::{TwilioClient, TwilioError};

/// A failure that leaves the job queued as it was (the database, mostly).
#[derive(Debug, thiserror::Error)]
pub(super) enum WorkError {
    #[error("the event store failed: {0}")]
    Store(String),
    #[error("the database failed")]
    Database(#[from] sqlx::Error),
}

/// What one channel's try came to.
enum Tried {
    /// An outcome to record (sent, or failed for good).
    Outcome(NotificationOutcome),
    /// Quiet hours: try again then.
    Held(DateTime<Utc>),
    /// A failure worth trying again.
    Transient(String),
}

/// Everything a job needs; shared by the jobs in flight.
pub(super) struct Worker {
    pub(super) pool: PgPool,
    pub(super) stores: Arc<Stores>,
    pub(super) twilio: Option<TwilioClient>,
    pub(super) mailer: Option<Mailer>,
    pub(super) privacy: Option<PersonalData>,
    pub(super) dashboard_base: Option<url::Url>,
    pub(super) policy: NotifyPolicy,
    pub(super) clock: Clock,
}

impl Worker {
    /// Works `job`; database failures leave it to come back when its lease ends.
    #[tracing::instrument(name = "notify", skip_all, fields(call_sid = %job.call_sid, global_position = job.global_position))]
    pub(super) async fn run(self: Arc<Self>, job: Job) {
        if let Err(err) = self.work(&job).await {
            tracing::warn!(error = %err, "notification job failed; it comes back after its lease");
        }
    }

    async fn work(&self, job: &Job) -> Result<(), WorkError> {
        let call = self.load_call(&job.call_sid).await?;
        let Some(received) = call.received.clone() else {
            return Ok(queue::finish(&self.pool, job.global_position).await?);
        };
        let Some(business_id) = received.business_id else {
            return Ok(queue::finish(&self.pool, job.global_position).await?);
        };
        let business = self
            .stores
            .businesses
            .load(&business_id.to_string())
            .await
            .map_err(|err| WorkError::Store(err.to_string()))?
            .aggregate;
        let (trigger, about) = match self.what_happened(job, &call).await? {
            Some(found) => found,
            None => return Ok(queue::finish(&self.pool, job.global_position).await?),
        };
        let facts = Facts {
            business: business.name.clone(),
            timezone: business.timezone,
            caller: received.from.clone(),
            at: self.received_at(&job.call_sid).await,
            about,
            link: self.link(&job.call_sid),
        };
        let mut held: Option<DateTime<Utc>> = None;
        let mut transient: Vec<(NotificationChannel, String)> = Vec::new();
        for channel in self.channels(&business, trigger) {
            let id = format!("{}-{}", job.global_position, channel.as_str());
            if call.notification_settled(&id) {
                continue;
            }
            let tried = match channel {
                NotificationChannel::Sms => self.text(&business, &received.to, &facts).await,
                NotificationChannel::Email => self.email(&business, &facts).await,
            };
            match tried {
                Tried::Outcome(outcome) => {
                    self.record(job, &id, trigger, channel, outcome).await?;
                }
                Tried::Held(until) => held = Some(held.map_or(until, |h| h.min(until))),
                Tried::Transient(reason) => transient.push((channel, reason)),
            }
        }
        self.settle(job, trigger, held, transient).await
    }

    /// Finishes the job, or puts it off: until the quiet hours end, or with backoff after a
    /// failure; a job that keeps failing records its channels as failed.
    async fn settle(
        &self,
        job: &Job,
        trigger: NotificationTrigger,
        held: Option<DateTime<Utc>>,
        transient: Vec<(NotificationChannel, String)>,
    ) -> Result<(), WorkError> {
        let now = (self.clock)();
        if transient.is_empty() {
            return match held {
                None => Ok(queue::finish(&self.pool, job.global_position).await?),
                Some(until) => {
                    let why = "waiting for the end of the quiet hours";
                    Ok(
                        queue::later(&self.pool, job.global_position, job.attempts, until, why)
                            .await?,
                    )
                }
            };
        }
        let attempts = job.attempts.saturating_add(1);
        if self.policy.gives_up(attempts, job.age) {
            for (channel, reason) in transient {
                let id = format!("{}-{}", job.global_position, channel.as_str());
                let reason = format!("gave up after {attempts} attempts: {reason}");
                tracing::warn!(%reason, channel = channel.as_str(), "owner notification failed");
                let outcome = NotificationOutcome::Failed { reason };
                self.record(job, &id, trigger, channel, outcome).await?;
            }
            return match held {
                None => Ok(queue::finish(&self.pool, job.global_position).await?),
                Some(until) => {
                    let why = "waiting for the end of the quiet hours";
                    Ok(queue::later(&self.pool, job.global_position, attempts, until, why).await?)
                }
            };
        }
        let retry = now
            + chrono::Duration::from_std(self.policy.delay(attempts))
                .unwrap_or_else(|_| chrono::Duration::minutes(10));
        let at = held.map_or(retry, |until| until.min(retry));
        let why: Vec<String> = transient
            .iter()
            .map(|(channel, reason)| format!("{}: {reason}", channel.as_str()))
            .collect();
        tracing::info!(attempts, retry_at = %at, why = %why.join("; "), "owner notification will be tried again");
        Ok(queue::later(
            &self.pool,
            job.global_position,
            attempts,
            at,
            &why.join("; "),
        )
        .await?)
    }

    /// The channels the owner wants for `trigger` that this deployment can use.
    fn channels(
        &self,
        business: &Business,
        trigger: NotificationTrigger,
    ) -> Vec<NotificationChannel> {
        business
            .notifications
            .channels_for(trigger)
            .into_iter()
            .filter(|channel| match channel {
                NotificationChannel::Sms => self.twilio.is_some(),
                NotificationChannel::Email => self.mailer.is_some(),
            })
            .collect()
    }

    /// The trigger and facts of the job's event; `None` when it notifies nobody (a call that
    /// ended after someone took it).
    async fn what_happened(
        &self,
        job: &Job,
        call: &Call,
    ) -> Result<Option<(NotificationTrigger, About)>, WorkError> {
        if job.happening == Happening::CallEnded {
            return Ok(call
                .was_missed()
                .then_some((NotificationTrigger::MissedCall, About::MissedCall)));
        }
        let event = self.read_event(&job.call_sid, job.sequence).await?;
        Ok(match event {
            Some(CallEvent::MessageTaken {
                caller_name,
                callback_number,
                message,
                urgency,
            }) => Some((
                NotificationTrigger::MessageTaken,
                About::Message {
                    caller_name,
                    callback_number,
                    message,
                    urgency,
                },
            )),
            Some(CallEvent::VoicemailRecorded { duration_secs, .. }) => Some((
                NotificationTrigger::VoicemailRecorded,
                About::Voicemail { duration_secs },
            )),
            other => {
                tracing::error!(?other, "the queued event is not what the job says; dropped");
                None
            }
        })
    }

    /// Event `sequence` of the call, its personal fields opened.
    async fn read_event(&self, sid: &str, sequence: i64) -> Result<Option<CallEvent>, WorkError> {
        let mut stored = PostgresEventRepository::new(self.pool.clone())
            .get_events::<Call>(sid)
            .await
            .map_err(|err| WorkError::Store(err.to_string()))?;
        stored.retain(|event| i64::try_from(event.sequence).ok() == Some(sequence));
        if let Some(privacy) = &self.privacy {
            privacy
                .open(&mut stored)
                .await
                .map_err(|err| WorkError::Store(err.to_string()))?;
        }
        Ok(stored.into_iter().next().and_then(|event| {
            serde_json::from_value::<<Call as Aggregate>::Event>(event.payload).ok()
        }))
    }

    async fn load_call(&self, sid: &str) -> Result<Call, WorkError> {
        Ok(self
            .stores
            .calls
            .load(sid)
            .await
            .map_err(|err| WorkError::Store(err.to_string()))?
            .aggregate)
    }

    /// When the call came in (its first event's `received_at`).
    async fn received_at(&self, sid: &str) -> Option<DateTime<Utc>> {
        sqlx::query_scalar::<_, String>(
            "SELECT metadata->>'received_at' FROM events \
              WHERE aggregate_type = 'Call' AND aggregate_id = $1 AND sequence = 1",
        )
        .bind(sid)
        .fetch_optional(&self.pool)
        .await
        .ok()
        .flatten()
        .and_then(|raw| DateTime::parse_from_rfc3339(&raw).ok())
        .map(|at| at.with_timezone(&Utc))
    }

    fn link(&self, sid: &str) -> Option<String> {
        let base = self.dashboard_base.as_ref()?;
        base.join(&format!("dashboard/calls/{sid}"))
            .ok()
            .map(String::from)
    }

    async fn text(&self, business: &Business, called: &str, facts: &Facts) -> Tried {
        let Some(twilio) = &self.twilio else {
            return Tried::Outcome(failed("text messages are not configured"));
        };
        let Some(owner_phone) = business.owner_phone.clone() else {
            return Tried::Outcome(failed("the business has no owner phone"));
        };
        if let Some(quiet) = business.notifications.quiet_hours {
            if let Some(until) = quiet.resume_at((self.clock)(), business.timezone) {
                return Tried::Held(until);
            }
        }
        match twilio.send_sms(called, &owner_phone, &facts.sms()).await {
            Ok(sid) => Tried::Outcome(NotificationOutcome::Sent {
                to: owner_phone.to_string(),
                provider_id: Some(sid),
            }),
            // Twilio took the message but its answer was unreadable: it is on its way.
            Err(TwilioError::UnexpectedAnswer(answer)) => {
                tracing::warn!(%answer, "twilio accepted a text message with an unreadable answer");
                Tried::Outcome(NotificationOutcome::Sent {
                    to: owner_phone.to_string(),
                    provider_id: None,
                })
            }
            Err(err) if sms_failure_is_final(&err) => Tried::Outcome(failed(&err.to_string())),
            Err(err) => Tried::Transient(err.to_string()),
        }
    }

    async fn email(&self, business: &Business, facts: &Facts) -> Tried {
        let Some(mailer) = &self.mailer else {
            return Tried::Outcome(failed("email is not configured"));
        };
        let Some(owner) = business.owner_user_id else {
            return Tried::Outcome(failed("the business has no owner account"));
        };
        let address = match crate::accounts::profile(&self.pool, owner).await {
            Ok(Some(profile)) => profile.email,
            Ok(None) => return Tried::Outcome(failed("the owner's account is closed")),
            Err(err) => return Tried::Transient(format!("cannot read the owner's account: {err}")),
        };
        match mailer
            .send(&address, &facts.email_subject(), facts.email_body())
            .await
        {
            Ok(()) => Tried::Outcome(NotificationOutcome::Sent {
                to: address,
                provider_id: None,
            }),
            Err(err) if err.is_transient() => Tried::Transient(err.to_string()),
            Err(err) => Tried::Outcome(failed(&err.to_string())),
        }
    }

    /// Records a channel's outcome on the call (actor `system`, causation
    /// `notification:<position>`). A repeat (another node got there first) records nothing.
    async fn record(
        &self,
        job: &Job,
        id: &str,
        trigger: NotificationTrigger,
        channel: NotificationChannel,
        outcome: NotificationOutcome,
    ) -> Result<(), WorkError> {
        let metadata = CommandMetadata::new(
            job.call_sid.clone(),
            format!("notification:{}", job.global_position),
            Actor::System,
            (self.clock)(),
        );
        let command = CallCommand::RecordNotification {
            notification_id: id.to_owned(),
            trigger,
            channel,
            outcome,
        };
        match self
            .stores
            .calls
            .execute(&job.call_sid, command, &metadata)
            .await
        {
            Ok(_) => Ok(()),
            Err(StoreError::Rejected(rejection)) => {
                tracing::warn!(%rejection, "the call refused the notification's outcome");
                Ok(())
            }
            Err(err) => Err(WorkError::Store(err.to_string())),
        }
    }
}

fn failed(reason: &str) -> NotificationOutcome {
    NotificationOutcome::Failed {
        reason: reason.to_owned(),
    }
}

/// Twilio refused the message itself (a bad or unsubscribed number, a sender that cannot
/// text): sending again will not help. Rate limits, 5xx and no connection may pass.
fn sms_failure_is_final(err: &TwilioError) -> bool {
    match err {
        TwilioError::Api { status, .. } => (400..500).contains(status) && *status != 429,
        TwilioError::BadConfig(_) => true,
        TwilioError::RateLimited
        | TwilioError::Unreachable(_)
        | TwilioError::UnexpectedAnswer(_) => false,
    }
}

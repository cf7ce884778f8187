//! Owner notifications: when the agent takes a message, a caller leaves a voicemail, or a call
//! is missed, the business' owner gets a text message (Twilio's Messages API, from the number
//! that was called) and, where the deployment has SMTP settings, an email — as the business'
//! notification settings say (which happenings, which channels, quiet hours for texts).
//!
//! **Hearing of happenings.** With `AMQP_URL` set, every node consumes the durable queue
//! `callassist.notifications`, bound to the relay's exchange for `Call.MessageTaken`,
//! `Call.VoicemailRecorded` and `Call.CallEnded` ([`amqp`]); a message is acknowledged only after
//! its job is stored. Without RabbitMQ, one node (the holder of an advisory lock) follows the
//! global stream from a checkpoint of its own ([`stream`]), moved in the same transaction as
//! the jobs it queues. Either way a job's id is its event's global position, so a redelivery,
//! a second node or a restart queues it once. The first time the notifier runs on a database
//! it starts at the stream's end, and happenings older than [`NotifyPolicy::max_age`] are
//! skipped: turning notifications on never texts an owner about last month's calls.
//!
//! **Sending.** Every node works on due jobs, claiming each under a lease ([`queue`]). A job
//! reads the call and its business from the event store, decides the channels (a missed call
//! is decided when its grace period is over, so a late voicemail callback counts), and sends on
//! each channel that has no outcome yet. Each outcome is an event on the call —
//! `OwnerNotified` or `OwnerNotificationFailed`, id `<global position>-<channel>` — which the
//! call accepts once, so a notification is recorded exactly once and shown in the call's
//! timeline. A refusal (an invalid number, an address the mail server refuses) is recorded at
//! once; a failure that may pass (Twilio 5xx or rate limits, no connection) is tried again
//! with backoff and recorded as failed after [`NotifyPolicy::give_up_after_attempts`].
//!
//! **At least once.** A node that dies between handing a text to Twilio and recording it sends
//! it again when the job's lease ends; Twilio's API has no idempotency key for messages.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::event_store::{RecordedEvent, Stores};
use crate::privacy::PersonalData;
use crate::twilio::rest::TwilioClient;

mod amqp;
pub mod email;
mod job;
mod queue;
mod stream;
pub mod text;

pub use email::{MailError, Mailer};
pub use queue::{pending, Happening};

/// The notifier's clock: tests stand in a fixed time for quiet hours.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How long a worker may hold a claimed job before another may take it.
const LEASE: Duration = Duration::from_secs(120);
/// How often workers look for jobs that came due, when nothing else made them look.
const JOBS_POLL: Duration = Duration::from_secs(1);
/// Jobs sent at the same time by one node.
const CONCURRENCY: usize = 8;

/// When notifications are tried again, given up, and which happenings are too old to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyPolicy {
    /// The pause after the first failed attempt; it doubles with each further one...
    pub first_delay: Duration,
    /// ...up to this.
    pub max_delay: Duration,
    /// A notification is recorded as failed after this many failed attempts...
    pub give_up_after_attempts: u32,
    /// ...once its job was queued at least this long ago.
    pub give_up_after: Duration,
    /// How long after a call ended it is judged missed or not (Twilio may post the
    /// voicemail a little after the call's end).
    pub missed_call_grace: Duration,
    /// Happenings older than this (by their `received_at`) notify nobody.
    pub max_age: Duration,
}

impl Default for NotifyPolicy {
    /// 30 s, 1, 2, 4, 8, 16 minutes, then every 30 minutes; given up after 10 attempts over
    /// at least 2 hours. Missed calls are judged 30 s after the end. A day old is too old.
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(30 * 60),
            give_up_after_attempts: 10,
            give_up_after: Duration::from_secs(2 * 3600),
            missed_call_grace: Duration::from_secs(30),
            max_age: Duration::from_secs(24 * 3600),
        }
    }
}

impl NotifyPolicy {
    /// The pause after `attempts` failed attempts (1 or more).
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(20);
        self.first_delay
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max_delay)
    }

    /// Whether `attempts` failed attempts over `age` are enough to give up.
    pub fn gives_up(&self, attempts: u32, age: Duration) -> bool {
        attempts >= self.give_up_after_attempts && age >= self.give_up_after
    }

    /// When a happening's job becomes due, or `None` if it is too old to tell (`now` by the
    /// notifier's clock).
    pub(crate) fn due(
        &self,
        happening: Happening,
        event: &RecordedEvent,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let at = event
            .metadata
            .get("received_at")
            .and_then(|value| value.as_str())
            .and_then(|raw| DateTime::parse_from_rfc3339(raw).ok())
            .map_or(now, |at| at.with_timezone(&Utc));
        let age = (now - at).to_std().unwrap_or_default();
        if age > self.max_age {
            return None;
        }
        let grace = match happening {
            Happening::CallEnded => self.missed_call_grace,
            Happening::MessageTaken | Happening::VoicemailRecorded => Duration::ZERO,
        };
        Some(now + chrono::Duration::from_std(grace).unwrap_or_default())
    }
}

/// Tells owners about their calls; see the module documentation.
pub struct Notifier {
    pool: PgPool,
    stores: Arc<Stores>,
    twilio: Option<TwilioClient>,
    mailer: Option<Mailer>,
    privacy: Option<PersonalData>,
    dashboard_base: Option<url::Url>,
    amqp_url: Option<SecretString>,
    policy: NotifyPolicy,
    clock: Clock,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("sms", &self.twilio.is_some())
            .field("email", &self.mailer)
            .field("rabbitmq", &self.amqp_url.is_some())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier over the event store `pool`, recording outcomes through `stores`. It sends
    /// nothing until given a channel ([`Notifier::with_sms`], [`Notifier::with_email`]) and
    /// started with [`Notifier::run`].
    pub fn new(pool: PgPool, stores: Arc<Stores>) -> Self {
        Self {
            pool,
            stores,
            twilio: None,
            mailer: None,
            privacy: None,
            dashboard_base: None,
            amqp_url: None,
            policy: NotifyPolicy::default(),
            clock: Arc::new(Utc::now),
        }
    }

    /// Texts owners through this Twilio account.
    pub fn with_sms(mut self, twilio: TwilioClient) -> Self {
        self.twilio = Some(twilio);
        self
    }

    /// Emails owners through this mailer.
    pub fn with_email(mut self, mailer: Mailer) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Opens personal fields (a message's text) with this.
    pub fn with_privacy(mut self, privacy: PersonalData) -> Self {
        self.privacy = Some(privacy);
        self
    }

    /// Links each notification to the call's page under this public URL.
    pub fn with_dashboard_base(mut self, base: url::Url) -> Self {
        self.dashboard_base = Some(base);
        self
    }

    /// Hears of happenings from RabbitMQ at this broker instead of the global stream.
    pub fn with_rabbitmq(mut self, amqp_url: SecretString) -> Self {
        self.amqp_url = Some(amqp_url);
        self
    }

    /// Retries and gives up as `policy` says (tests shorten it).
    pub fn with_policy(mut self, policy: NotifyPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Reads the time from `clock` (tests fix it to check quiet hours).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Hears of happenings and sends notifications until the future is dropped. Database and
    /// broker failures are logged and retried.
    #[tracing::instrument(name = "notifier", skip_all)]
    pub async fn run(self) {
        let queued = Arc::new(Notify::new());
        let worker = Arc::new(job::Worker {
            pool: self.pool.clone(),
            stores: self.stores.clone(),
            twilio: self.twilio.clone(),
            mailer: self.mailer.clone(),
            privacy: self.privacy.clone(),
            dashboard_base: self.dashboard_base.clone(),
            policy: self.policy,
            clock: self.clock.clone(),
        });
        let listen = async {
            match &self.amqp_url {
                Some(url) => {
                    amqp::consume(&self.pool, url, self.policy, &self.clock, &queued).await
                }
                None => {
                    stream::follow(&self.pool, &self.stores, self.policy, &self.clock, &queued)
                        .await
                }
            }
        };
        tokio::join!(listen, work(worker, &queued));
    }
}

/// Claims and runs due jobs, a few at a time, forever.
async fn work(worker: Arc<job::Worker>, queued: &Notify) {
    let mut running: JoinSet<()> = JoinSet::new();
    loop {
        let free = CONCURRENCY.saturating_sub(running.len());
        if free > 0 {
            match queue::claim(&worker.pool, free, LEASE).await {
                Ok(jobs) => {
                    for job in jobs {
                        running.spawn(worker.clone().run(job));
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot look for notification jobs"),
            }
        }
        tokio::select! {
            () = queued.notified() => {}
            () = tokio::time::sleep(JOBS_POLL) => {}
            Some(done) = running.join_next(), if !running.is_empty() => {
                if let Err(err) = done {
                    tracing::error!(error = %err, "a notification job ended unexpectedly");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;

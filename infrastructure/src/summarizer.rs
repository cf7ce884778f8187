//! The post-call summariser: a subscriber of call events that, once a call with an AI
//! conversation or a transcribed voicemail has ended, asks OpenAI for a summary and records it
//! on the call (`CallSummarized`), or records why there will be none (`CallSummaryFailed`).
//!
//! It lives here, beside the relay, because it is the same kind of thing: a durable reader of
//! the global stream that calls out to a service (OpenAI instead of RabbitMQ) and appends
//! through the event store, all of which are infrastructure. The `api` crate only starts it.
//!
//! **Reading.** The summariser follows the global stream ([`GlobalStream`], woken by this node's
//! appends and polling for other nodes'). A call's `CallEnded` — or its `AiSessionEnded`, which
//! the voice bridge may write after Twilio reported the end, or its `VoicemailTranscribed`,
//! which Twilio usually posts minutes after the call ended — queues a job for the call when the
//! call has ended, has transcript segments or a voicemail transcription, and has no outcome yet.
//! A failed transcription (`VoicemailTranscriptionFailed`) queues nothing: there is nothing to
//! summarise. The jobs and the moved
//! checkpoint are written in one transaction (`summary_jobs`, `summary_checkpoints`), so a
//! crash neither loses a call nor queues one twice.
//!
//! **Working.** Due jobs run concurrently (a few at a time). Each reads the call's events from
//! the event store, opens the business' OpenAI key with the [`Vault`], asks OpenAI
//! ([`SummaryClient`]) and executes `RecordSummary` (actor `system`, causation
//! `summary:<global position of the event that queued it>`). A job is deleted only after the
//! outcome is appended. While the agent's session is still open the job waits (the bridge may
//! still be writing the last lines), up to [`RetryPolicy::session_grace`].
//!
//! **Failing.** A 4xx other than 429, a refusal, no key (`no OpenAI key`) or a key that cannot
//! be opened is recorded at once as `RecordSummaryFailure`. Anything else — rate limits, 5xx,
//! no connection, an unreadable answer — puts the job off with capped exponential backoff; it
//! does not hold up other calls. After [`RetryPolicy::give_up_after_attempts`] failed attempts
//! spread over at least [`RetryPolicy::give_up_after`], the failure is recorded (dead letter).
//!
//! **Exactly one outcome.** A call that has a summary or a failure is never asked about again
//! (checked before asking OpenAI, and the `Call` aggregate refuses a second summary), so a crash
//! between OpenAI's answer and the append costs at most a second request. One summariser runs
//! across all nodes: the one holding a PostgreSQL advisory lock; the others stand by.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::event_store::wakeup::READER_POLL_INTERVAL;
use crate::event_store::{AppendSignal, GlobalStream, Position, Stores, StreamWaker};
use crate::leadership::{self, LEADER_PING, STANDBY_RETRY};
use crate::openai::summary::SummaryClient;
use crate::vault::Vault;

mod job;
mod queue;
mod transcript;

pub use job::NO_KEY;

/// Events read from the stream at a time.
pub const DEFAULT_BATCH_SIZE: i64 = 500;
/// Calls summarised at the same time.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// Advisory lock key (hashed as the projections' keys are): one summariser across all nodes.
const LOCK_KEY: &str = "callassist.summaries";
/// How often the leader looks for jobs that came due, when nothing else made it look.
const JOBS_POLL: Duration = Duration::from_secs(1);

/// When a summary that keeps failing is tried again, and when it is given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The pause after the first failed attempt; it doubles with each further one...
    pub first_delay: Duration,
    /// ...up to this.
    pub max_delay: Duration,
    /// The failure is recorded once the call has had at least this many failed attempts...
    pub give_up_after_attempts: u32,
    /// ...and was queued at least this long ago.
    pub give_up_after: Duration,
    /// How long a job waits for the agent's session to end before summarising what it has.
    pub session_grace: Duration,
}

impl Default for RetryPolicy {
    /// 30 s, 1, 2, 4, 8 minutes, then every 10 minutes; given up after 8 attempts over at
    /// least 30 minutes (about 35 minutes in practice). Sessions get a minute to end.
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(10 * 60),
            give_up_after_attempts: 8,
            give_up_after: Duration::from_secs(30 * 60),
            session_grace: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The pause after `attempts` failed attempts (1 or more).
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(20);
        self.first_delay
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max_delay)
    }

    /// Whether `attempts` failed attempts over `age` (since the call was queued) are enough
    /// to give up.
    pub fn gives_up(&self, attempts: u32, age: Duration) -> bool {
        attempts >= self.give_up_after_attempts && age >= self.give_up_after
    }
}

/// Summarises calls after they end; see the module documentation.
pub struct Summarizer {
    pool: PgPool,
    stores: Arc<Stores>,
    vault: Arc<Vault>,
    client: SummaryClient,
    policy: RetryPolicy,
    signal: AppendSignal,
    batch_size: i64,
    concurrency: usize,
}

impl std::fmt::Debug for Summarizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Summarizer")
            .field("model", &self.client.model())
            .field("endpoint", &self.client.endpoint().as_str())
            .field("policy", &self.policy)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Summarizer {
    /// A summariser over the event store `pool`, appending through `stores` (and woken by its
    /// signal), opening keys with `vault`, asking OpenAI through `client`. Nothing happens
    /// until [`Summarizer::run`].
    pub fn new(
        pool: PgPool,
        stores: Arc<Stores>,
        vault: Arc<Vault>,
        client: SummaryClient,
    ) -> Self {
        let signal = stores.appended.clone();
        Self {
            pool,
            stores,
            vault,
            client,
            policy: RetryPolicy::default(),
            signal,
            batch_size: DEFAULT_BATCH_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Retries and gives up as `policy` says (tests shorten it).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Summarises up to `calls` calls at the same time (at least 1).
    pub fn with_concurrency(mut self, calls: usize) -> Self {
        self.concurrency = calls.max(1);
        self
    }

    /// Events read from the stream at a time (at least 1).
    pub fn with_batch_size(mut self, size: i64) -> Self {
        self.batch_size = size.max(1);
        self
    }

    /// Where the summariser is in the global stream: the last event it has queued work for,
    /// `None` if it never ran on this database.
    pub async fn position(pool: &PgPool) -> Result<Option<Position>, sqlx::Error> {
        queue::position(pool).await
    }

    /// How many calls wait for their summary (queued, not yet recorded).
    pub async fn pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
        queue::pending(pool).await
    }

    /// Summarises until the future is dropped. Only one summariser across all processes works
    /// (the holder of a PostgreSQL advisory lock, taken on a connection of its own); the others
    /// wait for it. Database failures are logged and retried with capped backoff.
    #[tracing::instrument(name = "summarizer", skip_all)]
    pub async fn run(self) {
        let worker = Arc::new(job::Worker {
            pool: self.pool.clone(),
            stores: self.stores.clone(),
            vault: self.vault.clone(),
            client: self.client.clone(),
            policy: self.policy,
        });
        leadership::lead_forever("call summarizer", || self.lead(&worker)).await;
    }

    /// Queues and works while this process leads; returns the database error that ended it.
    /// Dropping the jobs in flight (when it returns) leaves them queued.
    async fn lead(
        &self,
        worker: &Arc<job::Worker>,
    ) -> Result<std::convert::Infallible, sqlx::Error> {
        let mut leader =
            leadership::take_the_lead(&self.pool, LOCK_KEY, "call summarizer", STANDBY_RETRY)
                .await?;
        let mut checkpoint = queue::checkpoint(&self.pool).await?;
        tracing::info!(
            transaction_id = checkpoint.transaction_id,
            global_position = checkpoint.global_position,
            "summarising calls from the checkpoint"
        );
        let stream = GlobalStream::new(self.pool.clone()).with_privacy(self.stores.privacy.clone());
        let mut waker = StreamWaker::new(&self.pool, &self.signal, READER_POLL_INTERVAL).await;
        let mut running: JoinSet<()> = JoinSet::new();
        let mut in_flight: HashMap<tokio::task::Id, String> = HashMap::new();
        let mut last_ping = Instant::now();
        let mut look_for_jobs = true;
        let mut last_look = Instant::now();
        loop {
            if last_ping.elapsed() >= LEADER_PING {
                // The lock lives as long as this connection; if it died, step back.
                sqlx::query("SELECT 1").execute(&mut leader).await?;
                last_ping = Instant::now();
            }
            let batch = stream.read_after(checkpoint, self.batch_size).await?;
            if let Some(last) = batch.last().map(|event| event.position) {
                look_for_jobs |= queue::queue(&self.pool, &batch, last).await? > 0;
                checkpoint = last;
            }
            let free = self.concurrency.saturating_sub(running.len());
            if free > 0 && (look_for_jobs || last_look.elapsed() >= JOBS_POLL) {
                let busy: Vec<String> = in_flight.values().cloned().collect();
                for job in queue::due(&self.pool, &busy, free).await? {
                    let sid = job.call_sid.clone();
                    let handle = running.spawn(worker.clone().run(job));
                    in_flight.insert(handle.id(), sid);
                }
                look_for_jobs = false;
                last_look = Instant::now();
            }
            if i64::try_from(batch.len()).unwrap_or(i64::MAX) >= self.batch_size {
                continue; // more to read
            }
            tokio::select! {
                _ = waker.wait() => {}
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    let id = match done {
                        Ok((id, ())) => id,
                        Err(err) => {
                            tracing::error!(error = %err, "a summary job ended unexpectedly");
                            err.id()
                        }
                    };
                    in_flight.remove(&id);
                    look_for_jobs = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;

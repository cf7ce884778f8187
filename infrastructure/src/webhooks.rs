//! Outbound webhooks: a business registers HTTPS endpoints and chooses event types (a call
//! ended, a message was taken, a call was summarised); each such event of its calls is POSTed
//! to each endpoint, signed as [Standard Webhooks](https://www.standardwebhooks.com) says, and
//! retried until the endpoint accepts it or the retry schedule runs out (docs/webhooks.md).
//!
//! It lives here, beside the summariser, because it is the same kind of thing: a durable reader
//! of the global stream that calls out (to the businesses' CRMs) — infrastructure. The `api`
//! crate manages endpoints through [`endpoints`] and only starts the [`Dispatcher`].
//!
//! **Reading.** The dispatcher follows the global stream ([`GlobalStream`], woken by this
//! node's appends and polling for other nodes'). For every `CallEnded`, `MessageTaken` and
//! `CallSummarized` it loads the `Call` aggregate (which knows the business, whatever a read
//! model says yet) and queues one delivery per endpoint of that business that chose the event's
//! type and was registered before the event. The deliveries and the moved checkpoint are written
//! in one transaction (`webhook_deliveries`, `webhook_checkpoints`), and (endpoint, message id)
//! is unique, so a crash neither loses an event nor queues one twice.
//!
//! **Sending.** Due deliveries go out concurrently (a few at a time, at most
//! [`PER_ENDPOINT`] per endpoint, so one slow endpoint holds up no other). The message id
//! (`webhook-id`) is `msg_<global position>`: the same on every try, every "send again" and
//! whichever node sends, which is what lets a receiver deduplicate. A 2xx answer delivers; any
//! other answer, a timeout or no connection is a failed try, tried again after the
//! [`RetryPolicy`]'s next pause, and once the pauses are used up the delivery is `failed`.
//! Every try is logged (`webhook_attempts`) for the dashboard's and the API's delivery log.
//!
//! **One dispatcher.** It runs where the summariser runs and, like it, only on the node that
//! holds a PostgreSQL advisory lock; the others stand by and take over if that node goes. A
//! leader that dies mid-try leaves the delivery pending: the next leader sends it again with
//! the same message id (at least once; receivers deduplicate).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use crate::event_store::wakeup::READER_POLL_INTERVAL;
use crate::event_store::{
    AppendSignal, GlobalStream, Position, RecordedEvent, Stores, StreamWaker,
};
use crate::leadership::{self, LEADER_PING, STANDBY_RETRY};
use crate::vault::Vault;

pub mod endpoints;
pub mod erase;
pub mod events;
mod log;
mod policy;
mod queue;
mod send;
pub mod signing;
pub mod target;

pub use events::EventType;
pub use policy::RetryPolicy;
pub use send::DEFAULT_TIMEOUT;

/// Events read from the stream at a time.
pub const DEFAULT_BATCH_SIZE: i64 = 500;
/// Deliveries sent at the same time.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Deliveries to one endpoint sent at the same time.
pub const PER_ENDPOINT: usize = 2;

/// Advisory lock key (hashed as the projections' keys are): one dispatcher across all nodes.
const LOCK_KEY: &str = "callassist.webhooks";
/// How often the leader looks for deliveries that came due, when nothing else made it look.
const DUE_POLL: Duration = Duration::from_millis(500);

/// Delivers call events to the businesses' endpoints; see the module documentation.
pub struct Dispatcher {
    pool: PgPool,
    stores: Arc<Stores>,
    vault: Arc<Vault>,
    policy: RetryPolicy,
    signal: AppendSignal,
    timeout: Duration,
    allow_http_loopback: bool,
    batch_size: i64,
    concurrency: usize,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .field("allow_http_loopback", &self.allow_http_loopback)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher over the event store `pool`, loading calls through `stores` (and woken by
    /// its signal), opening endpoint secrets with `vault`. Nothing happens until
    /// [`Dispatcher::run`].
    pub fn new(pool: PgPool, stores: Arc<Stores>, vault: Arc<Vault>) -> Self {
        let signal = stores.appended.clone();
        Self {
            pool,
            stores,
            vault,
            policy: RetryPolicy::default(),
            signal,
            timeout: DEFAULT_TIMEOUT,
            allow_http_loopback: false,
            batch_size: DEFAULT_BATCH_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Retries and gives up as `policy` says (tests shorten it).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long an endpoint may take to answer a try.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether `http://` endpoints on this machine are served (`WEBHOOKS_ALLOW_HTTP_LOOPBACK`:
    /// tests and local development).
    pub fn allowing_http_loopback(mut self, allow: bool) -> Self {
        self.allow_http_loopback = allow;
        self
    }

    /// Sends up to `deliveries` at the same time (at least 1).
    pub fn with_concurrency(mut self, deliveries: usize) -> Self {
        self.concurrency = deliveries.max(1);
        self
    }

    /// Where the dispatcher is in the global stream: the last event it has queued deliveries
    /// for, `None` if it never ran on this database.
    pub async fn position(pool: &PgPool) -> Result<Option<Position>, sqlx::Error> {
        queue::position(pool).await
    }

    /// How many deliveries wait to be delivered.
    pub async fn pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
        queue::pending(pool).await
    }

    /// Delivers until the future is dropped. Only one dispatcher across all processes works
    /// (the holder of a PostgreSQL advisory lock, taken on a connection of its own); the
    /// others wait for it. Database failures are logged and retried with capped backoff.
    #[tracing::instrument(name = "webhook_dispatcher", skip_all)]
    pub async fn run(self) {
        let sender = match send::client(self.timeout, self.allow_http_loopback) {
            Ok(http) => Arc::new(send::Sender {
                pool: self.pool.clone(),
                vault: self.vault.clone(),
                http,
                policy: self.policy.clone(),
                allow_http_loopback: self.allow_http_loopback,
            }),
            Err(err) => {
                tracing::error!(error = %err, "cannot build the webhooks' HTTP client");
                return;
            }
        };
        leadership::lead_forever("webhook dispatcher", || self.lead(&sender)).await;
    }

    /// The deliveries `batch` asks for: one candidate per event endpoints can subscribe to.
    async fn candidates(
        &self,
        batch: &[RecordedEvent],
    ) -> Result<Vec<queue::Candidate>, sqlx::Error> {
        let wanted: Vec<&RecordedEvent> = batch
            .iter()
            .filter(|e| e.aggregate_type == "Call" && EventType::of_stored(&e.event_type).is_some())
            .collect();
        if wanted.is_empty() || !queue::any_endpoint(&self.pool).await? {
            return Ok(Vec::new());
        }
        let mut candidates = Vec::with_capacity(wanted.len());
        for event in wanted {
            let call = match self.stores.calls.load(&event.aggregate_id).await {
                Ok(loaded) => loaded.aggregate,
                Err(crate::event_store::StoreError::Unavailable(err)) => {
                    return Err(sqlx::Error::Protocol(format!("cannot load a call: {err}")));
                }
                Err(err) => {
                    tracing::warn!(call_sid = %event.aggregate_id, error = %err, "a call cannot be loaded; its events are not sent to webhooks");
                    continue;
                }
            };
            let Some((kind, payload)) = events::payload(event, &call) else {
                continue;
            };
            let Some(business_id) = call.received.as_ref().and_then(|r| r.business_id) else {
                continue;
            };
            candidates.push(queue::Candidate {
                business_id: business_id.0,
                kind,
                webhook_id: events::webhook_id(event.position.global_position),
                payload,
                position: event.position,
            });
        }
        Ok(candidates)
    }

    /// Queues and sends while this process leads; returns the database error that ended it.
    /// Dropping the tries in flight (when it returns) leaves them pending.
    async fn lead(
        &self,
        sender: &Arc<send::Sender>,
    ) -> Result<std::convert::Infallible, sqlx::Error> {
        let mut leader =
            leadership::take_the_lead(&self.pool, LOCK_KEY, "webhook dispatcher", STANDBY_RETRY)
                .await?;
        let mut checkpoint = queue::checkpoint(&self.pool).await?;
        tracing::info!(
            transaction_id = checkpoint.transaction_id,
            global_position = checkpoint.global_position,
            "delivering webhooks from the checkpoint"
        );
        let stream = GlobalStream::new(self.pool.clone()).with_privacy(self.stores.privacy.clone());
        let mut waker = StreamWaker::new(&self.pool, &self.signal, READER_POLL_INTERVAL).await;
        let mut running: JoinSet<()> = JoinSet::new();
        let mut in_flight: HashMap<tokio::task::Id, (Uuid, Uuid)> = HashMap::new();
        let mut last_ping = Instant::now();
        let mut look_for_due = true;
        let mut last_look = Instant::now();
        let mut due_poll = tokio::time::interval(DUE_POLL);
        loop {
            if last_ping.elapsed() >= LEADER_PING {
                // The lock lives as long as this connection; if it died, step back.
                sqlx::query("SELECT 1").execute(&mut leader).await?;
                last_ping = Instant::now();
            }
            let batch = stream.read_after(checkpoint, self.batch_size).await?;
            if let Some(last) = batch.last().map(|event| event.position) {
                let candidates = self.candidates(&batch).await?;
                look_for_due |= queue::queue(&self.pool, &candidates, last).await? > 0;
                checkpoint = last;
            }
            let free = self.concurrency.saturating_sub(running.len());
            if free > 0 && (look_for_due || last_look.elapsed() >= DUE_POLL) {
                self.start_due(sender, &mut running, &mut in_flight, free)
                    .await?;
                look_for_due = false;
                last_look = Instant::now();
            }
            if i64::try_from(batch.len()).unwrap_or(i64::MAX) >= self.batch_size {
                continue; // more to read
            }
            tokio::select! {
                _ = waker.wait() => {}
                _ = due_poll.tick() => {}
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    let id = match done {
                        Ok((id, ())) => id,
                        Err(err) => {
                            tracing::error!(error = %err, "a webhook delivery ended unexpectedly");
                            err.id()
                        }
                    };
                    in_flight.remove(&id);
                    look_for_due = true;
                }
            }
        }
    }

    /// Starts up to `free` due deliveries, at most [`PER_ENDPOINT`] per endpoint in flight.
    async fn start_due(
        &self,
        sender: &Arc<send::Sender>,
        running: &mut JoinSet<()>,
        in_flight: &mut HashMap<tokio::task::Id, (Uuid, Uuid)>,
        free: usize,
    ) -> Result<(), sqlx::Error> {
        let busy: Vec<Uuid> = in_flight.values().map(|(delivery, _)| *delivery).collect();
        let mut per_endpoint: HashMap<Uuid, usize> = HashMap::new();
        for (_, endpoint) in in_flight.values() {
            *per_endpoint.entry(*endpoint).or_default() += 1;
        }
        let mut started = 0;
        for due in queue::due(&self.pool, &busy, free.saturating_mul(8)).await? {
            if started >= free {
                break;
            }
            let count = per_endpoint.entry(due.endpoint_id).or_default();
            if *count >= PER_ENDPOINT {
                continue;
            }
            *count += 1;
            started += 1;
            let ids = (due.id, due.endpoint_id);
            let handle = running.spawn(sender.clone().run(due));
            in_flight.insert(handle.id(), ids);
        }
        Ok(())
    }
}

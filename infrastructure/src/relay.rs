//! The RabbitMQ relay: publishes every event of the global stream to the topic exchange
//! [`EXCHANGE`], so other services follow Call Assistant without reading its database.
//!
//! The `events` table is the outbox. The relay reads it in stream order
//! ([`GlobalStream`]), publishes each event with routing key `<aggregate_type>.<event_type>`,
//! waits for the broker's publisher confirms, and only then moves its checkpoint (the
//! `relay_checkpoints` row [`CHECKPOINT`]). A broker outage or a crash therefore loses nothing:
//! the relay resumes from its checkpoint and catches up, at the price of publishing some
//! messages again (at least once). Consumers deduplicate by `message_id`, the event's global
//! position. The message format is documented for consumers in `docs/integration.md`.
//!
//! One relay runs across all nodes: the one holding a PostgreSQL advisory lock; the others
//! stand by. It wakes on this node's appends ([`StreamWaker`]) and polls for the others'.

use std::time::Duration;

use lapin::uri::AMQPUri;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{PgConnection, PgPool};
use tokio::time::Instant;

use crate::event_store::wakeup::READER_POLL_INTERVAL;
use crate::event_store::{AppendSignal, GlobalStream, Position, StreamWaker};
use crate::privacy::PersonalData;

mod broker;
mod message;
mod retry;

use broker::BrokerLink;
pub use message::{routing_key, EventMessage};
use retry::{Backoff, Outage};

/// The AMQP client the relay speaks with, for consumers written in Rust (and the tests).
pub use lapin;

/// The topic exchange every event is published to (durable).
pub const EXCHANGE: &str = "callassist.events";
/// The `app_id` property of every message.
pub const APP_ID: &str = "callassist";
/// The `content_type` property of every message.
pub const CONTENT_TYPE: &str = "application/json";
/// The relay's row in `relay_checkpoints`.
pub const CHECKPOINT: &str = "rabbitmq";
/// Events read, published and confirmed at a time.
pub const DEFAULT_BATCH_SIZE: i64 = 500;
/// How long the broker may take to confirm a batch before the relay reconnects.
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);
/// First pause after a failure; it doubles with each further failure...
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// ...up to this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Advisory lock key (hashed as the projections' keys are): one relay across all nodes.
const LOCK_KEY: &str = "callassist.relay.rabbitmq";
/// How often a standby node tries to take the lead.
const STANDBY_RETRY: Duration = Duration::from_secs(1);
/// How often the leader checks that the connection holding its lock is alive.
const LEADER_PING: Duration = Duration::from_secs(5);

/// Why the relay stopped. Failures of the broker or the database are not errors: the relay
/// retries them until it is dropped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// `AMQP_URL` does not parse as an AMQP URL; retrying cannot help.
    #[error("AMQP_URL is not a valid amqp:// or amqps:// URL: {0}")]
    InvalidUrl(String),
}

const REGISTER: &str =
    "INSERT INTO relay_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING";
const LOAD: &str = "SELECT transaction_id, global_position FROM relay_checkpoints WHERE name = $1";
// Never moves backwards, even if a node that lost its lock (and does not know it yet) saves
// an older position than the new leader.
const ADVANCE: &str = "\
INSERT INTO relay_checkpoints (name, transaction_id, global_position, published, updated_at) \
VALUES ($1, $2, $3, $4, now()) \
ON CONFLICT (name) DO UPDATE \
   SET transaction_id = EXCLUDED.transaction_id, global_position = EXCLUDED.global_position, \
       published = relay_checkpoints.published + EXCLUDED.published, updated_at = now() \
 WHERE (relay_checkpoints.transaction_id, relay_checkpoints.global_position) \
     < (EXCLUDED.transaction_id, EXCLUDED.global_position)";

/// Publishes the global stream to RabbitMQ; see the module documentation.
pub struct Relay {
    pool: PgPool,
    privacy: Option<PersonalData>,
    amqp_url: SecretString,
    signal: AppendSignal,
    connection_name: String,
    batch_size: i64,
    confirm_timeout: Duration,
}

impl Relay {
    /// A relay of the event store `pool` to the broker at `amqp_url`, woken by this node's
    /// appends through `signal` (and polling for other nodes'). Nothing happens until
    /// [`Relay::run`].
    pub fn new(pool: PgPool, amqp_url: SecretString, signal: AppendSignal) -> Self {
        Self {
            pool,
            privacy: None,
            amqp_url,
            signal,
            connection_name: format!("callassist-relay-{}", uuid::Uuid::new_v4()),
            batch_size: DEFAULT_BATCH_SIZE,
            confirm_timeout: DEFAULT_CONFIRM_TIMEOUT,
        }
    }

    /// Names the broker connection (RabbitMQ shows it as `connection_name`); by default
    /// `callassist-relay-<uuid>`.
    pub fn with_connection_name(mut self, name: impl Into<String>) -> Self {
        self.connection_name = name.into();
        self
    }

    /// Publishes the calls' personal fields opened (`[erased]` where the key is gone) rather
    /// than sealed; see [`crate::privacy`].
    pub fn with_privacy(mut self, privacy: PersonalData) -> Self {
        self.privacy = Some(privacy);
        self
    }

    /// Events per batch (at least 1).
    pub fn with_batch_size(mut self, size: i64) -> Self {
        self.batch_size = size.max(1);
        self
    }

    /// How long the broker may take to confirm a batch.
    pub fn with_confirm_timeout(mut self, timeout: Duration) -> Self {
        self.confirm_timeout = timeout;
        self
    }

    /// The name the broker connection is given.
    pub fn connection_name(&self) -> &str {
        &self.connection_name
    }

    /// Where the relay is: the position of the last event the broker confirmed, `None` if no
    /// relay ever ran on this database.
    pub async fn position(pool: &PgPool) -> Result<Option<Position>, sqlx::Error> {
        let row: Option<(i64, i64)> = sqlx::query_as(LOAD)
            .bind(CHECKPOINT)
            .fetch_optional(pool)
            .await?;
        Ok(row.map(|(transaction_id, global_position)| Position {
            transaction_id,
            global_position,
        }))
    }

    /// Relays until the future is dropped. Only one relay across all processes publishes (the
    /// holder of a PostgreSQL advisory lock, taken on a connection of its own); the others
    /// wait for it. Broker and database failures are retried with capped exponential backoff
    /// (100 ms to 10 s), logged once per outage.
    ///
    /// # Errors
    /// Only a malformed `amqp_url`; it never returns otherwise.
    #[tracing::instrument(name = "relay", skip_all, fields(exchange = EXCHANGE, connection = %self.connection_name))]
    pub async fn run(self) -> Result<(), RelayError> {
        let uri: AMQPUri = self
            .amqp_url
            .expose_secret()
            .parse()
            .map_err(RelayError::InvalidUrl)?;
        let mut database = Outage::new("PostgreSQL", Backoff::new(MIN_BACKOFF, MAX_BACKOFF));
        let mut broker = BrokerLink {
            uri,
            connection: None,
            outage: Outage::new("RabbitMQ", Backoff::new(MIN_BACKOFF, MAX_BACKOFF)),
        };
        loop {
            let leader = match self.take_the_lead().await {
                Ok(leader) => leader,
                Err(err) => {
                    tokio::time::sleep(database.failed(&err)).await;
                    continue;
                }
            };
            let err = self.lead(leader, &mut broker, &mut database).await;
            tracing::debug!("relay stepped back; taking the lead again");
            tokio::time::sleep(database.failed(&err)).await;
        }
    }

    /// Waits until this process holds the relay's advisory lock, on a connection kept (out of
    /// the pool) for as long as it leads; closing it releases the lock.
    async fn take_the_lead(&self) -> Result<PgConnection, sqlx::Error> {
        let mut announced = false;
        loop {
            let mut connection = self.pool.acquire().await?;
            let locked: bool =
                sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                    .bind(LOCK_KEY)
                    .fetch_one(&mut *connection)
                    .await?;
            if locked {
                return Ok(connection.detach());
            }
            drop(connection);
            if !announced {
                tracing::info!("another node relays events; standing by");
                announced = true;
            }
            tokio::time::sleep(STANDBY_RETRY).await;
        }
    }

    /// Relays while this process leads; returns the database error that ended it.
    async fn lead(
        &self,
        mut leader: PgConnection,
        broker: &mut BrokerLink,
        database: &mut Outage,
    ) -> sqlx::Error {
        match self
            .relay_while_leading(&mut leader, broker, database)
            .await
        {
            Ok(never) => match never {},
            Err(err) => err,
        }
    }

    async fn relay_while_leading(
        &self,
        leader: &mut PgConnection,
        broker: &mut BrokerLink,
        database: &mut Outage,
    ) -> Result<std::convert::Infallible, sqlx::Error> {
        sqlx::query(REGISTER)
            .bind(CHECKPOINT)
            .execute(&self.pool)
            .await?;
        let mut checkpoint = Self::position(&self.pool).await?.unwrap_or(Position::START);
        database.recovered();
        tracing::info!(
            transaction_id = checkpoint.transaction_id,
            global_position = checkpoint.global_position,
            "relaying events from the checkpoint"
        );
        let stream = GlobalStream::new(self.pool.clone()).with_privacy(self.privacy.clone());
        let mut waker = StreamWaker::new(&self.pool, &self.signal, READER_POLL_INTERVAL).await;
        let mut last_ping = Instant::now();
        loop {
            if last_ping.elapsed() >= LEADER_PING {
                // The lock lives as long as this connection; if it died, step back.
                sqlx::query("SELECT 1").execute(&mut *leader).await?;
                last_ping = Instant::now();
            }
            let Some(publisher) = broker.connected(&self.connection_name).await else {
                continue;
            };
            let batch = stream.read_after(checkpoint, self.batch_size).await?;
            if batch.is_empty() {
                broker.outage.recovered();
                waker.wait().await;
                continue;
            }
            let (confirmed, outcome) = publisher.publish(&batch, self.confirm_timeout).await;
            if let Some(last) = confirmed.checked_sub(1).and_then(|i| batch.get(i)) {
                sqlx::query(ADVANCE)
                    .bind(CHECKPOINT)
                    .bind(last.position.transaction_id)
                    .bind(last.position.global_position)
                    .bind(i64::try_from(confirmed).unwrap_or(i64::MAX))
                    .execute(&self.pool)
                    .await?;
                checkpoint = last.position;
            }
            match outcome {
                Ok(()) => broker.outage.recovered(),
                Err(err) => {
                    // Republish from the checkpoint on a fresh connection.
                    broker.connection = None;
                    tokio::time::sleep(broker.outage.failed(&err)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;

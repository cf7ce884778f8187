//! The write path for one aggregate type.
//!
//! postgres-es 0.5.0's snapshot and aggregate-store modes apply new events to the stored
//! snapshot twice, so they are not used. Instead each node keeps the aggregates it recently used
//! in memory (an LRU) with the sequence they are at, and brings one up to date by reading only
//! the events after that sequence: one query on the primary key. Another node may have appended
//! in between; that is what the catch-up read is for, and a decision taken on a state that is
//! stale by the time it is appended fails on the primary key and is retried on fresh state.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use cqrs_es::persist::{
    EventUpcaster, PersistedEventRepository, PersistenceError, SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateContext, AggregateError, EventEnvelope, EventStore};
use domain::CommandMetadata;
use futures::TryStreamExt;
use lru::LruCache;
use postgres_es::PostgresEventRepository;
use sqlx::{PgPool, Row};

use super::AppendSignal;

/// How often a command is tried when other writers keep appending to the same aggregate first.
const CONFLICT_ATTEMPTS: u32 = 8;
/// The longest pause before a retry; the pause is random so two writers stop colliding.
const MAX_BACKOFF: Duration = Duration::from_millis(20);

const SELECT_AFTER: &str = "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata \
     FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 ORDER BY sequence";

/// A command could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum StoreError<E: std::error::Error> {
    /// The aggregate refused the command: the caller's mistake, not ours.
    #[error(transparent)]
    Rejected(E),
    /// Other writers kept appending to the same aggregate; retried and gave up.
    #[error("the aggregate was changed concurrently; try again")]
    Conflict,
    /// The database failed or could not be reached.
    #[error("event store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored event could not be read as today's event type.
    #[error("a stored event could not be read")]
    Corrupt(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl<E: std::error::Error> From<AggregateError<E>> for StoreError<E> {
    fn from(err: AggregateError<E>) -> Self {
        match err {
            AggregateError::UserError(rejection) => Self::Rejected(rejection),
            AggregateError::AggregateConflict => Self::Conflict,
            AggregateError::DeserializationError(source) => Self::Corrupt(source),
            AggregateError::DatabaseConnectionError(source)
            | AggregateError::UnexpectedError(source) => Self::Unavailable(source),
        }
    }
}

/// An aggregate loaded for a command, with the sequence of its last event.
pub struct LoadedAggregate<A: Aggregate> {
    /// Its id.
    pub aggregate_id: String,
    /// Its state.
    pub aggregate: A,
    /// The sequence of the last event applied (0 for a new aggregate).
    pub sequence: usize,
}

impl<A: Aggregate> AggregateContext<A> for LoadedAggregate<A> {
    fn aggregate(&mut self) -> &mut A {
        &mut self.aggregate
    }
}

/// The outcome of a command: the state after it and the events it appended (none when the
/// command changed nothing, e.g. a retried webhook).
pub struct Committed<A: Aggregate> {
    /// State after the command.
    pub aggregate: A,
    /// Sequence of the last event.
    pub sequence: usize,
    /// What was appended.
    pub events: Vec<EventEnvelope<A>>,
}

struct Cached<A> {
    aggregate: A,
    sequence: usize,
}

/// Loads, decides and appends for aggregate type `A`.
pub struct AggregateStore<A: Aggregate> {
    pool: PgPool,
    repo: PostgresEventRepository,
    upcasters: Vec<Box<dyn EventUpcaster>>,
    cache: Option<Mutex<LruCache<String, Cached<A>>>>,
    services: A::Services,
    appended: AppendSignal,
}

impl<A> AggregateStore<A>
where
    A: Aggregate + Clone,
    A::Services: Default,
    A::Command: Clone,
{
    /// A store that replays every aggregate from its events on each load.
    pub fn new(pool: PgPool, appended: AppendSignal) -> Self {
        Self {
            repo: PostgresEventRepository::new(pool.clone()),
            pool,
            upcasters: Vec::new(),
            cache: None,
            services: A::Services::default(),
            appended,
        }
    }

    /// Keeps up to `capacity` aggregates in memory between commands.
    pub fn with_cache(mut self, capacity: NonZeroUsize) -> Self {
        self.cache = Some(Mutex::new(LruCache::new(capacity)));
        self
    }

    /// Reads old event versions through these upcasters.
    pub fn with_upcasters(mut self, upcasters: Vec<Box<dyn EventUpcaster>>) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Carries out `command` on aggregate `id`, retrying on fresh state when another writer
    /// appended first. Returns the new state and the events appended.
    #[tracing::instrument(skip_all, fields(aggregate = A::TYPE, id = %id, correlation_id = %metadata.correlation_id), err(level = "debug"))]
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
        metadata: &CommandMetadata,
    ) -> Result<Committed<A>, StoreError<A::Error>> {
        let metadata = metadata.to_map();
        for attempt in 1..CONFLICT_ATTEMPTS {
            match self
                .execute_once(id, command.clone(), metadata.clone())
                .await
            {
                Err(AggregateError::AggregateConflict) => {
                    // The next load catches up with the events that beat us.
                    tracing::debug!(attempt, "concurrent append, retrying on fresh state");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return other.map_err(StoreError::from),
            }
        }
        self.execute_once(id, command, metadata)
            .await
            .map_err(StoreError::from)
    }

    async fn execute_once(
        &self,
        id: &str,
        command: A::Command,
        metadata: std::collections::HashMap<String, String>,
    ) -> Result<Committed<A>, AggregateError<A::Error>> {
        let mut loaded = self.load_aggregate(id).await?;
        let sink = cqrs_es::event_sink::EventSink::default();
        loaded
            .aggregate
            .handle(command, &self.services, &sink)
            .await
            .map_err(AggregateError::UserError)?;
        let events = sink.collect().await;
        if events.is_empty() {
            return Ok(Committed {
                aggregate: loaded.aggregate,
                sequence: loaded.sequence,
                events: vec![],
            });
        }
        // `EventSink::write` has applied the events to `loaded.aggregate` already.
        let aggregate = loaded.aggregate.clone();
        let committed = self.commit(events, loaded, metadata).await?;
        let sequence = committed.last().map_or(0, |envelope| envelope.sequence);
        Ok(Committed {
            aggregate,
            sequence,
            events: committed,
        })
    }

    /// The current state of aggregate `id` (a default state if it has no events).
    pub async fn load(&self, id: &str) -> Result<LoadedAggregate<A>, StoreError<A::Error>> {
        self.load_aggregate(id).await.map_err(StoreError::from)
    }

    fn cached(&self, id: &str) -> Option<(A, usize)> {
        let cache = self.cache.as_ref()?;
        let mut cache = cache.lock().ok()?;
        cache
            .get(id)
            .map(|entry| (entry.aggregate.clone(), entry.sequence))
    }

    fn remember(&self, id: &str, aggregate: &A, sequence: usize) {
        let Some(cache) = &self.cache else { return };
        if let Ok(mut cache) = cache.lock() {
            let newer_known = cache
                .peek(id)
                .is_some_and(|entry| entry.sequence >= sequence);
            if !newer_known {
                cache.put(
                    id.to_owned(),
                    Cached {
                        aggregate: aggregate.clone(),
                        sequence,
                    },
                );
            }
        }
    }

    async fn events_after(
        &self,
        id: &str,
        sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let after = i64::try_from(sequence).unwrap_or(i64::MAX);
        let rows = sqlx::query(SELECT_AFTER)
            .bind(A::TYPE)
            .bind(id)
            .bind(after)
            .fetch(&self.pool)
            .map_err(|err| PersistenceError::ConnectionError(Box::new(err)))
            .try_collect::<Vec<_>>()
            .await?;
        rows.iter().map(serialized_from_row).collect()
    }

    fn deserialize(&self, event: SerializedEvent) -> Result<EventEnvelope<A>, PersistenceError> {
        let event = self.upcasters.iter().fold(event, |event, upcaster| {
            if upcaster.can_upcast(&event.event_type, &event.event_version) {
                upcaster.upcast(event)
            } else {
                event
            }
        });
        EventEnvelope::<A>::try_from(event)
    }
}

/// A random pause that grows with the attempt, capped at [`MAX_BACKOFF`].
fn backoff(attempt: u32) -> Duration {
    let ceiling = (Duration::from_micros(500) * attempt.pow(2)).min(MAX_BACKOFF);
    ceiling.mul_f64(rand::random::<f64>())
}

fn serialized_from_row(row: &sqlx::postgres::PgRow) -> Result<SerializedEvent, PersistenceError> {
    let read = |err: sqlx::Error| PersistenceError::UnknownError(Box::new(err));
    let sequence: i64 = row.try_get("sequence").map_err(read)?;
    Ok(SerializedEvent::new(
        row.try_get("aggregate_id").map_err(read)?,
        usize::try_from(sequence).unwrap_or_default(),
        row.try_get("aggregate_type").map_err(read)?,
        row.try_get("event_type").map_err(read)?,
        row.try_get("event_version").map_err(read)?,
        row.try_get("payload").map_err(read)?,
        row.try_get("metadata").map_err(read)?,
    ))
}

impl<A> EventStore<A> for AggregateStore<A>
where
    A: Aggregate + Clone,
    A::Services: Default,
    A::Command: Clone,
{
    type AC = LoadedAggregate<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let events = self.repo.get_events::<A>(aggregate_id).await?;
        Ok(events
            .into_iter()
            .map(|event| self.deserialize(event))
            .collect::<Result<Vec<_>, _>>()?)
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<LoadedAggregate<A>, AggregateError<A::Error>> {
        let (mut aggregate, mut sequence) = self.cached(aggregate_id).unwrap_or_default();
        let newer = self.events_after(aggregate_id, sequence).await?;
        if !newer.is_empty() {
            for event in newer {
                let envelope = self.deserialize(event)?;
                sequence = envelope.sequence;
                aggregate.apply(envelope.payload);
            }
            self.remember(aggregate_id, &aggregate, sequence);
        }
        Ok(LoadedAggregate {
            aggregate_id: aggregate_id.to_owned(),
            aggregate,
            sequence,
        })
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: LoadedAggregate<A>,
        metadata: std::collections::HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let envelopes: Vec<EventEnvelope<A>> = events
            .into_iter()
            .enumerate()
            .map(|(offset, payload)| EventEnvelope {
                aggregate_id: context.aggregate_id.clone(),
                sequence: context.sequence + offset + 1,
                payload,
                metadata: metadata.clone(),
            })
            .collect();
        let serialized = envelopes
            .iter()
            .map(SerializedEvent::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        self.repo.persist::<A>(&serialized, None).await?;
        self.appended.appended();
        if let Some(last) = envelopes.last() {
            // The context's aggregate already has the events applied (EventSink::write).
            self.remember(&context.aggregate_id, &context.aggregate, last.sequence);
        }
        Ok(envelopes)
    }
}

//! The write path for one aggregate type.
//!
//! postgres-es 0.5.0's snapshot and aggregate-store modes apply new events to the stored
//! snapshot twice, so they are not used. Instead each node keeps the aggregates it recently used
//! in memory (an LRU) with the sequence they are at.
//!
//! A command is decided optimistically on what the node holds (a new, empty aggregate when it
//! holds nothing) and its events are appended at the next sequence numbers in one `INSERT`
//! statement. The primary key `(aggregate_type, aggregate_id, sequence)` makes that append fail
//! if anyone appended in between, i.e. if the decision was taken on a stale state; the node then
//! catches up with one indexed query (`sequence > held`) and decides again. A decision that
//! appends nothing (a rejection, or a retried webhook) is trusted only after that same catch-up
//! query showed the state was current. Every outcome is therefore decided on the latest state,
//! and the common case — a new call, or a command on an aggregate this node holds — costs one
//! round trip to the database.
//!
//! postgres-es' own `persist` runs `BEGIN`, one `INSERT` per event and `COMMIT`: four round
//! trips for a two-event command. A single multi-row `INSERT` is atomic by itself, so the append
//! here is one statement; whole histories are still loaded through postgres-es.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{
    EventUpcaster, PersistedEventRepository, PersistenceError, SerializedEvent,
};
use cqrs_es::{
    Aggregate, AggregateContext, AggregateError, DomainEvent, EventEnvelope, EventStore,
};
use domain::CommandMetadata;
use lru::LruCache;
use postgres_es::PostgresEventRepository;
use sqlx::{PgConnection, PgPool, Row};

use super::AppendSignal;
use crate::privacy::{PersonalData, PrivacyError};

/// How often a command is tried optimistically when other writers append to the same aggregate
/// first; after that it holds the aggregate's lock, so it cannot lose the race again.
const OPTIMISTIC_ATTEMPTS: u32 = 3;
/// How often a command is tried holding the aggregate's lock.
const LOCKED_ATTEMPTS: u32 = 3;
/// The longest pause before a retry; the pause is random so two writers stop colliding.
const MAX_BACKOFF: Duration = Duration::from_millis(20);

/// Appends the events of one command. The aggregate's advisory lock, taken for the statement,
/// makes an append wait while a contended writer holds the aggregate (see [`LOCK_AGGREGATE`]).
/// Appends events; a call being received also gets its data key stored (`$8`–`$12`, all null
/// otherwise), in the same statement, so the key exists exactly when the events it sealed do.
const APPEND: &str = "WITH guard AS (SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))), \
     data_key AS (INSERT INTO personal_data_keys (key_id, business_id, caller_digest, day, wrapped_key) \
                  SELECT $8::text, $9::uuid, $10::text, $11::date, $12::text FROM guard WHERE $8::text IS NOT NULL) \
     INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
     SELECT $1, $2, e.sequence, e.event_type, e.event_version, e.payload, $7 \
       FROM guard, UNNEST($3::bigint[], $4::text[], $5::text[], $6::jsonb[]) AS e(sequence, event_type, event_version, payload)";

/// Holds an aggregate until the transaction ends: every append to it waits meanwhile.
const LOCK_AGGREGATE: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))";

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

/// A state of an aggregate and the sequence it is at; `current` once checked against the store.
struct Belief<A> {
    aggregate: A,
    sequence: usize,
    current: bool,
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
    privacy: Option<PersonalData>,
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
            privacy: None,
        }
    }

    /// Seals the personal data of the events it appends and opens what it reads (see
    /// [`crate::privacy`]; only `Call` events carry any).
    pub fn with_privacy(mut self, privacy: PersonalData) -> Self {
        self.privacy = Some(privacy);
        self
    }

    /// Opens the personal data of events read from the store.
    async fn open(&self, events: &mut [SerializedEvent]) -> Result<(), PersistenceError> {
        match &self.privacy {
            Some(privacy) => privacy.open(events).await.map_err(privacy_failed),
            None => Ok(()),
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
        for attempt in 1..=OPTIMISTIC_ATTEMPTS {
            match self
                .execute_once(id, command.clone(), &metadata, None)
                .await
            {
                Err(AggregateError::AggregateConflict) => {
                    // The next attempt catches up with the events that beat us.
                    tracing::debug!(attempt, "concurrent append, retrying on fresh state");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return self.committed(id, other).map_err(StoreError::from),
            }
        }
        // Contended: a writer that keeps appending (holding the aggregate, it needs one round
        // trip a command) would win every race. Hold the aggregate's lock instead: appends wait,
        // and the state caught up under the lock stays current until this append commits.
        let mut outcome = Err(AggregateError::AggregateConflict);
        for attempt in 1..=LOCKED_ATTEMPTS {
            outcome = self.execute_locked(id, command.clone(), &metadata).await;
            match outcome {
                Err(AggregateError::AggregateConflict) => {
                    tokio::time::sleep(backoff(OPTIMISTIC_ATTEMPTS + attempt)).await;
                }
                _ => break,
            }
        }
        self.committed(id, outcome).map_err(StoreError::from)
    }

    /// After a command's events are durable: keep the new state, wake the readers.
    fn committed(
        &self,
        id: &str,
        outcome: Result<Committed<A>, AggregateError<A::Error>>,
    ) -> Result<Committed<A>, AggregateError<A::Error>> {
        if let Ok(committed) = &outcome {
            if !committed.events.is_empty() {
                self.remember(id, &committed.aggregate, committed.sequence);
                self.appended.appended();
            }
        }
        outcome
    }

    /// One try holding the aggregate's lock, in a transaction.
    async fn execute_locked(
        &self,
        id: &str,
        command: A::Command,
        metadata: &HashMap<String, String>,
    ) -> Result<Committed<A>, AggregateError<A::Error>> {
        let lost = |err: sqlx::Error| AggregateError::DatabaseConnectionError(Box::new(err));
        let mut tx = self.pool.begin().await.map_err(lost)?;
        sqlx::query(LOCK_AGGREGATE)
            .bind(A::TYPE)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(lost)?;
        let outcome = self
            .execute_once(id, command, metadata, Some(&mut tx))
            .await;
        match outcome {
            Ok(committed) => {
                tx.commit().await.map_err(lost)?;
                Ok(committed)
            }
            Err(err) => {
                // Dropping the transaction rolls it back.
                drop(tx);
                Err(err)
            }
        }
    }

    /// Decides and appends once (catching up when the state held was stale). With `locked`,
    /// everything runs on that connection, inside the caller's transaction.
    async fn execute_once(
        &self,
        id: &str,
        command: A::Command,
        metadata: &HashMap<String, String>,
        mut locked: Option<&mut PgConnection>,
    ) -> Result<Committed<A>, AggregateError<A::Error>> {
        let mut belief = self.held(id);
        if locked.is_some() {
            // Under the lock nobody can append: catch up first, and the append cannot conflict
            // (a failed statement would abort the transaction).
            belief = self.catch_up(id, belief, locked.as_deref_mut()).await?;
        }
        loop {
            let mut aggregate = belief.aggregate.clone();
            let sink = EventSink::default();
            let decided = aggregate
                .handle(command.clone(), &self.services, &sink)
                .await;
            let events = sink.collect().await;
            if decided.is_ok() && !events.is_empty() {
                // `EventSink::write` has applied the events to `aggregate` already.
                match self
                    .append(id, belief.sequence, events, metadata, locked.as_deref_mut())
                    .await
                {
                    Ok(envelopes) => {
                        // The caller keeps the state and wakes readers once it is durable.
                        let sequence = belief.sequence + envelopes.len();
                        return Ok(Committed {
                            aggregate,
                            sequence,
                            events: envelopes,
                        });
                    }
                    Err(AggregateError::AggregateConflict) if !belief.current => {
                        belief = self.catch_up(id, belief, locked.as_deref_mut()).await?;
                        continue;
                    }
                    Err(err) => return Err(err),
                }
            }
            // Nothing to append: trust the outcome only if it was decided on the current state.
            if !belief.current {
                let held_sequence = belief.sequence;
                belief = self.catch_up(id, belief, locked.as_deref_mut()).await?;
                if belief.sequence != held_sequence {
                    continue;
                }
            }
            return match decided {
                Ok(()) => Ok(Committed {
                    aggregate: belief.aggregate,
                    sequence: belief.sequence,
                    events: vec![],
                }),
                Err(rejection) => Err(AggregateError::UserError(rejection)),
            };
        }
    }

    /// What this node holds of aggregate `id`, not yet checked against the store.
    fn held(&self, id: &str) -> Belief<A> {
        let (aggregate, sequence) = self.cached(id).unwrap_or_default();
        Belief {
            aggregate,
            sequence,
            current: false,
        }
    }

    /// Applies the events stored after `belief`, making it current.
    async fn catch_up(
        &self,
        id: &str,
        belief: Belief<A>,
        locked: Option<&mut PgConnection>,
    ) -> Result<Belief<A>, AggregateError<A::Error>> {
        let Belief {
            mut aggregate,
            mut sequence,
            ..
        } = belief;
        let newer = self.events_after(id, sequence, locked).await?;
        if !newer.is_empty() {
            for event in newer {
                let envelope = self.deserialize(event)?;
                sequence = envelope.sequence;
                aggregate.apply(envelope.payload);
            }
            self.remember(id, &aggregate, sequence);
        }
        Ok(Belief {
            aggregate,
            sequence,
            current: true,
        })
    }

    /// Appends `events` after sequence `after` in one statement; a conflict when any of those
    /// sequence numbers is taken.
    async fn append(
        &self,
        id: &str,
        after: usize,
        events: Vec<A::Event>,
        metadata: &HashMap<String, String>,
        locked: Option<&mut PgConnection>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let unexpected =
            |err: Box<dyn std::error::Error + Send + Sync>| AggregateError::UnexpectedError(err);
        let envelopes: Vec<EventEnvelope<A>> = events
            .into_iter()
            .enumerate()
            .map(|(offset, payload)| EventEnvelope {
                aggregate_id: id.to_owned(),
                sequence: after + offset + 1,
                payload,
                metadata: metadata.clone(),
            })
            .collect();
        let mut sequences = Vec::with_capacity(envelopes.len());
        let mut types = Vec::with_capacity(envelopes.len());
        let mut versions = Vec::with_capacity(envelopes.len());
        let mut payloads = Vec::with_capacity(envelopes.len());
        for envelope in &envelopes {
            sequences
                .push(i64::try_from(envelope.sequence).map_err(|err| unexpected(Box::new(err)))?);
            types.push(envelope.payload.event_type());
            versions.push(envelope.payload.event_version());
            payloads.push(
                serde_json::to_value(&envelope.payload).map_err(|err| unexpected(Box::new(err)))?,
            );
        }
        let mut metadata =
            serde_json::to_value(metadata).map_err(|err| unexpected(Box::new(err)))?;
        let mut new_key = None;
        if let Some(privacy) = &self.privacy {
            let mut sealing: Vec<(i64, String, serde_json::Value)> = sequences
                .iter()
                .zip(&types)
                .zip(payloads.drain(..))
                .map(|((sequence, event_type), payload)| (*sequence, event_type.clone(), payload))
                .collect();
            new_key = privacy
                .seal(A::TYPE, id, &mut sealing, &mut metadata)
                .await
                .map_err(|err| match err {
                    PrivacyError::Database(err) => {
                        AggregateError::DatabaseConnectionError(Box::new(err))
                    }
                    other => unexpected(Box::new(other)),
                })?;
            payloads = sealing.into_iter().map(|(_, _, payload)| payload).collect();
        }
        let statement = || {
            sqlx::query(APPEND)
                .bind(A::TYPE)
                .bind(id)
                .bind(&sequences)
                .bind(&types)
                .bind(&versions)
                .bind(&payloads)
                .bind(&metadata)
                .bind(new_key.as_ref().map(|key| key.key_id.as_str()))
                .bind(new_key.as_ref().map(|key| key.business))
                .bind(new_key.as_ref().map(|key| key.caller_digest.as_str()))
                .bind(new_key.as_ref().map(|key| key.day))
                .bind(new_key.as_ref().map(|key| key.wrapped.as_str()))
        };
        match locked {
            // The caller's transaction commits later, or not: its new key is not remembered
            // (the call's next event reads it from the key table).
            Some(connection) => {
                statement()
                    .execute(connection)
                    .await
                    .map_err(append_error)?;
            }
            // Retrying is safe: if the first attempt did commit, the second finds its sequence
            // numbers taken, and the command is decided again on the state that includes it.
            None => {
                self.on_a_live_connection(|| statement().execute(&self.pool))
                    .await
                    .map_err(append_error)?;
                if let (Some(privacy), Some(new_key)) = (&self.privacy, &new_key) {
                    privacy.adopt(new_key);
                }
            }
        }
        Ok(envelopes)
    }

    /// The current state of aggregate `id` (a default state if it has no events): what this
    /// node holds, caught up with the events stored since.
    pub async fn load(&self, id: &str) -> Result<LoadedAggregate<A>, StoreError<A::Error>> {
        self.load_aggregate(id).await.map_err(StoreError::from)
    }

    /// What this node holds of aggregate `id` in memory, without asking the database: the last
    /// known state, for answering when the database cannot be reached.
    pub fn held_in_memory(&self, id: &str) -> Option<A> {
        self.cached(id).map(|(aggregate, _)| aggregate)
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
        locked: Option<&mut PgConnection>,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let after = i64::try_from(sequence).unwrap_or(i64::MAX);
        let select = || sqlx::query(SELECT_AFTER).bind(A::TYPE).bind(id).bind(after);
        let rows = match locked {
            Some(connection) => select().fetch_all(connection).await,
            None => {
                self.on_a_live_connection(|| select().fetch_all(&self.pool))
                    .await
            }
        }
        .map_err(|err| PersistenceError::ConnectionError(Box::new(err)))?;
        let mut events = rows
            .iter()
            .map(serialized_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.open(&mut events).await?;
        Ok(events)
    }

    /// Runs `statement`, again while it fails on a dead pooled connection: after a database
    /// restart every idle connection is dead, and each failed try drops one, so at most one
    /// more try than the pool has connections.
    async fn on_a_live_connection<T, F, Fut>(&self, statement: F) -> Result<T, sqlx::Error>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        let tries = self.pool.options().get_max_connections() + 1;
        let mut outcome = statement().await;
        for _ in 1..tries {
            match &outcome {
                Err(err) if connection_lost(err) => outcome = statement().await,
                _ => break,
            }
        }
        outcome
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

/// Whether a statement failed because its pooled connection had died (e.g. the database
/// restarted): worth another try on another connection. The pool does not ping connections
/// before handing them out (that would cost a round trip per statement), so this is where a
/// dead one is noticed.
fn connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        // 57P01 admin_shutdown, 57P02 crash_shutdown: the server ended the session.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code.starts_with("57P0")),
        _ => false,
    }
}

/// The key table failed (worth retrying), or a sealed value does not open (corrupt).
fn privacy_failed(err: PrivacyError) -> PersistenceError {
    match err {
        PrivacyError::Database(err) => PersistenceError::ConnectionError(Box::new(err)),
        other => PersistenceError::DeserializationError(Box::new(other)),
    }
}

/// A taken sequence number (unique violation) is a conflict; anything else is the database's.
fn append_error<E: std::error::Error>(err: sqlx::Error) -> AggregateError<E> {
    const UNIQUE_VIOLATION: &str = "23505";
    match &err {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(UNIQUE_VIOLATION) => {
            AggregateError::AggregateConflict
        }
        sqlx::Error::Database(_) | sqlx::Error::Protocol(_) | sqlx::Error::Encode(_) => {
            AggregateError::UnexpectedError(Box::new(err))
        }
        _ => AggregateError::DatabaseConnectionError(Box::new(err)),
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
        let mut events = self.repo.get_events::<A>(aggregate_id).await?;
        self.open(&mut events).await?;
        Ok(events
            .into_iter()
            .map(|event| self.deserialize(event))
            .collect::<Result<Vec<_>, _>>()?)
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<LoadedAggregate<A>, AggregateError<A::Error>> {
        let belief = self
            .catch_up(aggregate_id, self.held(aggregate_id), None)
            .await?;
        Ok(LoadedAggregate {
            aggregate_id: aggregate_id.to_owned(),
            aggregate: belief.aggregate,
            sequence: belief.sequence,
        })
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: LoadedAggregate<A>,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        if events.is_empty() {
            return Ok(vec![]);
        }
        let envelopes = self
            .append(
                &context.aggregate_id,
                context.sequence,
                events,
                &metadata,
                None,
            )
            .await?;
        // The context's aggregate already has the events applied (EventSink::write).
        self.remember(
            &context.aggregate_id,
            &context.aggregate,
            context.sequence + envelopes.len(),
        );
        self.appended.appended();
        Ok(envelopes)
    }
}

//! The event store: PostgreSQL's `events` table (postgres-es' schema plus a global order).
//!
//! - [`AggregateStore`] is the write path: load an aggregate (from memory, caught up with one
//!   indexed query), decide a command, append the events with their metadata. Optimistic
//!   concurrency comes from the table's primary key `(aggregate_type, aggregate_id, sequence)`.
//! - [`GlobalStream`] reads every event in one gap-safe order, for projections, the relay and
//!   subscribers.
//! - [`wakeup`] tells readers that something was appended, without a `NOTIFY` per insert.

mod store;
mod stream;
pub mod wakeup;

pub use store::{AggregateStore, Committed, LoadedAggregate, StoreError};
pub use stream::{GlobalStream, Position, RecordedEvent};
pub use wakeup::{AppendSignal, StreamWaker};

use std::num::NonZeroUsize;

use domain::business::Business;
use domain::call::Call;
use domain::phone_number::PhoneNumber;
use sqlx::PgPool;

use crate::privacy::PersonalData;

/// How many businesses and numbers a node keeps in memory: every one it routes for, in practice.
const ROUTING_CACHE: NonZeroUsize = match NonZeroUsize::new(50_000) {
    Some(size) => size,
    None => NonZeroUsize::MIN,
};
/// Calls are short-lived; the ones in progress are enough.
const CALL_CACHE: NonZeroUsize = match NonZeroUsize::new(10_000) {
    Some(size) => size,
    None => NonZeroUsize::MIN,
};

/// The write side: one store per aggregate type, all waking the same readers.
pub struct Stores {
    /// Businesses.
    pub businesses: AggregateStore<Business>,
    /// Phone numbers.
    pub numbers: AggregateStore<PhoneNumber>,
    /// Calls.
    pub calls: AggregateStore<Call>,
    /// Fired after every commit.
    pub appended: AppendSignal,
    /// Seals and opens the calls' personal data, once [`Stores::with_privacy`] gave it.
    pub privacy: Option<PersonalData>,
}

impl Stores {
    /// Stores over `pool`, with in-memory caches and every upcaster.
    pub fn new(pool: &PgPool, appended: AppendSignal) -> Self {
        Self {
            businesses: AggregateStore::new(pool.clone(), appended.clone())
                .with_cache(ROUTING_CACHE)
                .with_upcasters(domain::business::upcasters()),
            numbers: AggregateStore::new(pool.clone(), appended.clone()).with_cache(ROUTING_CACHE),
            calls: AggregateStore::new(pool.clone(), appended.clone()).with_cache(CALL_CACHE),
            appended,
            privacy: None,
        }
    }

    /// Seals the personal data of the calls' events with `privacy` and opens it on load (see
    /// [`crate::privacy`]).
    pub fn with_privacy(mut self, privacy: PersonalData) -> Self {
        self.calls = self.calls.with_privacy(privacy.clone());
        self.privacy = Some(privacy);
        self
    }
}

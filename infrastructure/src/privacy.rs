//! Personal data on an immutable event store: sealed with a key of the call's own (owned by its
//! business and caller, dated by its day), erased by destroying the key.
//!
//! The domain's events keep plain strings; this module works at the event store's boundary.
//! When a `Call`'s events are appended, their personal fields (the caller's number, what was
//! said, messages, recording URLs, the summary; see [`fields`]) and the metadata's Twilio
//! parameters are sealed with the call's data key, made at `CallReceived` (and stored by the
//! statement that appends it, see [`NewKey`]) and kept in a small cache so that the voice
//! bridge's transcript lines cost no query. Everything that reads
//! events opens them through [`PersonalData::open`], which fetches the keys of a whole batch in
//! one query. A key that is gone (erased on request, or by retention) opens as `[erased]`, so
//! the events still replay; a value stored before encryption passes through as it is.
//!
//! Data keys are stored outside the event stream (`personal_data_keys`), wrapped with
//! `ENCRYPTION_KEY` under its key id, so rotating `ENCRYPTION_KEY` keeps them readable while the
//! old key is listed as retired. See docs/privacy.md.

mod admin;
mod cipher;
mod fields;
mod keys;
mod stored;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use lru::LruCache;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

pub use cipher::CipherError;
pub use fields::{erase_fields, is_personal, CLEAR_METADATA, ERASED};
pub use keys::{caller_digest, KeysAndCalls};
pub use stored::StoredEvent;

use cipher::{DataKey, KeyWrapper};
use keys::Linked;

/// The aggregate whose events carry personal data.
const CALL: &str = "Call";

/// How many calls' keys a node keeps unwrapped: the calls in progress, in practice.
const KEY_CACHE: NonZeroUsize = match NonZeroUsize::new(10_000) {
    Some(size) => size,
    None => NonZeroUsize::MIN,
};

/// Personal data could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The key table could not be read or written.
    #[error("the personal data keys are unavailable")]
    Database(#[from] sqlx::Error),
    /// A sealed value or a wrapped key does not open.
    #[error("event #{sequence} of {aggregate_id}: {source}")]
    Sealed {
        /// The call.
        aggregate_id: String,
        /// The event.
        sequence: i64,
        /// Why.
        #[source]
        source: CipherError,
    },
}

/// What a call's new personal data is sealed with.
#[derive(Clone)]
enum CallKey {
    /// Its data key.
    Sealed(Arc<DataKey>),
    /// Its key was erased: new personal data is stored as `[erased]`.
    Erased,
    /// Recorded before encryption: stored plain, as the rest of the call.
    Legacy,
}

/// The data key of a call being received, to be stored with its first events (the event
/// store's append inserts it into `personal_data_keys`).
#[derive(Clone)]
pub struct NewKey {
    /// The call.
    pub call_sid: String,
    /// Its id, the call's sid (named in every value it seals).
    pub key_id: String,
    /// The business the call rang (nil for none).
    pub business: Uuid,
    /// The caller, as [`caller_digest`] names them.
    pub caller_digest: String,
    /// The UTC day of the call (retention erases by it).
    pub day: chrono::NaiveDate,
    /// The key wrapped with `ENCRYPTION_KEY`.
    pub wrapped: String,
    key: Arc<DataKey>,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("call_sid", &self.call_sid)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Seals and opens personal data, and erases it; cheap to clone (one per node).
#[derive(Clone)]
pub struct PersonalData {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    wrapper: KeyWrapper,
    calls: Mutex<LruCache<String, CallKey>>,
}

impl std::fmt::Debug for PersonalData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonalData").finish_non_exhaustive()
    }
}

impl PersonalData {
    /// Personal data over the key table in `pool`, data keys wrapped with `current` (the
    /// `ENCRYPTION_KEY`) and still unwrapped with `retired` ones.
    pub fn new<'k>(
        pool: PgPool,
        current: &[u8; 32],
        retired: impl IntoIterator<Item = &'k [u8; 32]>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                wrapper: KeyWrapper::new(current, retired),
                calls: Mutex::new(LruCache::new(KEY_CACHE)),
            }),
        }
    }

    /// Personal data with the encryption keys of `settings`.
    pub fn from_settings(pool: PgPool, settings: &crate::config::Settings) -> Self {
        use secrecy::ExposeSecret;
        Self::new(
            pool,
            settings.encryption_key.expose_secret(),
            settings
                .retired_encryption_keys
                .iter()
                .map(ExposeSecret::expose_secret),
        )
    }

    /// Personal data with `ENCRYPTION_KEY` and `ENCRYPTION_KEYS_RETIRED` as `lookup` gives them
    /// (for commands that need no other setting, e.g. `callassist audit`).
    ///
    /// # Errors
    /// A message naming the variable that is missing or not 32 bytes of standard base64.
    pub fn from_lookup(
        pool: PgPool,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let decode = |name: &str, raw: &str| -> Result<[u8; 32], String> {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(raw.trim())
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| format!("{name} must be 32 bytes in standard base64"))
        };
        let current = lookup("ENCRYPTION_KEY")
            .ok_or_else(|| "ENCRYPTION_KEY is required to read personal data".to_owned())?;
        let current = decode("ENCRYPTION_KEY", &current)?;
        let retired = lookup("ENCRYPTION_KEYS_RETIRED")
            .unwrap_or_default()
            .split(',')
            .filter(|key| !key.trim().is_empty())
            .map(|key| decode("ENCRYPTION_KEYS_RETIRED", key))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(pool, &current, &retired))
    }

    fn cached(&self, call_sid: &str) -> Option<CallKey> {
        self.inner.calls.lock().ok()?.get(call_sid).cloned()
    }

    fn remember(&self, call_sid: &str, key: CallKey) {
        if let Ok(mut calls) = self.inner.calls.lock() {
            calls.put(call_sid.to_owned(), key);
        }
    }

    /// Forgets the cached keys of `calls` (they were erased).
    fn forget(&self, calls: &[String]) {
        if let Ok(mut cache) = self.inner.calls.lock() {
            for call in calls {
                cache.pop(call);
            }
        }
    }

    /// Seals the personal fields of events about to be appended to aggregate `aggregate_id`:
    /// `(sequence, event_type, payload)` each, and their shared `metadata`. Only `Call`s carry
    /// personal data; other aggregates' events are left alone.
    ///
    /// A call being received gets a fresh data key, returned as a [`NewKey`]: the caller stores
    /// it in the same statement as the events (so a key exists exactly when its events do, at no
    /// extra round trip or commit on the webhook's path) and then hands it to
    /// [`PersonalData::adopt`]. Later events of the call use its stored key.
    ///
    /// # Errors
    /// [`PrivacyError::Database`] when the call's key cannot be read.
    pub async fn seal(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        events: &mut [(i64, String, Value)],
        metadata: &mut Value,
    ) -> Result<Option<NewKey>, PrivacyError> {
        if aggregate_type != CALL {
            return Ok(None);
        }
        let first = events.first().map_or(0, |(sequence, _, _)| *sequence);
        let sealed = |source| PrivacyError::Sealed {
            aggregate_id: aggregate_id.to_owned(),
            sequence: first,
            source,
        };
        let received = events
            .iter()
            .find(|(_, event_type, _)| event_type == "CallReceived")
            .map(|(_, _, payload)| payload);
        let (key, new) = match received {
            Some(payload) => {
                let new = self.new_key(aggregate_id, payload, metadata)?;
                (CallKey::Sealed(new.key.clone()), Some(new))
            }
            None => (self.key_of_call(aggregate_id).await?, None),
        };
        match key {
            CallKey::Legacy => {}
            CallKey::Erased => {
                for (_, event_type, payload) in events.iter_mut() {
                    fields::erase_event(event_type, payload, metadata);
                }
            }
            CallKey::Sealed(key) => {
                for (sequence, event_type, payload) in events.iter_mut() {
                    fields::seal_event(&key, aggregate_id, *sequence, event_type, payload)
                        .map_err(sealed)?;
                }
                fields::seal_metadata(&key, aggregate_id, metadata).map_err(sealed)?;
            }
        }
        Ok(new)
    }

    /// Remembers the key of a call whose events (and the key with them) were stored.
    pub fn adopt(&self, new: &NewKey) {
        self.remember(&new.call_sid, CallKey::Sealed(new.key.clone()));
    }

    /// A fresh data key for a call being received, owned by its business and caller and dated
    /// by the day it came in.
    fn new_key(
        &self,
        call_sid: &str,
        received: &Value,
        metadata: &Value,
    ) -> Result<NewKey, PrivacyError> {
        let business = received
            .get("CallReceived")
            .and_then(|inner| inner.get("business_id"))
            .and_then(Value::as_str)
            .and_then(|id| Uuid::parse_str(id).ok())
            .unwrap_or(Uuid::nil());
        let day = metadata
            .get("received_at")
            .and_then(Value::as_str)
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
            .map_or_else(Utc::now, |at| at.with_timezone(&Utc))
            .date_naive();
        let bytes: [u8; 32] = rand::random();
        // The key is the call's own: its id is the call's sid.
        let key_id = call_sid.to_owned();
        let wrapped =
            self.inner
                .wrapper
                .wrap(&key_id, &bytes)
                .map_err(|source| PrivacyError::Sealed {
                    aggregate_id: call_sid.to_owned(),
                    sequence: 1,
                    source,
                })?;
        Ok(NewKey {
            call_sid: call_sid.to_owned(),
            business,
            caller_digest: caller_digest(business, &fields::caller_of(received)),
            day,
            wrapped,
            key: Arc::new(DataKey::new(key_id.clone(), &bytes)),
            key_id,
        })
    }

    /// The key of a call already received (cached, else from the key table).
    async fn key_of_call(&self, call_sid: &str) -> Result<CallKey, PrivacyError> {
        if let Some(key) = self.cached(call_sid) {
            return Ok(key);
        }
        self.fetch_key_of_call(call_sid).await
    }

    /// The key of a call from the key table, remembered.
    async fn fetch_key_of_call(&self, call_sid: &str) -> Result<CallKey, PrivacyError> {
        let key = match keys::key_of_call(&self.inner.pool, call_sid).await? {
            Linked::None => CallKey::Legacy,
            Linked::Erased => CallKey::Erased,
            Linked::Key(id, wrapped) => {
                let key = self.inner.wrapper.unwrap(&id, &wrapped).map_err(|source| {
                    PrivacyError::Sealed {
                        aggregate_id: call_sid.to_owned(),
                        sequence: 0,
                        source,
                    }
                })?;
                CallKey::Sealed(Arc::new(key))
            }
        };
        self.remember(call_sid, key.clone());
        Ok(key)
    }

    /// Opens the sealed fields of `events` in place, fetching the keys they name in one query:
    /// `[erased]` where a key is gone, plain values as they are.
    ///
    /// # Errors
    /// [`PrivacyError::Database`] when the keys cannot be read, [`PrivacyError::Sealed`] when a
    /// sealed value does not open with its key (tampered with, or moved).
    pub async fn open<E: StoredEvent>(&self, events: &mut [E]) -> Result<(), PrivacyError> {
        let mut wanted: Vec<String> = Vec::new();
        for event in events.iter() {
            if event.aggregate_type() != CALL {
                continue;
            }
            let (payload, metadata) = event.parts();
            for id in fields::key_ids(event.event_type(), payload, metadata) {
                if !wanted.iter().any(|known| known == id) {
                    wanted.push(id.to_owned());
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let mut found: HashMap<String, DataKey> = HashMap::new();
        for (id, wrapped) in keys::keys_by_id(&self.inner.pool, &wanted).await? {
            let key = self.inner.wrapper.unwrap(&id, &wrapped).map_err(|source| {
                PrivacyError::Sealed {
                    aggregate_id: format!("key {id}"),
                    sequence: 0,
                    source,
                }
            })?;
            found.insert(id, key);
        }
        let lookup = |id: &str| found.get(id);
        for event in events.iter_mut() {
            if event.aggregate_type() != CALL {
                continue;
            }
            let (call_sid, sequence, event_type) = (
                event.aggregate_id().to_owned(),
                event.sequence(),
                event.event_type().to_owned(),
            );
            let (payload, metadata) = event.sealed_parts();
            fields::open_event(&lookup, &call_sid, sequence, &event_type, payload, metadata)
                .map_err(|source| PrivacyError::Sealed {
                    aggregate_id: call_sid.clone(),
                    sequence,
                    source,
                })?;
        }
        Ok(())
    }
}

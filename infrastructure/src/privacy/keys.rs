//! The key table (`personal_data_keys`; migration `20261125000015_privacy.sql`): a call's data
//! key, the keys a batch of events names, a caller's or a day's keys, and destroying keys, which
//! is the erasure.

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// The key a call's events are sealed with (its id is the call's sid).
const KEY_OF_CALL: &str = "SELECT key_id, wrapped_key FROM personal_data_keys WHERE key_id = $1";

const KEYS_BY_ID: &str = "SELECT key_id, wrapped_key FROM personal_data_keys \
     WHERE key_id = ANY($1) AND wrapped_key IS NOT NULL";

/// The calls sealed with the keys of one caller of one business.
const CALLS_OF_CALLER: &str = "\
SELECT key_id, key_id AS call_sid FROM personal_data_keys \
 WHERE business_id = $1 AND caller_digest = $2 AND wrapped_key IS NOT NULL";

/// The calls sealed with a business' keys of days before a cutoff.
const CALLS_BEFORE: &str = "\
SELECT key_id, key_id AS call_sid FROM personal_data_keys \
 WHERE business_id = $1 AND day < $2 AND wrapped_key IS NOT NULL";

/// Destroys keys: the row stays, saying the call's key was erased.
const DELETE_KEYS: &str = "\
UPDATE personal_data_keys SET wrapped_key = NULL, caller_digest = NULL \
 WHERE key_id = ANY($1) AND wrapped_key IS NOT NULL";

/// SHA-256 of the business id and the caller, hex: the key table's name for a caller.
pub fn caller_digest(business: Uuid, caller: &str) -> String {
    let digest = Sha256::new()
        .chain_update(business.as_bytes())
        .chain_update(caller.as_bytes())
        .finalize();
    hex::encode(digest)
}

/// What the key table says of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Linked {
    /// No row: recorded before encryption (or not yet received).
    None,
    /// Linked to a key that was erased.
    Erased,
    /// Linked to this key (id, wrapped).
    Key(String, String),
}

pub(super) async fn key_of_call(pool: &PgPool, call_sid: &str) -> Result<Linked, sqlx::Error> {
    let row = sqlx::query(KEY_OF_CALL)
        .bind(call_sid)
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else {
        return Ok(Linked::None);
    };
    let key_id: String = row.try_get("key_id")?;
    let wrapped: Option<String> = row.try_get("wrapped_key")?;
    Ok(match wrapped {
        Some(wrapped) => Linked::Key(key_id, wrapped),
        None => Linked::Erased,
    })
}

/// (key id, wrapped key) of every id in `ids` that still exists.
pub(super) async fn keys_by_id(
    pool: &PgPool,
    ids: &[String],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(KEYS_BY_ID).bind(ids).fetch_all(pool).await
}

/// Keys and the calls sealed with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeysAndCalls {
    /// The keys' ids.
    pub key_ids: Vec<String>,
    /// The calls' sids, sorted.
    pub calls: Vec<String>,
}

fn keys_and_calls(rows: Vec<(String, Option<String>)>) -> KeysAndCalls {
    let mut found = KeysAndCalls::default();
    for (key_id, call_sid) in rows {
        if !found.key_ids.contains(&key_id) {
            found.key_ids.push(key_id);
        }
        found.calls.extend(call_sid);
    }
    found.calls.sort();
    found.calls.dedup();
    found
}

pub(super) async fn calls_of_caller(
    pool: &PgPool,
    business: Uuid,
    caller_digest: &str,
) -> Result<KeysAndCalls, sqlx::Error> {
    let rows = sqlx::query_as(CALLS_OF_CALLER)
        .bind(business)
        .bind(caller_digest)
        .fetch_all(pool)
        .await?;
    Ok(keys_and_calls(rows))
}

pub(super) async fn calls_before(
    pool: &PgPool,
    business: Uuid,
    day: NaiveDate,
) -> Result<KeysAndCalls, sqlx::Error> {
    let rows = sqlx::query_as(CALLS_BEFORE)
        .bind(business)
        .bind(day)
        .fetch_all(pool)
        .await?;
    Ok(keys_and_calls(rows))
}

/// Destroys the keys: what they sealed opens as `[erased]` from now on, everywhere.
pub(super) async fn delete_keys(pool: &PgPool, ids: &[String]) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(DELETE_KEYS)
        .bind(ids)
        .execute(pool)
        .await?
        .rows_affected())
}

/// Records how long `business` keeps personal data (`None`: no limit), for the retention job.
pub(super) async fn set_retention(
    pool: &PgPool,
    business: Uuid,
    days: Option<u32>,
) -> Result<(), sqlx::Error> {
    match days.and_then(|days| i32::try_from(days).ok()) {
        Some(days) => {
            sqlx::query(
                "INSERT INTO privacy_retention (business_id, days) VALUES ($1, $2) \
                 ON CONFLICT (business_id) DO UPDATE SET days = EXCLUDED.days",
            )
            .bind(business)
            .bind(days)
            .execute(pool)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM privacy_retention WHERE business_id = $1")
                .bind(business)
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// Every business with a retention period, and the period in days.
pub(super) async fn retention_rules(pool: &PgPool) -> Result<Vec<(Uuid, u32)>, sqlx::Error> {
    let rows: Vec<(Uuid, i32)> = sqlx::query_as(
        "SELECT business_id, days FROM privacy_retention WHERE days IS NOT NULL ORDER BY business_id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(business, days)| Some((business, u32::try_from(days).ok()?)))
        .collect())
}

/// Every data key wrapped under another encryption key than `current_id`: (key id, wrapped).
pub(super) async fn wrapped_elsewhere(
    pool: &PgPool,
    current_id: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT key_id, wrapped_key FROM personal_data_keys \
         WHERE wrapped_key IS NOT NULL AND split_part(wrapped_key, ':', 1) <> $1",
    )
    .bind(current_id)
    .fetch_all(pool)
    .await
}

/// Replaces the wrapping of key `key_id` if it is still `old`; whether it did.
pub(super) async fn replace_wrapping(
    pool: &PgPool,
    key_id: &str,
    old: &str,
    new: &str,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE personal_data_keys SET wrapped_key = $3 WHERE key_id = $1 AND wrapped_key = $2",
    )
    .bind(key_id)
    .bind(old)
    .bind(new)
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

//! Erasing callers' personal data (docs/privacy.md): on request (`callassist privacy erase`,
//! `POST /api/v1/admin/privacy/erasures`) and by each business' retention period (the daily job
//! in [`retention`]).
//!
//! An erasure finds the data keys of the caller (or of the days past the retention period) and
//! the calls they sealed, records `CallerDataErased` on the business — the read models blank
//! those calls when they see it — and then deletes the keys, after which every reader of the
//! event store gets `[erased]` for those calls' personal fields. The event comes first so that
//! a failure in between leaves keys that a retry finds and deletes. Calls recorded before
//! encryption have no key; their read model rows are found by caller number and blanked too,
//! but their events keep the text (docs/privacy.md).

pub mod retention;

use anyhow::Context;
use chrono::Utc;
use domain::business::{BusinessCommand, BusinessError, ErasureReason};
use domain::values::{BusinessId, CallSid, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{StoreError, Stores};
use infrastructure::privacy::{KeysAndCalls, PersonalData, PrivacyError};
use infrastructure::twilio::rest::TwilioClient;
use sqlx::PgPool;

/// The personal data of the event store in `pool`, opened with `ENCRYPTION_KEY` (and
/// `ENCRYPTION_KEYS_RETIRED`) from the environment.
///
/// # Errors
/// When `ENCRYPTION_KEY` is missing or malformed.
pub fn personal_data(pool: &PgPool) -> anyhow::Result<PersonalData> {
    PersonalData::from_lookup(pool.clone(), |name| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
    })
    .map_err(anyhow::Error::msg)
    .context("personal data in the event store cannot be read")
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Erased {
    /// The calls whose personal data is gone (recorded in `CallerDataErased`).
    pub calls: usize,
    /// The data keys deleted.
    pub keys: u64,
    /// Recordings deleted at Twilio (or found gone already).
    pub recordings_deleted: usize,
    /// Recordings Twilio did not delete (unreachable, refused): delete them there by hand.
    pub recordings_left: Vec<String>,
}

/// An erasure could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// No such business.
    #[error("no business {0}")]
    NoBusiness(BusinessId),
    /// The event store or the key table failed.
    #[error(transparent)]
    Unavailable(#[from] anyhow::Error),
}

/// Erases the personal data `business` holds of `caller`: every call of theirs, whatever its
/// day. `metadata` records who asked.
///
/// # Errors
/// [`EraseError::NoBusiness`], or [`EraseError::Unavailable`] when the store or keys fail.
#[tracing::instrument(skip_all, fields(business_id = %business), err)]
pub async fn erase_caller(
    pool: &PgPool,
    stores: &Stores,
    privacy: &PersonalData,
    twilio: Option<&TwilioClient>,
    business: BusinessId,
    caller: &E164,
    metadata: &CommandMetadata,
) -> Result<Erased, EraseError> {
    let mut found = privacy
        .keys_of_caller(business.0, caller.as_ref())
        .await
        .context("cannot read the personal data keys")?;
    // Calls recorded before encryption have no key: the read model still knows them.
    let legacy: Vec<String> = sqlx::query_scalar(
        "SELECT call_sid FROM rm_calls.calls WHERE business_id = $1 AND caller = $2",
    )
    .bind(business.0)
    .bind(caller.as_ref())
    .fetch_all(pool)
    .await
    .context("cannot read the calls read model")?;
    found.calls.extend(legacy);
    found.calls.sort();
    found.calls.dedup();
    let erasure = Erasure {
        business,
        reason: ErasureReason::Request,
        metadata,
    };
    record_and_erase(pool, stores, privacy, twilio, found, erasure).await
}

/// One erasure's facts.
pub(crate) struct Erasure<'m> {
    pub(crate) business: BusinessId,
    pub(crate) reason: ErasureReason,
    pub(crate) metadata: &'m CommandMetadata,
}

/// Records `CallerDataErased` for `found.calls` on the business, deletes `found.key_ids`, then
/// asks Twilio (when given) to delete the calls' recordings.
pub(crate) async fn record_and_erase(
    pool: &PgPool,
    stores: &Stores,
    privacy: &PersonalData,
    twilio: Option<&TwilioClient>,
    found: KeysAndCalls,
    erasure: Erasure<'_>,
) -> Result<Erased, EraseError> {
    let Erasure {
        business,
        reason,
        metadata,
    } = erasure;
    let calls: Vec<CallSid> = found
        .calls
        .iter()
        .filter_map(|sid| CallSid::parse(sid).ok())
        .collect();
    let count = calls.len();
    let recorded = stores
        .businesses
        .execute(
            &business.to_string(),
            BusinessCommand::RecordErasure { calls, reason },
            metadata,
        )
        .await;
    match recorded {
        Ok(_) => {}
        Err(StoreError::Rejected(BusinessError::NotFound)) => {
            return Err(EraseError::NoBusiness(business))
        }
        Err(err) => {
            return Err(EraseError::Unavailable(
                anyhow::Error::new(err).context("cannot record the erasure"),
            ))
        }
    }
    // The webhook delivery log keeps bodies as sent; blank them before the keys go, so a
    // failure here leaves the erasure to be run again whole.
    let deliveries = infrastructure::webhooks::erase::erase_calls(pool, &found.calls)
        .await
        .map_err(|err| {
            EraseError::Unavailable(
                anyhow::Error::new(err).context("cannot erase the webhook delivery log"),
            )
        })?;
    let keys = privacy
        .erase(&found)
        .await
        .map_err(|err: PrivacyError| anyhow::Error::new(err).context("cannot delete the keys"))?;
    let (recordings_deleted, recordings_left) = match twilio {
        Some(twilio) => delete_recordings(pool, twilio, &found.calls).await,
        None => (0, Vec::new()),
    };
    tracing::info!(
        calls = count,
        keys,
        deliveries,
        recordings_deleted,
        "personal data erased"
    );
    Ok(Erased {
        calls: count,
        keys,
        recordings_deleted,
        recordings_left,
    })
}

/// The recordings Twilio holds of `calls` (their sids are not personal: stored in clear).
const RECORDINGS_OF: &str = "\
SELECT DISTINCT sid FROM ( \
  SELECT payload->'RecordingAvailable'->>'recording_sid' AS sid FROM events \
   WHERE aggregate_type = 'Call' AND aggregate_id = ANY($1) \
  UNION SELECT payload->'VoicemailTranscribed'->>'recording_sid' FROM events \
   WHERE aggregate_type = 'Call' AND aggregate_id = ANY($1) \
  UNION SELECT payload->'VoicemailTranscriptionFailed'->>'recording_sid' FROM events \
   WHERE aggregate_type = 'Call' AND aggregate_id = ANY($1) \
  UNION SELECT metadata->>'RecordingSid' FROM events \
   WHERE aggregate_type = 'Call' AND aggregate_id = ANY($1) \
) recordings WHERE sid IS NOT NULL ORDER BY sid";

/// Deletes the recordings of `calls` at Twilio: how many went, and the sids that did not
/// (logged; the keys are gone whatever Twilio answers).
async fn delete_recordings(
    pool: &PgPool,
    twilio: &TwilioClient,
    calls: &[String],
) -> (usize, Vec<String>) {
    if calls.is_empty() {
        return (0, Vec::new());
    }
    let sids: Vec<String> = match sqlx::query_scalar(RECORDINGS_OF)
        .bind(calls)
        .fetch_all(pool)
        .await
    {
        Ok(sids) => sids,
        Err(err) => {
            tracing::error!(error = %err, "cannot list the recordings to delete at Twilio");
            return (0, Vec::new());
        }
    };
    let mut deleted = 0;
    let mut left = Vec::new();
    for sid in sids {
        match twilio.delete_recording(&sid).await {
            Ok(()) => deleted += 1,
            Err(err) if err.is_not_found() => deleted += 1,
            Err(err) => {
                tracing::warn!(recording_sid = %sid, error = %err, "Twilio did not delete a recording");
                left.push(sid);
            }
        }
    }
    (deleted, left)
}

/// `callassist privacy erase --business B --caller +1…`: erases, prints what it did.
///
/// # Errors
/// A malformed business id or number, missing settings, an unknown business, a failing store.
pub async fn run_erase(business: &str, caller: &str) -> anyhow::Result<()> {
    let business = BusinessId(
        uuid::Uuid::parse_str(business.trim())
            .with_context(|| format!("'{business}' is not a business id (a UUID)"))?,
    );
    let caller = E164::parse(caller.trim())?;
    let settings = infrastructure::config::DatabaseSettings::from_env()?;
    let pool =
        infrastructure::db::connect_and_migrate(infrastructure::config::database_url(&settings))
            .await?;
    let privacy = personal_data(&pool)?;
    let stores = Stores::new(&pool, infrastructure::event_store::AppendSignal::new())
        .with_privacy(privacy.clone());
    let metadata = CommandMetadata::new(
        uuid::Uuid::new_v4().to_string(),
        "cli:privacy erase",
        Actor::Cli,
        Utc::now(),
    );
    let twilio = twilio_from_env()?;
    let erased = erase_caller(
        &pool,
        &stores,
        &privacy,
        twilio.as_ref(),
        business,
        &caller,
        &metadata,
    )
    .await;
    pool.close().await;
    let erased = erased?;
    println!(
        "erased the personal data of {} call(s) of that caller ({} key(s) deleted)",
        erased.calls, erased.keys
    );
    match twilio {
        Some(_) => println!("deleted {} recording(s) at Twilio", erased.recordings_deleted),
        None => println!(
            "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set: recordings at Twilio were not deleted"
        ),
    }
    for sid in &erased.recordings_left {
        println!("Twilio did not delete recording {sid}: delete it there");
    }
    Ok(())
}

/// A Twilio client from `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN` (and `TWILIO_API_BASE`) when
/// they are set.
fn twilio_from_env() -> anyhow::Result<Option<TwilioClient>> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
    };
    let (Some(account_sid), Some(auth_token)) =
        (var("TWILIO_ACCOUNT_SID"), var("TWILIO_AUTH_TOKEN"))
    else {
        return Ok(None);
    };
    let api_base = var("TWILIO_API_BASE")
        .unwrap_or_else(|| infrastructure::config::DEFAULT_TWILIO_API_BASE.to_owned());
    let api_base = url::Url::parse(&api_base).context("TWILIO_API_BASE is not a URL")?;
    Ok(Some(
        TwilioClient::new(
            &api_base,
            &account_sid,
            auth_token.into(),
            infrastructure::twilio::rest::DEFAULT_TIMEOUT,
        )
        .context("cannot build the Twilio REST client")?,
    ))
}

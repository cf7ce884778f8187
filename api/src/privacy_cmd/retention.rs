//! The retention job: once a day, for every business with a retention period of N days, erases
//! the personal data of its calls received more than N days ago (their days' keys), recording
//! `CallerDataErased` with reason `retention`.
//!
//! One node sweeps at a time (an advisory lock held on a connection of its own, as the
//! summariser does); it sweeps when it takes the lead and then every [`SWEEP_INTERVAL`]. The
//! clock is injected so tests can sweep "40 days later".

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::business::ErasureReason;
use domain::values::BusinessId;
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::Stores;
use infrastructure::leadership;
use infrastructure::privacy::PersonalData;
use sqlx::{PgConnection, PgPool};

use infrastructure::twilio::rest::TwilioClient;

use super::{record_and_erase, EraseError, Erasure};

/// How often the leader sweeps.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a standby waits before trying to take the lead again.
const STANDBY_RETRY: Duration = Duration::from_secs(30);
/// The advisory lock's name.
const LOCK_KEY: &str = "callassist.privacy.retention";

/// What time it is (injectable for tests).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What one sweep erased, in all businesses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Businesses whose data was erased.
    pub businesses: usize,
    /// Calls erased.
    pub calls: usize,
    /// Keys deleted.
    pub keys: u64,
}

/// Erases, for every business with a retention period, the keys of days before `now` minus
/// that period (a key's day is the UTC day its calls were received).
///
/// # Errors
/// When the key table or the event store fails; businesses swept before stay swept.
pub async fn sweep(
    pool: &PgPool,
    stores: &Stores,
    privacy: &PersonalData,
    twilio: Option<&TwilioClient>,
    now: DateTime<Utc>,
) -> Result<Swept, EraseError> {
    let mut swept = Swept::default();
    let rules = privacy
        .retention_rules()
        .await
        .map_err(|err| EraseError::Unavailable(err.into()))?;
    for (business, days) in rules {
        let cutoff = (now - chrono::Duration::days(i64::from(days))).date_naive();
        let found = privacy
            .keys_before(business, cutoff)
            .await
            .map_err(|err| EraseError::Unavailable(err.into()))?;
        if found.key_ids.is_empty() {
            continue;
        }
        let metadata = CommandMetadata::new(
            uuid::Uuid::new_v4().to_string(),
            format!("retention:{days} days"),
            Actor::System,
            now,
        );
        let erasure = Erasure {
            business: BusinessId(business),
            reason: ErasureReason::Retention { days },
            metadata: &metadata,
        };
        let erased = record_and_erase(pool, stores, privacy, twilio, found, erasure).await?;
        swept.businesses += 1;
        swept.calls += erased.calls;
        swept.keys += erased.keys;
    }
    Ok(swept)
}

/// The daily job; see the module documentation.
pub struct RetentionJob {
    pool: PgPool,
    stores: Arc<Stores>,
    privacy: PersonalData,
    twilio: Option<TwilioClient>,
    clock: Clock,
    interval: Duration,
}

impl RetentionJob {
    /// A job over `stores`, sweeping by the system clock every [`SWEEP_INTERVAL`].
    pub fn new(pool: PgPool, stores: Arc<Stores>, privacy: PersonalData) -> Self {
        Self {
            pool,
            stores,
            privacy,
            twilio: None,
            clock: Arc::new(Utc::now),
            interval: SWEEP_INTERVAL,
        }
    }

    /// Deletes the erased calls' recordings at Twilio through `twilio`.
    pub fn with_twilio(mut self, twilio: TwilioClient) -> Self {
        self.twilio = Some(twilio);
        self
    }

    /// Reads the time from `clock` instead of the system's.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Sweeps every `interval` instead of once a day.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Leads (or stands by) and sweeps, forever; failures are logged and retried.
    pub async fn run(self) {
        loop {
            match leadership::take_the_lead(&self.pool, LOCK_KEY, "retention job", STANDBY_RETRY)
                .await
            {
                Ok(leader) => self.lead(leader).await,
                Err(err) => tracing::warn!(error = %err, "retention job cannot take the lead"),
            }
            tokio::time::sleep(STANDBY_RETRY).await;
        }
    }

    async fn lead(&self, mut leader: PgConnection) {
        loop {
            let now = (self.clock)();
            match sweep(
                &self.pool,
                &self.stores,
                &self.privacy,
                self.twilio.as_ref(),
                now,
            )
            .await
            {
                Ok(swept) if swept.calls > 0 || swept.keys > 0 => tracing::info!(
                    businesses = swept.businesses,
                    calls = swept.calls,
                    keys = swept.keys,
                    "retention erased personal data"
                ),
                Ok(_) => {}
                Err(err) => tracing::error!(error = %err, "retention sweep failed"),
            }
            tokio::time::sleep(self.interval).await;
            // Lost the lock's connection (database restart): take the lead again.
            if sqlx::query("SELECT 1").execute(&mut leader).await.is_err() {
                return;
            }
        }
    }
}

//! Managing the keys rather than using them: finding a caller's or a period's keys, deleting
//! them (the erasure), the retention periods, and rewrapping after `ENCRYPTION_KEY` rotated.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{caller_digest, keys, KeysAndCalls, PersonalData, PrivacyError};

impl PersonalData {
    /// The keys of one caller of `business` (`caller` as E.164, `withheld`, or as Twilio sent
    /// it) and the calls they sealed.
    ///
    /// # Errors
    /// When the key table cannot be read.
    pub async fn keys_of_caller(
        &self,
        business: Uuid,
        caller: &str,
    ) -> Result<KeysAndCalls, PrivacyError> {
        let digest = caller_digest(business, caller);
        Ok(keys::calls_of_caller(&self.inner.pool, business, &digest).await?)
    }

    /// The keys of `business` for calls received before `day` (UTC), and the calls they sealed.
    ///
    /// # Errors
    /// When the key table cannot be read.
    pub async fn keys_before(
        &self,
        business: Uuid,
        day: NaiveDate,
    ) -> Result<KeysAndCalls, PrivacyError> {
        Ok(keys::calls_before(&self.inner.pool, business, day).await?)
    }

    /// Records how long `business` keeps personal data (`None`: no limit) for the retention
    /// job; the `RetentionSet` event is the record, this the job's index of it.
    ///
    /// # Errors
    /// When the table cannot be written.
    pub async fn set_retention(
        &self,
        business: Uuid,
        days: Option<u32>,
    ) -> Result<(), PrivacyError> {
        Ok(keys::set_retention(&self.inner.pool, business, days).await?)
    }

    /// Every business with a retention period, and the period in days.
    ///
    /// # Errors
    /// When the table cannot be read.
    pub async fn retention_rules(&self) -> Result<Vec<(Uuid, u32)>, PrivacyError> {
        Ok(keys::retention_rules(&self.inner.pool).await?)
    }

    /// Wraps every data key wrapped under a retired encryption key again under the current
    /// one (after `ENCRYPTION_KEY` was rotated, so the retired key can be removed). Returns how
    /// many keys it rewrapped; running it again rewraps nothing.
    ///
    /// # Errors
    /// When the key table fails, or a key is wrapped under an encryption key not configured.
    pub async fn rewrap_retired(&self) -> Result<u64, PrivacyError> {
        let current = self.inner.wrapper.current_id().to_owned();
        let mut rewrapped = 0;
        for (id, old) in keys::wrapped_elsewhere(&self.inner.pool, &current).await? {
            let sealed = |source| PrivacyError::Sealed {
                aggregate_id: format!("key {id}"),
                sequence: 0,
                source,
            };
            let bytes = self.inner.wrapper.unwrap_bytes(&id, &old).map_err(sealed)?;
            let new = self.inner.wrapper.wrap(&id, &bytes).map_err(sealed)?;
            if keys::replace_wrapping(&self.inner.pool, &id, &old, &new).await? {
                rewrapped += 1;
            }
        }
        Ok(rewrapped)
    }

    /// Deletes `found.key_ids`: what they sealed reads as `[erased]` from now on. Returns how
    /// many keys were deleted.
    ///
    /// # Errors
    /// When the key table cannot be written.
    pub async fn erase(&self, found: &KeysAndCalls) -> Result<u64, PrivacyError> {
        let deleted = keys::delete_keys(&self.inner.pool, &found.key_ids).await?;
        self.forget(&found.calls);
        Ok(deleted)
    }
}

//! Owner notifications as facts on the call: a notifier outside the domain sends a text or an
//! email about a message taken, a voicemail or a missed call, and records here how it went.
//! Each notification has an id derived from the event that caused it (its global position and
//! channel), so a notifier that restarts, or a second node, records its outcome only once.

use serde::{Deserialize, Serialize};

use super::aggregate::{AiSession, OwnerOutcome};
use super::{Call, CallError, CallEvent};
use crate::business::{NotificationChannel, NotificationTrigger};
use crate::values::bounded_text;

const ID_MAX: usize = 64;
const ADDRESS_MAX: usize = 320;
const REASON_MAX: usize = 1_000;

/// How a notification went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotificationOutcome {
    /// Handed to the provider (Twilio accepted the text, the SMTP server the email).
    Sent {
        /// Where it went: the owner's phone or email address.
        to: String,
        /// The provider's id of it (Twilio's `SM…` sid), when it gave one.
        provider_id: Option<String>,
    },
    /// It will not be sent: refused for good or given up after retries.
    Failed {
        /// Why, in words.
        reason: String,
    },
}

impl Call {
    /// Whether nobody got anything from the caller: the call ended without the owner
    /// answering, without an AI conversation and without a voicemail. A rejected call is not
    /// missed (nobody was meant to take it).
    pub fn was_missed(&self) -> bool {
        self.received.is_some()
            && self.rejected.is_none()
            && self.end.is_some()
            && self.owner_outcome != Some(OwnerOutcome::Answered)
            && self.ai_session == AiSession::NotStarted
            && !self.voicemail_recorded
            && self.messages_taken == 0
    }

    /// Whether notification `id` already has an outcome.
    pub fn notification_settled(&self, id: &str) -> bool {
        self.notifications.iter().any(|settled| settled == id)
    }

    /// `RecordNotification`: the first outcome of a notification is recorded, a repeat
    /// appends nothing.
    pub(super) fn record_notification(
        &self,
        notification_id: &str,
        trigger: NotificationTrigger,
        channel: NotificationChannel,
        outcome: NotificationOutcome,
    ) -> Result<Vec<CallEvent>, CallError> {
        self.require_received()?;
        let notification_id = bounded_text("notification_id", notification_id, ID_MAX)?;
        if self.notification_settled(&notification_id) {
            return Ok(vec![]);
        }
        let event = match outcome {
            NotificationOutcome::Sent { to, provider_id } => CallEvent::OwnerNotified {
                notification_id,
                trigger,
                channel,
                to: bounded_text("to", &to, ADDRESS_MAX)?,
                provider_id: provider_id
                    .map(|id| bounded_text("provider_id", &id, ID_MAX))
                    .transpose()?,
            },
            NotificationOutcome::Failed { reason } => CallEvent::OwnerNotificationFailed {
                notification_id,
                trigger,
                channel,
                reason: bounded_text("reason", &reason, REASON_MAX)?,
            },
        };
        Ok(vec![event])
    }
}

//! The routing policy: who takes a call — the owner, the AI agent or voicemail.
//!
//! A pure function of the business' state and an instant, so it is exhaustively testable and
//! the webhook path can decide without waiting on anything but the aggregates it holds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::business::Business;
use crate::values::{RingTimeout, E164};

/// Where a call goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Route {
    /// Ring the owner's phone, then fall back if nobody takes it.
    Owner {
        /// The phone to ring.
        owner_phone: E164,
        /// How long it rings.
        ring_timeout: RingTimeout,
    },
    /// The AI agent answers.
    AiAgent {
        /// Why not the owner.
        why: RouteReason,
    },
    /// The caller leaves a voicemail.
    Voicemail {
        /// Why not the owner (nor the agent).
        why: RouteReason,
    },
}

/// Why a call did not (or no longer) go to the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteReason {
    /// The owner switched availability off.
    OwnerUnavailable,
    /// The call came outside business hours.
    OutsideBusinessHours,
    /// No owner phone is set.
    NoOwnerPhone,
    /// The owner's phone rang but the owner did not take the call.
    OwnerMissed,
    /// The AI agent failed during the call.
    AgentFailed,
}

/// Decides where a new call to `business` goes at instant `at`.
///
/// The owner is rung when available, inside business hours in the business' timezone, and a
/// phone is set. Otherwise the AI agent answers if one is enabled, else voicemail.
/// Whether the business is active is checked before: an inactive business rejects calls.
pub fn route_new_call(business: &Business, at: DateTime<Utc>) -> Route {
    match owner_unreachable_because(business, at) {
        None => match &business.owner_phone {
            Some(owner_phone) => Route::Owner {
                owner_phone: owner_phone.clone(),
                ring_timeout: business.ring_timeout,
            },
            None => fallback(business, RouteReason::NoOwnerPhone),
        },
        Some(why) => fallback(business, why),
    }
}

/// Where a call goes when the owner was not reached for `why`: the agent if it is enabled,
/// else voicemail.
pub fn fallback(business: &Business, why: RouteReason) -> Route {
    if business.agent_ready() && why != RouteReason::AgentFailed {
        Route::AiAgent { why }
    } else {
        Route::Voicemail { why }
    }
}

fn owner_unreachable_because(business: &Business, at: DateTime<Utc>) -> Option<RouteReason> {
    if !business.owner_available {
        return Some(RouteReason::OwnerUnavailable);
    }
    let local = at.with_timezone(&business.timezone).naive_local();
    if !business.hours.is_open_at(&local) {
        return Some(RouteReason::OutsideBusinessHours);
    }
    if business.owner_phone.is_none() {
        return Some(RouteReason::NoOwnerPhone);
    }
    None
}

#[cfg(test)]
mod tests;

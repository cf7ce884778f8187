//! Counts calls per business and local day into `daily_stats`.
//!
//! A call counts on the local day of its start (`received_at` of `CallReceived`) in the timezone
//! its business had then ([`crate::timezones`]); a later timezone change does not move it. Calls
//! without a business (unknown numbers) are not counted.
//!
//! Each counted call is in at most one of these, decided from all its facts so far:
//! - `rejected`: `CallRejected`;
//! - `answered_by_owner`: the owner answered (`OwnerAnswered`), whatever else happened;
//! - `voicemails`: otherwise, a voicemail was recorded (`VoicemailRecorded`);
//! - `handled_by_ai`: otherwise, the AI agent was given the call (`CallRoutedToAi` or
//!   `AiSessionStarted`);
//! - `missed`: otherwise, once the call ended (`CallEnded`): the owner never answered, no AI
//!   agent was given it, no voicemail was left;
//! - none yet: a call still ringing.
//!
//! The rules match `handled_by` of the `calls` read model. Also: `ended_calls` (calls with
//! `CallEnded`), `timed_calls` and `total_duration_secs` (those whose end carried a duration, and
//! the sum), `total_cost` (the latest `CallCostRecorded` of each call, summed; one currency per
//! business is assumed and the last one seen is kept in `cost_currency`).
//!
//! Facts arrive over several events, in any order Twilio sends them, so `call_facts` keeps what
//! each call contributes now: a batch folds the events into the call's facts, and the counters
//! move by the difference between the new contribution and the stored one. A late answer after
//! the end thus moves the call from `missed` to `answered_by_owner`, and every counter counts
//! each call once. Events at or below a call's `last_sequence` are skipped.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use domain::call::CallEvent;
use infrastructure::event_store::RecordedEvent;
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use super::tables::{add_to_stats, load, save_facts};
use crate::decode;
use crate::runtime::{Projection, ProjectionError};
use crate::timezones::Timezones;

/// The `daily_stats` projection.
pub struct DailyStatsProjection;

/// What one call knows so far (a row of `call_facts`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Facts {
    pub(super) business_id: Uuid,
    pub(super) day: NaiveDate,
    pub(super) rejected: bool,
    pub(super) owner_answered: bool,
    pub(super) voicemail: bool,
    pub(super) ai: bool,
    pub(super) ended: bool,
    pub(super) duration_secs: Option<i64>,
    pub(super) cost_amount: Option<Decimal>,
    pub(super) cost_currency: Option<String>,
    pub(super) last_sequence: i64,
}

/// A call touched by the batch: what it contributed before, and its facts now.
pub(super) struct Tracked {
    pub(super) before: Option<Facts>,
    pub(super) now: Facts,
}

/// Event types that change a call's facts; the others only advance `last_sequence`.
fn matters(event_type: &str) -> bool {
    matches!(
        event_type,
        "CallReceived"
            | "CallRejected"
            | "OwnerAnswered"
            | "CallRoutedToAi"
            | "AiSessionStarted"
            | "VoicemailRecorded"
            | "CallEnded"
            | "CallCostRecorded"
    )
}

#[async_trait]
impl Projection for DailyStatsProjection {
    fn name(&self) -> &'static str {
        "daily_stats"
    }

    fn version(&self) -> i32 {
        1
    }

    async fn apply(
        &self,
        tx: &mut PgConnection,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        // Read the facts that matter first: the businesses of new calls decide which
        // timezones to load.
        let mut decoded: Vec<Option<CallEvent>> = Vec::with_capacity(events.len());
        let mut businesses = Vec::new();
        let mut sids: Vec<&str> = Vec::new();
        for event in events {
            let call_event = if event.aggregate_type == "Call" && matters(&event.event_type) {
                let call_event = decode::call_event(event)?;
                if let CallEvent::CallReceived {
                    business_id: Some(id),
                    ..
                } = &call_event
                {
                    businesses.push(id.0);
                }
                Some(call_event)
            } else {
                None
            };
            if event.aggregate_type == "Call" {
                sids.push(&event.aggregate_id);
            }
            decoded.push(call_event);
        }
        let needed = Timezones::needed(events, businesses);
        if needed.is_empty() && sids.is_empty() {
            return Ok(());
        }
        let mut timezones = Timezones::load(tx, &needed).await?;
        sids.sort_unstable();
        sids.dedup();
        let mut calls = load(tx, &sids).await?;

        for (event, call_event) in events.iter().zip(decoded) {
            if event.aggregate_type == "Business" {
                timezones.observe(event)?;
                continue;
            }
            if event.aggregate_type != "Call" {
                continue;
            }
            match calls.get_mut(&event.aggregate_id) {
                Some(call) if event.sequence <= call.now.last_sequence => {} // applied already
                Some(call) => {
                    if let Some(call_event) = call_event {
                        fold(&mut call.now, call_event);
                    }
                    call.now.last_sequence = event.sequence;
                }
                None => {
                    // Not counted yet: only a `CallReceived` with a business starts counting.
                    let Some(CallEvent::CallReceived {
                        business_id: Some(business),
                        ..
                    }) = call_event
                    else {
                        continue;
                    };
                    let Some(at) = decode::received_at(event) else {
                        return Err(ProjectionError::bad_event(
                            event,
                            "CallReceived without received_at",
                        ));
                    };
                    let day = at.with_timezone(&timezones.of(business.0)).date_naive();
                    let now = Facts {
                        business_id: business.0,
                        day,
                        rejected: false,
                        owner_answered: false,
                        voicemail: false,
                        ai: false,
                        ended: false,
                        duration_secs: None,
                        cost_amount: None,
                        cost_currency: None,
                        last_sequence: event.sequence,
                    };
                    calls.insert(event.aggregate_id.clone(), Tracked { before: None, now });
                }
            }
        }

        timezones.save(tx).await?;
        let changed: Vec<(&str, &Facts)> = calls
            .iter()
            .filter(|(_, call)| call.before.as_ref() != Some(&call.now))
            .map(|(sid, call)| (sid.as_str(), &call.now))
            .collect();
        save_facts(tx, &changed).await?;
        let mut deltas: HashMap<(Uuid, NaiveDate), Counters> = HashMap::new();
        for call in calls.values() {
            let mut delta = Counters::of(&call.now);
            if let Some(before) = &call.before {
                delta.subtract(&Counters::of(before));
            }
            if !delta.is_zero() {
                deltas
                    .entry((call.now.business_id, call.now.day))
                    .or_default()
                    .add(&delta);
            }
        }
        add_to_stats(tx, deltas).await?;
        Ok(())
    }
}

fn fold(facts: &mut Facts, event: CallEvent) {
    use CallEvent as E;
    match event {
        E::CallRejected { .. } => facts.rejected = true,
        E::OwnerAnswered { .. } => facts.owner_answered = true,
        E::CallRoutedToAi { .. } | E::AiSessionStarted { .. } => facts.ai = true,
        E::VoicemailRecorded { .. } => facts.voicemail = true,
        E::CallEnded { duration_secs, .. } => {
            facts.ended = true;
            facts.duration_secs = duration_secs.map(i64::from);
        }
        E::CallCostRecorded { price } => {
            facts.cost_amount = Some(price.amount);
            facts.cost_currency = Some(price.currency);
        }
        _ => {}
    }
}

/// What one call adds to its day's row (or, as a difference, what a batch changes).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Counters {
    pub(super) calls: i64,
    pub(super) answered_by_owner: i64,
    pub(super) handled_by_ai: i64,
    pub(super) voicemails: i64,
    pub(super) missed: i64,
    pub(super) rejected: i64,
    pub(super) ended_calls: i64,
    pub(super) timed_calls: i64,
    pub(super) total_duration_secs: i64,
    pub(super) total_cost: Decimal,
    pub(super) cost_currency: Option<String>,
}

impl Counters {
    fn of(facts: &Facts) -> Self {
        let one = |yes: bool| i64::from(yes);
        let rejected = facts.rejected;
        let owner = !rejected && facts.owner_answered;
        let voicemail = !rejected && !owner && facts.voicemail;
        let ai = !rejected && !owner && !voicemail && facts.ai;
        let missed = !rejected && !owner && !voicemail && !ai && facts.ended;
        let timed = facts.ended && facts.duration_secs.is_some();
        Self {
            calls: 1,
            answered_by_owner: one(owner),
            handled_by_ai: one(ai),
            voicemails: one(voicemail),
            missed: one(missed),
            rejected: one(rejected),
            ended_calls: one(facts.ended),
            timed_calls: one(timed),
            total_duration_secs: if timed {
                facts.duration_secs.unwrap_or(0)
            } else {
                0
            },
            total_cost: facts.cost_amount.unwrap_or_default(),
            cost_currency: facts.cost_currency.clone(),
        }
    }

    fn add(&mut self, other: &Self) {
        self.calls += other.calls;
        self.answered_by_owner += other.answered_by_owner;
        self.handled_by_ai += other.handled_by_ai;
        self.voicemails += other.voicemails;
        self.missed += other.missed;
        self.rejected += other.rejected;
        self.ended_calls += other.ended_calls;
        self.timed_calls += other.timed_calls;
        self.total_duration_secs += other.total_duration_secs;
        self.total_cost += other.total_cost;
        if other.cost_currency.is_some() {
            self.cost_currency.clone_from(&other.cost_currency);
        }
    }

    /// `self - other`; the currency stays `self`'s.
    fn subtract(&mut self, other: &Self) {
        self.calls -= other.calls;
        self.answered_by_owner -= other.answered_by_owner;
        self.handled_by_ai -= other.handled_by_ai;
        self.voicemails -= other.voicemails;
        self.missed -= other.missed;
        self.rejected -= other.rejected;
        self.ended_calls -= other.ended_calls;
        self.timed_calls -= other.timed_calls;
        self.total_duration_secs -= other.total_duration_secs;
        self.total_cost -= other.total_cost;
        if self.cost_currency == other.cost_currency {
            self.cost_currency = None;
        }
    }

    fn is_zero(&self) -> bool {
        self.calls == 0
            && self.answered_by_owner == 0
            && self.handled_by_ai == 0
            && self.voicemails == 0
            && self.missed == 0
            && self.rejected == 0
            && self.ended_calls == 0
            && self.timed_calls == 0
            && self.total_duration_secs == 0
            && self.total_cost.is_zero()
            && self.cost_currency.is_none()
    }
}

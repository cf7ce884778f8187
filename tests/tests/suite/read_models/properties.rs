//! Property: for any workload of calls the domain accepts — random routes, owner outcomes, AI
//! sessions, voicemails, recordings, messages, costs and ends, in any order the domain allows,
//! interleaved with timezone changes and number changes — every read model equals a fold of
//! the stored events computed here, both projected live (batches as they come) and rebuilt.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use domain::business::{BusinessCommand, RegisterBusiness};
use domain::call::{
    Call, CallCommand, FinalStatus, MissReason, OwnerOutcome, RejectReason, Speaker, Urgency,
};
use domain::phone_number::{NumberStatus, PhoneNumberCommand, ProvisionNumber};
use domain::routing::{Route, RouteReason};
use domain::values::{BusinessId, CallerId, Money, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{AppendSignal, StoreError, Stores};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;
use support::TestDatabase;

use super::harness::{
    assert_calls_match_the_fold, call_command, incoming, owner_route, wait_caught_up, Projectors,
};

const ZONES: [Tz; 6] = [
    chrono_tz::UTC,
    chrono_tz::America::New_York,
    chrono_tz::Asia::Kolkata,
    chrono_tz::Australia::Adelaide,
    chrono_tz::Pacific::Chatham,
    chrono_tz::America::St_Johns,
];

#[derive(Debug, Clone)]
enum Start {
    Owner,
    Ai,
    Voicemail,
    Reject(RejectReason),
}

/// One more thing happening to a call: `choice` picks among the commands the domain accepts
/// at that moment (so deep flows — a transfer after a missed owner, a late answer after the end —
/// are as likely as shallow ones); the rest are the values those commands carry.
#[derive(Debug, Clone)]
struct Step {
    choice: u16,
    miss: MissReason,
    agent: bool,
    offset_ms: u64,
    urgency: Urgency,
    named: bool,
    voicemail_secs: u32,
    recording: u8,
    recording_secs: u32,
    status: FinalStatus,
    duration: Option<u32>,
    cost: i64,
}

#[derive(Debug, Clone)]
struct CallPlan {
    business: usize,
    caller: u8,
    start: Start,
    /// Seconds after `BASE`.
    at: i64,
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Extra {
    Timezone { business: usize, zone: usize },
    Suspend(usize),
    Reactivate(usize),
    Release(usize),
    Provision(usize),
    Reassign { number: usize, to: usize },
}

#[derive(Debug, Clone, Copy)]
enum Token {
    Call(usize),
    Extra(usize),
}

#[derive(Debug, Clone)]
struct Workload {
    zones: Vec<usize>,
    calls: Vec<CallPlan>,
    extras: Vec<Extra>,
    order: Vec<Token>,
}

/// 2026-03-07T00:00Z: the window spans the US switch to summer time (2026-03-08).
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 7, 0, 0, 0).unwrap()
}

fn miss_reason() -> impl Strategy<Value = MissReason> {
    prop_oneof![
        Just(MissReason::NoAnswer),
        Just(MissReason::Busy),
        Just(MissReason::Failed),
        Just(MissReason::Canceled),
        Just(MissReason::NotAccepted),
    ]
}

fn final_status() -> impl Strategy<Value = FinalStatus> {
    prop_oneof![
        4 => Just(FinalStatus::Completed),
        1 => Just(FinalStatus::Busy),
        1 => Just(FinalStatus::Failed),
        1 => Just(FinalStatus::NoAnswer),
        1 => Just(FinalStatus::Canceled),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        (any::<u16>(), miss_reason(), any::<bool>(), 0u64..120_000),
        (
            prop_oneof![
                Just(Urgency::Low),
                Just(Urgency::Normal),
                Just(Urgency::High)
            ],
            any::<bool>(),
            1u32..180,
        ),
        (
            0u8..3,
            1u32..900,
            final_status(),
            proptest::option::weighted(0.8, 0u32..900),
            -2_000i64..0,
        ),
    )
        .prop_map(
            |(
                (choice, miss, agent, offset_ms),
                (urgency, named, voicemail_secs),
                (recording, recording_secs, status, duration, cost),
            )| Step {
                choice,
                miss,
                agent,
                offset_ms,
                urgency,
                named,
                voicemail_secs,
                recording,
                recording_secs,
                status,
                duration,
                cost,
            },
        )
}

fn call_plan() -> impl Strategy<Value = CallPlan> {
    let start = prop_oneof![
        4 => Just(Start::Owner),
        3 => Just(Start::Ai),
        2 => Just(Start::Voicemail),
        1 => prop_oneof![
            Just(RejectReason::UnknownNumber),
            Just(RejectReason::NumberSuspended),
            Just(RejectReason::BusinessInactive),
        ]
        .prop_map(Start::Reject),
    ];
    (
        0usize..3,
        0u8..3,
        start,
        0i64..3 * 86_400,
        proptest::collection::vec(step(), 0..9),
    )
        .prop_map(|(business, caller, start, at, steps)| CallPlan {
            business,
            caller,
            start,
            at,
            steps,
        })
}

fn extra() -> impl Strategy<Value = Extra> {
    prop_oneof![
        3 => (0usize..3, 0usize..ZONES.len()).prop_map(|(business, zone)| Extra::Timezone { business, zone }),
        1 => (0usize..3).prop_map(Extra::Suspend),
        1 => (0usize..3).prop_map(Extra::Reactivate),
        1 => (0usize..3).prop_map(Extra::Release),
        1 => (0usize..3).prop_map(Extra::Provision),
        1 => (0usize..3, 0usize..3).prop_map(|(number, to)| Extra::Reassign { number, to }),
    ]
}

fn workload() -> impl Strategy<Value = Workload> {
    (
        proptest::collection::vec(0usize..ZONES.len(), 1..=3),
        proptest::collection::vec(call_plan(), 0..=30),
        proptest::collection::vec(extra(), 0..6),
    )
        .prop_flat_map(|(zones, calls, extras)| {
            let mut tokens = Vec::new();
            for (index, call) in calls.iter().enumerate() {
                tokens.extend(std::iter::repeat_n(
                    Token::Call(index),
                    1 + call.steps.len(),
                ));
            }
            tokens.extend((0..extras.len()).map(Token::Extra));
            (
                Just(zones),
                Just(calls),
                Just(extras),
                Just(tokens).prop_shuffle(),
            )
        })
        .prop_map(|(zones, calls, extras, order)| Workload {
            zones,
            calls,
            extras,
            order,
        })
}

fn cli() -> CommandMetadata {
    CommandMetadata::new("workload", "test:workload", Actor::Cli, base())
}

fn number_of(business: usize) -> String {
    format!("+1555000000{business}")
}

async fn tolerate<T, E: std::error::Error>(result: Result<T, StoreError<E>>) {
    match result {
        Ok(_) | Err(StoreError::Rejected(_)) => {}
        Err(err) => panic!("the store failed: {err}"),
    }
}

/// Every command `step` could be: the workload picks one the domain accepts.
fn candidates(step: &Step, k: usize) -> Vec<CallCommand> {
    let Route::Owner {
        owner_phone,
        ring_timeout,
    } = owner_route()
    else {
        unreachable!()
    };
    vec![
        CallCommand::RecordOwnerAnswered {
            dial_call_sid: Some(format!("CA{k:032x}")),
        },
        CallCommand::RecordOwnerMissed { reason: step.miss },
        CallCommand::RouteToAi {
            why: RouteReason::OwnerMissed,
        },
        CallCommand::RouteToVoicemail {
            why: RouteReason::AgentFailed,
        },
        CallCommand::TransferToOwner {
            owner_phone,
            ring_timeout,
        },
        CallCommand::StartAiSession {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
        },
        CallCommand::RecordTranscriptSegment {
            speaker: if step.agent {
                Speaker::Agent
            } else {
                Speaker::Caller
            },
            text: format!("segment {k}"),
            offset_ms: step.offset_ms,
        },
        CallCommand::TakeMessage {
            caller_name: step.named.then(|| "Ada".to_owned()),
            callback_number: Some("+1 415 555 0111".into()),
            message: format!("please call back ({k})"),
            urgency: step.urgency,
        },
        CallCommand::EndAiSession {
            reason: "caller hung up".into(),
        },
        CallCommand::RecordVoicemail {
            recording_url: format!("https://api.twilio.com/voicemail/{k}"),
            duration_secs: step.voicemail_secs,
        },
        CallCommand::RecordVoicemailTranscription {
            transcription_sid: format!("TR{k:032x}"),
            recording_sid: format!("RE{:032}", step.recording),
            // Blank text is recorded as a failed transcription.
            text: if step.named {
                format!("voicemail {k}")
            } else {
                " ".into()
            },
        },
        CallCommand::AttachRecording {
            recording_sid: format!("RE{:032}", step.recording),
            recording_url: format!("https://api.twilio.com/recording/{}", step.recording),
            duration_secs: step.recording_secs,
        },
        CallCommand::End {
            status: step.status,
            duration_secs: step.duration,
        },
        CallCommand::RecordCost {
            price: Money::new(Decimal::new(step.cost, 4), "USD").unwrap(),
        },
        CallCommand::RecordSummary {
            summary: format!("summary {k}"),
        },
    ]
}

/// The command of `step` for a call in state `call`: one the domain accepts and that appends
/// something, if there is any.
fn pick(step: &Step, k: usize, call: &Call) -> Option<CallCommand> {
    let accepted: Vec<CallCommand> = candidates(step, k)
        .into_iter()
        .filter(|command| {
            call.decide(command.clone())
                .is_ok_and(|events| !events.is_empty())
        })
        .collect();
    let index = usize::from(step.choice) % accepted.len().max(1);
    accepted.into_iter().nth(index)
}

/// What the test knows of each call besides the store: its business' timezone when it came in.
struct Placed {
    sid: String,
    business: Option<BusinessId>,
    at: DateTime<Utc>,
    zone: Tz,
}

async fn execute(stores: &Stores, workload: &Workload) -> (Vec<BusinessId>, Vec<Placed>) {
    let mut zones: Vec<Tz> = workload.zones.iter().map(|z| ZONES[*z]).collect();
    let businesses: Vec<BusinessId> = (0..zones.len())
        .map(|_| BusinessId(uuid::Uuid::new_v4()))
        .collect();
    for (index, id) in businesses.iter().enumerate() {
        let register = RegisterBusiness {
            id: *id,
            name: format!("Business {index}"),
            description: String::new(),
            owner_user_id: None,
            owner_phone: Some(E164::parse("+14155550123").unwrap()),
            timezone: zones[index],
        };
        tolerate(
            stores
                .businesses
                .execute(&id.to_string(), BusinessCommand::Register(register), &cli())
                .await,
        )
        .await;
        provision(stores, index).await;
        tolerate(
            stores
                .numbers
                .execute(
                    &number_of(index),
                    PhoneNumberCommand::AssignToBusiness(*id),
                    &cli(),
                )
                .await,
        )
        .await;
    }
    let n = businesses.len();
    let mut placed: Vec<Option<Placed>> = workload.calls.iter().map(|_| None).collect();
    let mut next_step = vec![0usize; workload.calls.len()];
    for (k, token) in workload.order.iter().enumerate() {
        match *token {
            Token::Extra(index) => match &workload.extras[index] {
                Extra::Timezone { business, zone } => {
                    let b = business % n;
                    let command = BusinessCommand::SetTimezone(ZONES[*zone]);
                    tolerate(
                        stores
                            .businesses
                            .execute(&businesses[b].to_string(), command, &cli())
                            .await,
                    )
                    .await;
                    zones[b] = ZONES[*zone];
                }
                Extra::Suspend(b) => {
                    let command = PhoneNumberCommand::Suspend {
                        reason: "unpaid".into(),
                    };
                    tolerate(
                        stores
                            .numbers
                            .execute(&number_of(b % n), command, &cli())
                            .await,
                    )
                    .await;
                }
                Extra::Reactivate(b) => {
                    let command = PhoneNumberCommand::Reactivate;
                    tolerate(
                        stores
                            .numbers
                            .execute(&number_of(b % n), command, &cli())
                            .await,
                    )
                    .await;
                }
                Extra::Release(b) => {
                    let command = PhoneNumberCommand::Release;
                    tolerate(
                        stores
                            .numbers
                            .execute(&number_of(b % n), command, &cli())
                            .await,
                    )
                    .await;
                }
                Extra::Provision(b) => provision(stores, b % n).await,
                Extra::Reassign { number, to } => {
                    let command = PhoneNumberCommand::AssignToBusiness(businesses[to % n]);
                    tolerate(
                        stores
                            .numbers
                            .execute(&number_of(number % n), command, &cli())
                            .await,
                    )
                    .await;
                }
            },
            Token::Call(index) => {
                let plan = &workload.calls[index];
                let b = plan.business % n;
                let at = base() + chrono::Duration::seconds(plan.at);
                match &placed[index] {
                    None => {
                        let sid = format!("CA{:032x}", index + 1);
                        let from = match plan.caller {
                            0 => CallerId::Number(E164::parse("+14155550111").unwrap()),
                            1 => CallerId::Withheld,
                            _ => CallerId::Other("sip:alice@example.com".into()),
                        };
                        let business = match plan.start {
                            Start::Reject(RejectReason::UnknownNumber) => None,
                            _ => Some(businesses[b]),
                        };
                        let call = incoming(&sid, &number_of(b), business, from);
                        let command = match &plan.start {
                            Start::Owner => CallCommand::Receive {
                                call,
                                route: owner_route(),
                            },
                            Start::Ai => CallCommand::Receive {
                                call,
                                route: Route::AiAgent {
                                    why: RouteReason::OwnerUnavailable,
                                },
                            },
                            Start::Voicemail => CallCommand::Receive {
                                call,
                                route: Route::Voicemail {
                                    why: RouteReason::NoOwnerPhone,
                                },
                            },
                            Start::Reject(reason) => CallCommand::Reject {
                                call,
                                reason: *reason,
                            },
                        };
                        assert!(
                            call_command(stores, &sid, command, at).await,
                            "a new call is received"
                        );
                        placed[index] = Some(Placed {
                            sid,
                            business,
                            at,
                            zone: zones[b],
                        });
                    }
                    Some(call) => {
                        let step = &plan.steps[next_step[index]];
                        next_step[index] += 1;
                        let when = at + chrono::Duration::seconds(7 * next_step[index] as i64);
                        let state = stores.calls.load(&call.sid).await.unwrap().aggregate;
                        if let Some(command) = pick(step, k, &state) {
                            assert!(call_command(stores, &call.sid, command, when).await);
                        }
                    }
                }
            }
        }
    }
    (businesses, placed.into_iter().flatten().collect())
}

async fn provision(stores: &Stores, business: usize) {
    let number = number_of(business);
    let command = PhoneNumberCommand::Provision(ProvisionNumber {
        number: E164::parse(&number).unwrap(),
        twilio_sid: format!("PN{business:032}"),
        country: "US".into(),
        area_code: Some("555".into()),
        monthly_cost: Money::new("1.15".parse().unwrap(), "USD").unwrap(),
    });
    tolerate(stores.numbers.execute(&number, command, &cli()).await).await;
}

/// One day's counters, as this test folds them.
#[derive(Debug, Default, Clone, PartialEq)]
struct Day {
    calls: i64,
    owner: i64,
    ai: i64,
    voicemail: i64,
    missed: i64,
    rejected: i64,
    ended: i64,
    timed: i64,
    duration: i64,
    cost: Decimal,
}

async fn assert_everything_matches(
    stores: &Stores,
    pool: &sqlx::PgPool,
    businesses: &[BusinessId],
    placed: &[Placed],
) {
    let folded = assert_calls_match_the_fold(stores, pool).await;

    // daily_stats and calls_per_hour, from the aggregates and the timezone each call came in.
    let mut days: BTreeMap<(uuid::Uuid, NaiveDate), Day> = BTreeMap::new();
    let mut hours: BTreeMap<(uuid::Uuid, i16), i64> = BTreeMap::new();
    for call in placed {
        let Some(business) = call.business else {
            continue;
        };
        let aggregate = &folded
            .iter()
            .find(|f| f.row.call_sid == call.sid)
            .unwrap()
            .call;
        let local = call.at.with_timezone(&call.zone);
        *hours.entry((business.0, local.hour() as i16)).or_default() += 1;
        let day = days.entry((business.0, local.date_naive())).or_default();
        day.calls += 1;
        let answered = aggregate.owner_outcome == Some(OwnerOutcome::Answered);
        if aggregate.rejected.is_some() {
            day.rejected += 1;
        } else if answered {
            day.owner += 1;
        } else if aggregate.voicemail_recorded {
            day.voicemail += 1;
        } else if aggregate.handled_by_ai {
            day.ai += 1;
        } else if aggregate.end.is_some() {
            day.missed += 1;
        }
        if let Some(end) = &aggregate.end {
            day.ended += 1;
            if let Some(secs) = end.duration_secs {
                day.timed += 1;
                day.duration += i64::from(secs);
            }
        }
        day.cost += aggregate
            .price
            .as_ref()
            .map(|p| p.amount)
            .unwrap_or_default();
    }
    let from = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    let rows = projections::daily_stats::daily_stats(pool, None, from, to)
        .await
        .unwrap();
    let projected: BTreeMap<(uuid::Uuid, NaiveDate), Day> = rows
        .iter()
        .map(|r| {
            if r.timed_calls > 0 {
                let average = r.average_duration_secs.unwrap();
                assert!(
                    (average - r.total_duration_secs as f64 / r.timed_calls as f64).abs() < 1e-9
                );
            } else {
                assert_eq!(r.average_duration_secs, None);
            }
            let day = Day {
                calls: r.calls,
                owner: r.answered_by_owner,
                ai: r.handled_by_ai,
                voicemail: r.voicemails,
                missed: r.missed,
                rejected: r.rejected,
                ended: r.ended_calls,
                timed: r.timed_calls,
                duration: r.total_duration_secs,
                cost: r.total_cost,
            };
            ((r.business_id, r.day), day)
        })
        .collect();
    assert_eq!(projected, days, "daily_stats");

    let mut projected_hours = BTreeMap::new();
    for business in businesses {
        let per_hour = projections::calls_per_hour::calls_per_hour(pool, business.0)
            .await
            .unwrap();
        assert_eq!(per_hour.len(), 24);
        for hour in per_hour.into_iter().filter(|h| h.calls > 0) {
            projected_hours.insert((business.0, hour.hour), hour.calls);
        }
    }
    assert_eq!(projected_hours, hours, "calls_per_hour");

    // phone_numbers, against the aggregates.
    let numbers = projections::phone_numbers::list_numbers(pool, None)
        .await
        .unwrap();
    assert_eq!(numbers.len(), businesses.len());
    for row in numbers {
        let aggregate = stores.numbers.load(&row.number).await.unwrap().aggregate;
        let status = match aggregate.status {
            NumberStatus::Active => "active",
            NumberStatus::Suspended => "suspended",
            NumberStatus::Released => "released",
            NumberStatus::Unknown => "unknown",
        };
        assert_eq!(row.status, status, "status of {}", row.number);
        assert_eq!(
            row.business_id,
            aggregate.business_id.map(|b| b.0),
            "business of {}",
            row.number
        );
        assert_eq!(row.twilio_sid, aggregate.twilio_sid);
        assert_eq!(
            Some(row.monthly_cost_amount),
            aggregate.monthly_cost.map(|m| m.amount)
        );
    }
}

async fn check(workload: Workload) {
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let stores = Stores::new(&db.pool, signal.clone());
    // Projected live, in whatever batches the runners happen to take.
    let projectors = Projectors::start(&db.pool, &signal, &[]);
    let (businesses, placed) = execute(&stores, &workload).await;
    wait_caught_up(&db.pool, &[]).await;
    assert_everything_matches(&stores, &db.pool, &businesses, &placed).await;

    // Rebuilt from the first event, in large batches: the same.
    for projection in projections::registry::all() {
        projections::runtime::rebuild(&db.pool, projection.as_ref(), &|_, _| {})
            .await
            .unwrap();
    }
    wait_caught_up(&db.pool, &[]).await;
    assert_everything_matches(&stores, &db.pool, &businesses, &placed).await;
    drop(projectors);
    db.pool.close().await;
}

#[test]
fn it_should_project_any_workload_into_read_models_that_equal_the_fold_of_its_events() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 16,
        max_shrink_iters: 32,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&workload(), |workload| {
            runtime.block_on(check(workload));
            Ok(())
        })
        .unwrap();
}

//! The read models' queries on a known set of calls: filters, keyset paging, owner scoping,
//! detail and timeline, daily stats on the business' local day, calls per hour, numbers, the
//! admin overview — and a call made through Twilio's webhooks, as the running server projects it.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::business::BusinessCommand;
use domain::call::{CallCommand, FinalStatus, MissReason, RejectReason, Speaker, Urgency};
use domain::routing::{Route, RouteReason};
use domain::values::{BusinessId, CallerId, Money, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{AppendSignal, Stores};
use projections::calls::{
    call_detail, call_timeline, list_calls, CallFilter, CallRoute, CallStatus, HandledBy,
};
use rust_decimal::Decimal;
use support::{new_call_sid, seed, SeedBusiness, Seeded, TestApp, TestDatabase};

use super::harness::{
    answered_call, call_command, incoming, owner_route, wait_caught_up, Projectors,
};

fn utc(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, minute, 0).unwrap()
}

async fn receive(stores: &Stores, seeded: &Seeded, route: Route, at: DateTime<Utc>) -> String {
    let sid = new_call_sid();
    let from = CallerId::Number(E164::parse("+14155550111").unwrap());
    let call = incoming(&sid, &seeded.number, Some(seeded.business_id), from);
    assert!(call_command(stores, &sid, CallCommand::Receive { call, route }, at).await);
    sid
}

async fn run(stores: &Stores, sid: &str, at: DateTime<Utc>, commands: Vec<CallCommand>) {
    for command in commands {
        let what = format!("{command:?}");
        assert!(
            call_command(stores, sid, command, at).await,
            "{what} appended nothing"
        );
    }
}

/// Business A (America/New_York) with four calls on 2026-03-10 UTC, business B (UTC) with seven
/// calls two of which start at the same instant, and one call of B today.
struct Scenario {
    db: TestDatabase,
    _projectors: Projectors,
    a: Seeded,
    b: Seeded,
    /// A's calls, oldest first: answered; AI with a message; voicemail; rejected.
    a_calls: [String; 4],
    /// B's calls on 2026-03-10, and today's.
    b_calls: Vec<String>,
}

async fn scenario() -> Scenario {
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let stores = Stores::new(&db.pool, signal.clone());
    let projectors = Projectors::start(&db.pool, &signal, &[]);
    let a = seed(&stores, SeedBusiness::default()).await;
    let b = seed(
        &stores,
        SeedBusiness {
            name: "B",
            ..SeedBusiness::default()
        },
    )
    .await;
    let meta = CommandMetadata::new("test", "test:scenario", Actor::Cli, utc(1, 0, 0));
    stores
        .businesses
        .execute(
            &a.business_id.to_string(),
            BusinessCommand::SetTimezone(chrono_tz::America::New_York),
            &meta,
        )
        .await
        .unwrap();

    // 02:00 UTC is 22:00 the day before in New York (summer time since 2026-03-08).
    let a1 = answered_call(&stores, &a.number, a.business_id, utc(10, 2, 0), 60).await;
    let a2 = receive(
        &stores,
        &a,
        Route::AiAgent {
            why: RouteReason::OwnerUnavailable,
        },
        utc(10, 15, 0),
    )
    .await;
    run(
        &stores,
        &a2,
        utc(10, 15, 1),
        vec![
            CallCommand::StartAiSession {
                model: "gpt-realtime".into(),
                voice: "marin".into(),
            },
            CallCommand::RecordTranscriptSegment {
                speaker: Speaker::Agent,
                text: "Hello, Joe's Plumbing.".into(),
                offset_ms: 0,
            },
            CallCommand::RecordTranscriptSegment {
                speaker: Speaker::Caller,
                text: "My sink leaks.".into(),
                offset_ms: 1500,
            },
            CallCommand::TakeMessage {
                caller_name: Some("Ada".into()),
                callback_number: Some("+1 415 555 0111".into()),
                message: "Sink leaks, call back".into(),
                urgency: Urgency::High,
            },
            CallCommand::EndAiSession {
                reason: "caller hung up".into(),
            },
            CallCommand::End {
                status: FinalStatus::Completed,
                duration_secs: Some(30),
            },
            CallCommand::AttachRecording {
                recording_sid: "RE0123456789abcdef0123456789abcdef".into(),
                recording_url: "https://api.twilio.com/recording/1".into(),
                duration_secs: 29,
            },
            CallCommand::RecordCost {
                price: Money::new("-0.0125".parse().unwrap(), "USD").unwrap(),
            },
            CallCommand::RecordSummary {
                summary: "A leaking sink; call Ada back.".into(),
            },
        ],
    )
    .await;
    let a3 = receive(&stores, &a, owner_route(), utc(10, 16, 0)).await;
    run(
        &stores,
        &a3,
        utc(10, 16, 1),
        vec![
            CallCommand::RecordOwnerMissed {
                reason: MissReason::Busy,
            },
            CallCommand::RouteToVoicemail {
                why: RouteReason::OwnerMissed,
            },
            CallCommand::RecordVoicemail {
                recording_url: "https://api.twilio.com/vm/1".into(),
                duration_secs: 15,
            },
            CallCommand::End {
                status: FinalStatus::Completed,
                duration_secs: Some(20),
            },
        ],
    )
    .await;
    let a4 = new_call_sid();
    let from = CallerId::Withheld;
    let call = incoming(&a4, &a.number, Some(a.business_id), from);
    let reject = CallCommand::Reject {
        call,
        reason: RejectReason::BusinessInactive,
    };
    run(&stores, &a4, utc(10, 17, 0), vec![reject]).await;
    let end = CallCommand::End {
        status: FinalStatus::Completed,
        duration_secs: Some(2),
    };
    run(&stores, &a4, utc(10, 17, 0), vec![end]).await;

    let mut b_calls = Vec::new();
    for minute in [0, 0, 1, 2, 3, 4, 5] {
        b_calls
            .push(answered_call(&stores, &b.number, b.business_id, utc(10, 2, minute), 10).await);
    }
    b_calls.push(answered_call(&stores, &b.number, b.business_id, Utc::now(), 10).await);
    wait_caught_up(&db.pool, &[]).await;
    Scenario {
        db,
        _projectors: projectors,
        a,
        b,
        a_calls: [a1, a2, a3, a4],
        b_calls,
    }
}

fn sids(page: &projections::calls::CallPage) -> Vec<String> {
    page.calls.iter().map(|c| c.call_sid.clone()).collect()
}

fn only(business: BusinessId) -> Option<Vec<uuid::Uuid>> {
    Some(vec![business.0])
}

#[tokio::test]
async fn it_should_list_calls_newest_first_filtered_by_business_route_status_handler_and_time() {
    let s = scenario().await;
    let pool = &s.db.pool;
    let [a1, a2, a3, a4] = s.a_calls.clone();
    let of_a = |filter: CallFilter| CallFilter {
        business_ids: only(s.a.business_id),
        ..filter
    };

    let all_of_a = list_calls(pool, &of_a(CallFilter::default()))
        .await
        .unwrap();
    let by_route = |route| {
        of_a(CallFilter {
            route: Some(route),
            ..CallFilter::default()
        })
    };
    let ai = list_calls(pool, &by_route(CallRoute::Ai)).await.unwrap();
    let voicemail = list_calls(pool, &by_route(CallRoute::Voicemail))
        .await
        .unwrap();
    let owner = list_calls(pool, &by_route(CallRoute::Owner)).await.unwrap();
    let rejected = list_calls(
        pool,
        &of_a(CallFilter {
            status: Some(CallStatus::Rejected),
            ..CallFilter::default()
        }),
    )
    .await
    .unwrap();
    let by_voicemail = list_calls(
        pool,
        &of_a(CallFilter {
            handled_by: Some(HandledBy::Voicemail),
            ..CallFilter::default()
        }),
    )
    .await
    .unwrap();
    let window = of_a(CallFilter {
        from: Some(utc(10, 15, 0)),
        to: Some(utc(10, 16, 30)),
        ..CallFilter::default()
    });
    let in_window = list_calls(pool, &window).await.unwrap();

    assert_eq!(
        sids(&all_of_a),
        vec![a4.clone(), a3.clone(), a2.clone(), a1.clone()]
    );
    assert_eq!(all_of_a.next, None);
    assert_eq!(sids(&ai), vec![a2.clone()]);
    assert_eq!(
        sids(&voicemail),
        vec![a3.clone()],
        "the latest route counts"
    );
    assert_eq!(sids(&owner), vec![a1.clone()]);
    assert_eq!(sids(&rejected), vec![a4.clone()]);
    assert_eq!(
        rejected.calls[0].reject_reason.as_deref(),
        Some("business_inactive")
    );
    assert_eq!(rejected.calls[0].caller.as_deref(), Some("withheld"));
    assert_eq!(sids(&by_voicemail), vec![a3.clone()]);
    assert_eq!(by_voicemail.calls[0].owner_outcome.as_deref(), Some("busy"));
    assert_eq!(
        sids(&in_window),
        vec![a3, a2],
        "from is included, to is not"
    );
}

#[tokio::test]
async fn it_should_page_through_calls_by_keyset_without_skipping_or_repeating_ties() {
    let s = scenario().await;
    let pool = &s.db.pool;
    let everything = CallFilter {
        business_ids: only(s.b.business_id),
        limit: 200,
        ..CallFilter::default()
    };
    let all = list_calls(pool, &everything).await.unwrap();

    let mut paged = Vec::new();
    let mut pages = 0;
    let mut filter = CallFilter {
        limit: 3,
        ..everything.clone()
    };
    loop {
        let page = list_calls(pool, &filter).await.unwrap();
        pages += 1;
        assert!(page.calls.len() <= 3);
        paged.extend(sids(&page));
        match page.next {
            Some(cursor) => filter.before = Some(cursor),
            None => break,
        }
    }

    assert_eq!(all.calls.len(), s.b_calls.len());
    assert_eq!(paged, sids(&all), "pages concatenate to the whole list");
    assert_eq!(pages, 3);
    let order: Vec<(DateTime<Utc>, String)> = all
        .calls
        .iter()
        .map(|c| (c.started_at, c.call_sid.clone()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(order, sorted, "newest first, ties by CallSid descending");
    assert_eq!(
        all.calls[0].call_sid,
        *s.b_calls.last().unwrap(),
        "today's call is the newest"
    );
    let capped = list_calls(
        pool,
        &CallFilter {
            limit: 10_000,
            ..CallFilter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        capped.calls.len(),
        12,
        "a large limit is capped at 200, and all 12 fit"
    );

    // Two businesses at once (an owner of both): pages merge their calls in the same order.
    let both = vec![s.a.business_id.0, s.b.business_id.0, s.a.business_id.0];
    let mut filter = CallFilter {
        business_ids: Some(both),
        limit: 5,
        ..CallFilter::default()
    };
    let mut merged = Vec::new();
    loop {
        let page = list_calls(pool, &filter).await.unwrap();
        merged.extend(sids(&page));
        match page.next {
            Some(cursor) => filter.before = Some(cursor),
            None => break,
        }
    }
    assert_eq!(
        merged,
        sids(&capped),
        "both businesses hold every call, once each"
    );
}

#[tokio::test]
async fn it_should_show_an_owner_only_the_calls_of_their_businesses() {
    let s = scenario().await;
    let pool = &s.db.pool;
    let a2 = &s.a_calls[1];
    let b_only = [s.b.business_id.0];

    let as_b = list_calls(
        pool,
        &CallFilter {
            business_ids: Some(b_only.to_vec()),
            ..CallFilter::default()
        },
    )
    .await
    .unwrap();
    let as_nobody = list_calls(
        pool,
        &CallFilter {
            business_ids: Some(vec![]),
            ..CallFilter::default()
        },
    )
    .await
    .unwrap();

    assert!(as_b
        .calls
        .iter()
        .all(|c| c.business_id == Some(s.b.business_id.0)));
    assert_eq!(as_b.calls.len(), s.b_calls.len());
    assert!(as_nobody.calls.is_empty());
    assert_eq!(call_detail(pool, a2, Some(&b_only)).await.unwrap(), None);
    assert!(call_timeline(pool, a2, Some(&b_only))
        .await
        .unwrap()
        .is_empty());
    assert!(call_detail(pool, a2, Some(&[s.a.business_id.0]))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn it_should_show_a_call_s_detail_and_timeline() {
    let s = scenario().await;
    let pool = &s.db.pool;
    let a2 = &s.a_calls[1];

    let detail = call_detail(pool, a2, None).await.unwrap().unwrap();
    let timeline = call_timeline(pool, a2, None).await.unwrap();

    let call = &detail.call;
    assert_eq!(call.status, CallStatus::Completed);
    assert_eq!(call.route, Some(CallRoute::Ai));
    assert_eq!(call.handled_by, Some(HandledBy::Ai));
    assert_eq!(call.caller.as_deref(), Some("+14155550111"));
    assert_eq!(call.phone_number, s.a.number);
    assert_eq!(call.started_at, utc(10, 15, 0));
    assert_eq!(call.ended_at, Some(utc(10, 15, 1)));
    assert_eq!(call.duration_secs, Some(30));
    assert_eq!(
        call.summary.as_deref(),
        Some("A leaking sink; call Ada back.")
    );
    assert_eq!(
        call.recording_sid.as_deref(),
        Some("RE0123456789abcdef0123456789abcdef")
    );
    assert_eq!(call.recording_duration_secs, Some(29));
    assert_eq!(
        call.cost_amount,
        Some("-0.0125".parse::<Decimal>().unwrap())
    );
    assert_eq!(call.cost_currency.as_deref(), Some("USD"));
    assert_eq!(call.messages_taken, 1);
    let message = detail.message.clone().unwrap();
    assert_eq!(message.caller_name.as_deref(), Some("Ada"));
    assert_eq!(message.urgency, "high");
    let said: Vec<(&str, &str)> = detail
        .transcript
        .iter()
        .map(|l| (l.speaker.as_str(), l.text.as_str()))
        .collect();
    assert_eq!(
        said,
        vec![
            ("agent", "Hello, Joe's Plumbing."),
            ("caller", "My sink leaks.")
        ]
    );

    let types: Vec<&str> = timeline.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "CallReceived",
            "CallRoutedToAi",
            "AiSessionStarted",
            "TranscriptSegmentRecorded",
            "TranscriptSegmentRecorded",
            "MessageTaken",
            "AiSessionEnded",
            "CallEnded",
            "RecordingAvailable",
            "CallCostRecorded",
            "CallSummarized",
        ]
    );
    assert_eq!(
        timeline.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        (1..=11).collect::<Vec<_>>()
    );
    assert!(timeline
        .iter()
        .all(|e| e.actor.as_deref() == Some("twilio")));
    assert_eq!(timeline[0].occurred_at, Some(utc(10, 15, 0)));
    assert_eq!(
        timeline[7].data,
        serde_json::json!({"status": "completed", "duration_secs": 30})
    );
    let json = serde_json::to_value(&detail).unwrap();
    assert_eq!(
        json["status"], "completed",
        "the row is flattened into the detail's JSON"
    );
    assert_eq!(json["cost_amount"], "-0.0125");
}

#[tokio::test]
async fn it_should_count_a_call_on_the_business_local_day_and_hour() {
    let s = scenario().await;
    let pool = &s.db.pool;
    let (march_9, march_10) = (
        NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
        NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
    );

    let a =
        projections::daily_stats::daily_stats(pool, Some(&[s.a.business_id.0]), march_9, march_10)
            .await
            .unwrap();
    let b =
        projections::daily_stats::daily_stats(pool, Some(&[s.b.business_id.0]), march_9, march_10)
            .await
            .unwrap();
    let a_hours = projections::calls_per_hour::calls_per_hour(pool, s.a.business_id.0)
        .await
        .unwrap();

    assert_eq!(
        a.iter().map(|r| r.day).collect::<Vec<_>>(),
        vec![march_9, march_10]
    );
    let (evening, day) = (&a[0], &a[1]);
    assert_eq!(
        (
            evening.calls,
            evening.answered_by_owner,
            evening.total_duration_secs
        ),
        (1, 1, 60),
        "02:00 UTC is the evening before in New York"
    );
    assert_eq!(evening.average_duration_secs, Some(60.0));
    assert_eq!(evening.owner_answer_rate, Some(1.0));
    assert_eq!(
        (
            day.calls,
            day.answered_by_owner,
            day.handled_by_ai,
            day.voicemails,
            day.missed,
            day.rejected
        ),
        (3, 0, 1, 1, 0, 1)
    );
    assert_eq!(
        (day.ended_calls, day.timed_calls, day.total_duration_secs),
        (3, 3, 52)
    );
    assert_eq!(day.total_cost, "-0.0125".parse::<Decimal>().unwrap());
    assert_eq!(day.cost_currency.as_deref(), Some("USD"));
    assert_eq!(
        b.len(),
        1,
        "B is in UTC: all its calls of 2026-03-10 count on that day"
    );
    assert_eq!(
        (b[0].day, b[0].calls, b[0].answered_by_owner),
        (march_10, 7, 7)
    );
    let busy: Vec<(i16, i64)> = a_hours
        .iter()
        .filter(|h| h.calls > 0)
        .map(|h| (h.hour, h.calls))
        .collect();
    assert_eq!(
        busy,
        vec![(11, 1), (12, 1), (13, 1), (22, 1)],
        "local hours in New York"
    );
    assert_eq!(a_hours.len(), 24);
}

#[tokio::test]
async fn it_should_list_numbers_and_give_the_admin_overview() {
    let s = scenario().await;
    let pool = &s.db.pool;

    let of_a = projections::phone_numbers::list_numbers(pool, Some(&[s.a.business_id.0]))
        .await
        .unwrap();
    let all = projections::phone_numbers::list_numbers(pool, None)
        .await
        .unwrap();
    let one = projections::phone_numbers::number(pool, &s.b.number)
        .await
        .unwrap()
        .unwrap();
    let overview = projections::overview::overview(pool).await.unwrap();

    assert_eq!(
        of_a.iter().map(|n| n.number.as_str()).collect::<Vec<_>>(),
        vec![s.a.number.as_str()]
    );
    assert_eq!(all.len(), 2);
    assert_eq!(
        (one.business_id, one.status.as_str(), one.country.as_str()),
        (Some(s.b.business_id.0), "active", "US")
    );
    assert_eq!(one.monthly_cost_amount, "1.15".parse::<Decimal>().unwrap());
    let totals = &overview.totals;
    assert_eq!(
        (
            totals.businesses,
            totals.active_businesses,
            totals.active_numbers
        ),
        (2, 2, 2)
    );
    assert_eq!(
        (totals.calls, totals.calls_today, totals.messages_taken),
        (12, 1, 1)
    );
    let names: Vec<&str> = overview.projections.iter().map(|p| p.name).collect();
    let registered: Vec<&str> = projections::registry::all()
        .iter()
        .map(|p| p.name())
        .collect();
    assert_eq!(
        names, registered,
        "every registered projection, with its checkpoint"
    );
    for name in [
        "businesses",
        "calls",
        "phone_numbers",
        "daily_stats",
        "calls_per_hour",
    ] {
        assert!(names.contains(&name), "{name} is registered");
    }
    assert!(overview
        .projections
        .iter()
        .all(|p| p.lag_events == 0 && p.built_version == Some(p.version)));
    assert!(overview.head.is_some());
    assert!(
        overview.relays.unwrap_or_default().is_empty(),
        "no relay has run in this database"
    );
}

#[tokio::test]
async fn it_should_show_a_call_made_through_twilio_s_webhooks_once_the_server_projected_it() {
    let app = TestApp::spawn().await;
    let seeded = seed(&app.stores(), SeedBusiness::default()).await;
    let sid = new_call_sid();
    let mut params = vec![
        ("CallSid", sid.as_str()),
        ("AccountSid", support::TEST_ACCOUNT_SID),
        ("From", "+14155550111"),
        ("To", seeded.number.as_str()),
        ("Direction", "inbound"),
        ("CallStatus", "ringing"),
    ];
    assert_eq!(
        app.post_twilio("/twilio/voice/incoming", &params)
            .await
            .status(),
        200
    );
    params.retain(|(k, _)| *k != "CallStatus");
    params.extend([
        ("DialCallStatus", "completed"),
        ("DialCallSid", "CAffffffffffffffffffffffffffffffff"),
    ]);
    assert_eq!(
        app.post_twilio("/twilio/voice/dial-result", &params)
            .await
            .status(),
        200
    );
    params.retain(|(k, _)| !k.starts_with("Dial"));
    params.extend([
        ("CallStatus", "completed"),
        ("CallDuration", "42"),
        ("Price", "-0.0085"),
        ("PriceUnit", "USD"),
    ]);
    app.post_twilio("/twilio/voice/status", &params).await;

    // The server runs the projectors itself; wait for the call's last event to show.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let detail = loop {
        let detail = call_detail(&app.db.pool, &sid, None).await.unwrap();
        if let Some(detail) = detail.filter(|d| d.call.cost_amount.is_some()) {
            break detail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call never showed in the read model"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    assert_eq!(detail.call.status, CallStatus::Completed);
    assert_eq!(detail.call.route, Some(CallRoute::Owner));
    assert_eq!(detail.call.handled_by, Some(HandledBy::Owner));
    assert_eq!(detail.call.owner_outcome.as_deref(), Some("answered"));
    assert_eq!(detail.call.duration_secs, Some(42));
    assert_eq!(detail.call.business_id, Some(seeded.business_id.0));
    let types: Vec<String> = call_timeline(&app.db.pool, &sid, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        app.event_types_of(&sid).await,
        "the timeline is the call's events"
    );
}

//! The read models under the runtime's hard cases: the same events applied twice, a rebuild
//! while calls keep coming in, a projector killed between batches.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use domain::call::{CallCommand, FinalStatus, MissReason, Speaker, Urgency};
use domain::routing::{Route, RouteReason};
use domain::values::{CallerId, Money, E164};
use infrastructure::event_store::{AppendSignal, Stores};
use projections::calls::CallsProjection;
use projections::runtime::{Projection, Runner, BATCH_SIZE};
use serde_json::Value;
use sqlx::PgPool;
use support::{new_call_sid, seed, SeedBusiness, Seeded, TestDatabase};

use super::harness::{
    assert_calls_match_the_fold, call_command, incoming, owner_route, wait_caught_up, Projectors,
};

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).unwrap()
}

/// One call of three kinds (by `i`): answered by the owner; missed, then the AI agent takes a
/// message; straight to voicemail.
async fn one_call(stores: &Stores, seeded: &Seeded, i: usize) {
    let sid = new_call_sid();
    let at = base() + chrono::Duration::seconds(i as i64);
    let from = CallerId::Number(E164::parse("+14155550111").unwrap());
    let call = incoming(&sid, &seeded.number, Some(seeded.business_id), from);
    let run = |command| call_command(stores, &sid, command, at);
    let end = CallCommand::End {
        status: FinalStatus::Completed,
        duration_secs: Some(30 + (i % 60) as u32),
    };
    match i % 3 {
        0 => {
            run(CallCommand::Receive {
                call,
                route: owner_route(),
            })
            .await;
            run(CallCommand::RecordOwnerAnswered {
                dial_call_sid: None,
            })
            .await;
            run(end).await;
        }
        1 => {
            run(CallCommand::Receive {
                call,
                route: owner_route(),
            })
            .await;
            run(CallCommand::RecordOwnerMissed {
                reason: MissReason::NoAnswer,
            })
            .await;
            run(CallCommand::RouteToAi {
                why: RouteReason::OwnerMissed,
            })
            .await;
            run(CallCommand::StartAiSession {
                model: "gpt-realtime".into(),
                voice: "marin".into(),
            })
            .await;
            for (n, speaker) in [Speaker::Agent, Speaker::Caller].into_iter().enumerate() {
                let text = format!("line {n}");
                run(CallCommand::RecordTranscriptSegment {
                    speaker,
                    text,
                    offset_ms: n as u64 * 900,
                })
                .await;
            }
            run(CallCommand::TakeMessage {
                caller_name: Some("Ada".into()),
                callback_number: None,
                message: "call me".into(),
                urgency: Urgency::High,
            })
            .await;
            run(CallCommand::EndAiSession {
                reason: "caller hung up".into(),
            })
            .await;
            run(end).await;
            let price = Money::new("-0.0085".parse().unwrap(), "USD").unwrap();
            run(CallCommand::RecordCost { price }).await;
        }
        _ => {
            let route = Route::Voicemail {
                why: RouteReason::OwnerUnavailable,
            };
            run(CallCommand::Receive { call, route }).await;
            run(CallCommand::RecordVoicemail {
                recording_url: "https://api.twilio.com/vm".into(),
                duration_secs: 12,
            })
            .await;
            run(end).await;
        }
    }
}

/// `count` calls, four writers at a time.
async fn populate(stores: &Stores, seeded: &Seeded, count: usize) {
    let writers = (0..4).map(|w| async move {
        for i in (w..count).step_by(4) {
            one_call(stores, seeded, i).await;
        }
    });
    futures::future::join_all(writers).await;
}

/// Everything in `rm_calls`, as JSON.
async fn snapshot(pool: &PgPool) -> (Option<Value>, Option<Value>, Option<Value>) {
    sqlx::query_as(
        "SELECT (SELECT jsonb_agg(c ORDER BY call_sid) FROM rm_calls.calls c), \
                (SELECT jsonb_agg(e ORDER BY call_sid, sequence) FROM rm_calls.call_events e), \
                (SELECT jsonb_agg(t ORDER BY call_sid, sequence) FROM rm_calls.transcript_segments t)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn events_applied(pool: &PgPool, name: &str) -> i64 {
    sqlx::query_scalar("SELECT events_applied FROM projection_checkpoints WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn event_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn it_should_change_nothing_when_the_calls_projection_applies_the_same_events_again() {
    // Arrange: calls projected once.
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let stores = Stores::new(&db.pool, signal.clone());
    let seeded = seed(&stores, SeedBusiness::default()).await;
    populate(&stores, &seeded, 30).await;
    let _projectors = Projectors::start(&db.pool, &signal, &["calls"]);
    wait_caught_up(&db.pool, &["calls"]).await;
    let before = snapshot(&db.pool).await;
    let total = event_count(&db.pool).await;
    assert_eq!(events_applied(&db.pool, "calls").await, total);

    // Act: the checkpoint goes back to the start, so every batch is applied a second time.
    sqlx::query("UPDATE projection_checkpoints SET transaction_id = 0, global_position = 0 WHERE name = 'calls'")
        .execute(&db.pool)
        .await
        .unwrap();
    wait_caught_up(&db.pool, &["calls"]).await;

    // Assert
    assert_eq!(
        events_applied(&db.pool, "calls").await,
        2 * total,
        "every event went through apply twice"
    );
    assert_eq!(
        snapshot(&db.pool).await,
        before,
        "applying the same events again changes nothing"
    );
    assert_calls_match_the_fold(&stores, &db.pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn it_should_rebuild_calls_under_concurrent_writes_and_never_show_readers_an_empty_table() {
    // Arrange: calls projected live, a writer that keeps adding calls, a reader that keeps counting.
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let stores = Stores::new(&db.pool, signal.clone());
    let seeded = seed(&stores, SeedBusiness::default()).await;
    populate(&stores, &seeded, 150).await;
    let _projectors = Projectors::start(&db.pool, &signal, &["calls"]);
    wait_caught_up(&db.pool, &["calls"]).await;

    let writing = Arc::new(AtomicBool::new(true));
    let writer = tokio::spawn({
        let (pool, signal, writing) = (db.pool.clone(), signal.clone(), writing.clone());
        let seeded = Seeded {
            business_id: seeded.business_id,
            number: seeded.number.clone(),
            owner_phone: seeded.owner_phone.clone(),
        };
        async move {
            let stores = Stores::new(&pool, signal);
            let mut written = 0;
            while writing.load(Ordering::Relaxed) {
                one_call(&stores, &seeded, 1_000 + written).await;
                written += 1;
            }
            written
        }
    });
    let reading = Arc::new(AtomicBool::new(true));
    let reader = tokio::spawn({
        let (pool, reading) = (db.another_pool().await, reading.clone());
        async move {
            let (mut polls, mut fewest, mut errors) = (0u64, i64::MAX, Vec::new());
            while reading.load(Ordering::Relaxed) {
                match sqlx::query_scalar::<_, i64>("SELECT count(*) FROM rm_calls.calls")
                    .fetch_one(&pool)
                    .await
                {
                    Ok(count) => fewest = fewest.min(count),
                    Err(err) => errors.push(err.to_string()),
                }
                polls += 1;
            }
            (polls, fewest, errors)
        }
    });

    // Act: rebuild three times while both run.
    for _ in 0..3 {
        let report = projections::runtime::rebuild(&db.pool, &CallsProjection, &|_, _| {})
            .await
            .unwrap();
        assert!(report.events > 0);
    }
    writing.store(false, Ordering::Relaxed);
    let written = writer.await.unwrap();
    wait_caught_up(&db.pool, &["calls"]).await;
    reading.store(false, Ordering::Relaxed);
    let (polls, fewest, errors) = reader.await.unwrap();

    // Assert
    assert!(written > 0, "calls were written during the rebuilds");
    assert!(
        polls > 10,
        "the reader polled during the rebuilds ({polls})"
    );
    assert!(errors.is_empty(), "readers saw errors: {errors:?}");
    assert!(
        fewest >= 150,
        "a reader saw {fewest} calls: the table was empty or partly built"
    );
    assert_calls_match_the_fold(&stores, &db.pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_should_resume_a_killed_projector_without_a_duplicate_or_a_gap() {
    // Arrange: more events than one batch holds.
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let stores = Stores::new(&db.pool, signal.clone());
    let seeded = seed(&stores, SeedBusiness::default()).await;
    populate(&stores, &seeded, 360).await;
    let total = event_count(&db.pool).await;
    assert!(
        total > 2 * BATCH_SIZE,
        "{total} events make more than two batches"
    );

    // Act: a runner is killed right after its first batch; another takes over.
    let runner = Runner::new(db.pool.clone(), Arc::new(CallsProjection), signal.clone());
    let mut applied = runner.subscribe();
    let task = tokio::spawn(runner.run());
    applied.changed().await.unwrap();
    task.abort();
    let _ = task.await;

    // The tables hold exactly the events up to the checkpoint: batch and checkpoint are one.
    let at_kill = events_applied(&db.pool, "calls").await;
    assert!(
        at_kill > 0 && at_kill < total,
        "killed mid-stream ({at_kill} of {total})"
    );
    let (timeline_rows, call_events_up_to_checkpoint): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM rm_calls.call_events), \
                (SELECT count(*) FROM events e, projection_checkpoints c WHERE c.name = 'calls' \
                 AND e.aggregate_type = 'Call' \
                 AND (e.transaction_id::text::bigint, e.global_position) <= (c.transaction_id, c.global_position))",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(timeline_rows, call_events_up_to_checkpoint);

    let _projectors = Projectors::start(&db.pool, &signal, &["calls"]);
    wait_caught_up(&db.pool, &["calls"]).await;

    // Assert: every event applied exactly once, each call's timeline without a gap.
    assert_eq!(
        events_applied(&db.pool, "calls").await,
        total,
        "no event applied twice or skipped"
    );
    let gaps: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT call_sid FROM rm_calls.call_events GROUP BY call_sid \
         HAVING count(*) <> max(sequence) OR min(sequence) <> 1) AS broken",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(gaps, 0, "timelines without gaps");
    assert_calls_match_the_fold(&stores, &db.pool).await;
}

/// Whether anyone holds `name`'s leadership lock (asked from a session of our own).
async fn somebody_leads(pool: &PgPool, name: &str) -> bool {
    let mut probe = pool.acquire().await.unwrap().detach();
    let key = format!("callassist.projection.{name}");
    let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
        .bind(&key)
        .fetch_one(&mut probe)
        .await
        .unwrap();
    // Our probe session ends here, releasing the lock if it got it.
    drop(probe);
    !free
}

#[tokio::test]
async fn it_should_rebuild_a_projection_whose_version_changed_when_it_starts() {
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let stores = Stores::new(&db.pool, signal.clone());
    let seeded = seed(&stores, SeedBusiness::default()).await;
    populate(&stores, &seeded, 12).await;
    {
        let _projectors = Projectors::start(&db.pool, &signal, &["calls"]);
        wait_caught_up(&db.pool, &["calls"]).await;
    }
    let indexes = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'rm_calls' ORDER BY 1",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap()
    };
    let indexes_before = indexes().await;
    // The tables were built by an older version, whose results differ.
    sqlx::query("UPDATE rm_calls.calls SET status = 'built-by-version-0'")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE projection_checkpoints SET version = 0 WHERE name = 'calls'")
        .execute(&db.pool)
        .await
        .unwrap();

    let _projectors = Projectors::start(&db.pool, &signal, &["calls"]);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let version: i32 =
            sqlx::query_scalar("SELECT version FROM projection_checkpoints WHERE name = 'calls'")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        if version == CallsProjection.version() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not rebuilt");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    wait_caught_up(&db.pool, &["calls"]).await;

    let stale: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM rm_calls.calls WHERE status = 'built-by-version-0'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(stale, 0, "every row rebuilt by the current version");
    assert_eq!(
        indexes().await,
        indexes_before,
        "the rebuilt tables keep the migration's index names"
    );
    assert_eq!(
        events_applied(&db.pool, "calls").await,
        event_count(&db.pool).await
    );
    assert_calls_match_the_fold(&stores, &db.pool).await;
}

#[tokio::test]
async fn it_should_run_one_instance_across_processes_and_fail_over_without_a_duplicate() {
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let stores = Stores::new(&db.pool, signal.clone());
    let seeded = seed(&stores, SeedBusiness::default()).await;
    // Two "processes": pools of their own, each running the calls projection.
    let first_pool = db.another_pool().await;
    let second_pool = db.another_pool().await;
    let first = tokio::spawn(
        Runner::new(
            first_pool.clone(),
            Arc::new(CallsProjection),
            AppendSignal::new(),
        )
        .run(),
    );
    let second = tokio::spawn(
        Runner::new(
            second_pool.clone(),
            Arc::new(CallsProjection),
            AppendSignal::new(),
        )
        .run(),
    );
    populate(&stores, &seeded, 30).await;
    wait_caught_up(&db.pool, &["calls"]).await;
    assert!(
        somebody_leads(&db.pool, "calls").await,
        "one of them holds the lead"
    );

    // The first process dies; whichever led, the projection goes on.
    first.abort();
    let _ = first.await;
    first_pool.close().await;
    populate(&stores, &seeded, 30).await;
    wait_caught_up(&db.pool, &["calls"]).await;

    assert!(
        somebody_leads(&db.pool, "calls").await,
        "the survivor leads"
    );
    assert_eq!(
        events_applied(&db.pool, "calls").await,
        event_count(&db.pool).await,
        "every event applied exactly once across both processes"
    );
    assert_calls_match_the_fold(&stores, &db.pool).await;
    second.abort();
}

#[tokio::test]
async fn it_should_carry_on_projecting_after_the_database_drops_its_connections() {
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let stores = Stores::new(&db.pool, signal.clone());
    let seeded = seed(&stores, SeedBusiness::default()).await;
    let projector_pool = db.another_pool().await;
    let _running =
        tokio::spawn(Runner::new(projector_pool, Arc::new(CallsProjection), signal.clone()).run());
    populate(&stores, &seeded, 9).await;
    wait_caught_up(&db.pool, &["calls"]).await;

    // As a database restart would: every session of this database ends.
    let killer = db.another_pool().await;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&killer)
    .await
    .unwrap();
    populate(&stores, &seeded, 9).await;
    wait_caught_up(&db.pool, &["calls"]).await;

    assert_eq!(
        events_applied(&db.pool, "calls").await,
        event_count(&db.pool).await
    );
    assert_calls_match_the_fold(&stores, &db.pool).await;
}

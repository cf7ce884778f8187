//! Read-side benchmarks, each against a baseline measured in the same run:
//!
//! 1. **Rebuild rate**: `projections::runtime::rebuild` of the `calls` read model over a
//!    stored stream of 1 million events (`BENCH_EVENTS`), against a raw scan of the same events
//!    in the same order and batch size through `GlobalStream::read_after` (what any reader must
//!    do at least). Goal: rebuild at ≥ 50% of the raw scan rate.
//! 2. **Lag**: with a runner of every projection going, a steady stream of incoming calls (each
//!    `Receive` through the write path), the time from a call's commit until the `calls`
//!    projection has applied it; p50/p99. Goal: p99 under 50 ms.
//!
//! Run: `DATABASE_URL=postgres://… cargo bench -p callassist-projections --bench read_side`
//! (or `./scripts/bench`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use domain::call::{CallCommand, IncomingCall};
use domain::routing::Route;
use domain::values::{BusinessId, CallSid, CallerId, RingTimeout, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::db;
use infrastructure::event_store::{AppendSignal, GlobalStream, Position, Stores};
use projections::runtime::Runner;
use sqlx::PgPool;
use uuid::Uuid;

const CALL_EVENTS: i64 = 8;

/// Stores `calls × 8` events of plausible calls in one statement per 100k calls: received,
/// routed to the owner, missed, routed to the AI, session started, a message, ended, summarized.
async fn store_calls(pool: &PgPool, calls: i64) -> anyhow::Result<()> {
    let business = Uuid::new_v4();
    let mut done = 0;
    while done < calls {
        let chunk = (calls - done).min(100_000);
        sqlx::query(
            r#"
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT 'Call', sid, s.seq, s.type, '1.0', s.payload,
       jsonb_build_object('correlation_id', sid, 'causation', 'bench', 'actor', 'twilio',
                          'received_at', to_char((now() - make_interval(secs => n)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
  FROM (SELECT n, 'CA' || lpad(to_hex(n), 32, '0') AS sid FROM generate_series($1::bigint, $2::bigint) AS n) AS c
 CROSS JOIN LATERAL (VALUES
   (1, 'CallReceived', jsonb_build_object('CallReceived', jsonb_build_object('call_sid', c.sid, 'from', jsonb_build_object('kind', 'number', 'value', '+14155550111'), 'to', '+15555550100', 'business_id', $3::uuid))),
   (2, 'CallRoutedToOwner', '{"CallRoutedToOwner":{"owner_phone":"+15555550123","ring_timeout":20}}'::jsonb),
   (3, 'OwnerMissed', '{"OwnerMissed":{"reason":"no_answer"}}'::jsonb),
   (4, 'CallRoutedToAi', '{"CallRoutedToAi":{"why":"owner_missed"}}'::jsonb),
   (5, 'AiSessionStarted', '{"AiSessionStarted":{"model":"gpt-realtime","voice":"marin"}}'::jsonb),
   (6, 'MessageTaken', '{"MessageTaken":{"caller_name":"Ann","callback_number":"+14155550111","message":"Please call back about the leak.","urgency":"normal"}}'::jsonb),
   (7, 'CallEnded', '{"CallEnded":{"status":"completed","duration_secs":64}}'::jsonb),
   (8, 'CallSummarized', '{"CallSummarized":{"summary":"Ann called about a leak and asked for a call back."}}'::jsonb)
 ) AS s(seq, type, payload)
 ORDER BY c.n, s.seq
"#,
        )
        .bind(done + 1)
        .bind(done + chunk)
        .bind(business)
        .execute(pool)
        .await?;
        done += chunk;
    }
    Ok(())
}

async fn raw_scan(pool: &PgPool) -> anyhow::Result<(u64, Duration)> {
    let stream = GlobalStream::new(pool.clone());
    let started = Instant::now();
    let mut position = Position::START;
    let mut count = 0u64;
    loop {
        let batch = stream.read_after(position, 10_000).await?;
        let Some(last) = batch.last() else { break };
        position = last.position;
        count += batch.len() as u64;
    }
    Ok((count, started.elapsed()))
}

async fn lag(
    pool: &PgPool,
    seconds: u64,
    rate: u64,
) -> anyhow::Result<(usize, Duration, Duration, Duration)> {
    let signal = AppendSignal::new();
    let stores = Arc::new(Stores::new(pool, signal.clone()));
    let calls = projections::registry::by_name("calls").context("no calls projection")?;
    let runner = Runner::new(pool.clone(), calls, signal.clone());
    let mut applied = runner.subscribe();
    let running = tokio::spawn(runner.run());
    // Let it catch up with whatever is stored before measuring.
    let head = GlobalStream::new(pool.clone()).head().await?;
    while head.is_some() {
        let status = projections::runtime::status(
            pool,
            &[projections::registry::by_name("calls").context("calls")?],
        )
        .await?;
        if status.first().map_or(0, |s| s.lag_events) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut ticker = tokio::time::interval(interval);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut lags = Vec::new();
    let owner = E164::parse("+15555550123")?;
    while Instant::now() < deadline {
        ticker.tick().await;
        let sid = CallSid::parse(&format!("CA{}", Uuid::new_v4().simple()))?;
        let command = CallCommand::Receive {
            call: IncomingCall {
                call_sid: sid.clone(),
                from: CallerId::Withheld,
                to: "+15555550100".into(),
                business_id: Some(BusinessId(Uuid::nil())),
            },
            route: Route::Owner {
                owner_phone: owner.clone(),
                ring_timeout: RingTimeout::default(),
            },
        };
        let before = *applied.borrow_and_update();
        stores
            .calls
            .execute(
                sid.as_ref(),
                command,
                &CommandMetadata::new(sid.as_ref(), "bench", Actor::Twilio, Utc::now()),
            )
            .await?;
        let committed = Instant::now();
        // Two events per call: wait until the runner applied past them.
        while *applied.borrow_and_update() < before + 2 {
            if tokio::time::timeout(Duration::from_secs(5), applied.changed())
                .await
                .is_err()
            {
                anyhow::bail!("the projection did not apply a call within 5 s");
            }
        }
        lags.push(committed.elapsed());
    }
    running.abort();
    lags.sort();
    let pick = |q: f64| lags[((lags.len() as f64 - 1.0) * q).round() as usize];
    Ok((lags.len(), pick(0.5), pick(0.99), lags[lags.len() - 1]))
}

async fn run() -> anyhow::Result<()> {
    let events: i64 = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let server_url = std::env::var("DATABASE_URL")
        .context("DATABASE_URL must point at a PostgreSQL server (./scripts/bench sets it)")?;
    let scratch = db::ScratchDatabase::create(&server_url, "callassist_bench_").await?;
    let pool = db::connect_and_migrate(&scratch.url).await?;

    let calls = events / CALL_EVENTS;
    let storing = Instant::now();
    store_calls(&pool, calls).await?;
    sqlx::query("VACUUM ANALYZE events").execute(&pool).await?;
    println!(
        "stored {} events ({calls} calls) in {:.1} s",
        calls * CALL_EVENTS,
        storing.elapsed().as_secs_f64()
    );

    let (scanned, scan_time) = raw_scan(&pool).await?;
    let projection = projections::registry::by_name("calls").context("no calls projection")?;
    let rebuilding = Instant::now();
    let report = projections::runtime::rebuild(&pool, projection.as_ref(), &|_, _| {}).await?;
    let rebuild_time = rebuilding.elapsed();
    let scan_rate = scanned as f64 / scan_time.as_secs_f64();
    let rebuild_rate = report.events as f64 / rebuild_time.as_secs_f64();

    let (samples, p50, p99, max) = lag(&pool, 10, 50).await?;

    println!();
    println!("| measurement | result | baseline | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| rebuild `calls`, {} events | {rebuild_rate:.0} events/s ({:.1} s) | raw scan {scan_rate:.0} events/s ({:.1} s) | {:.0}% |",
        report.events,
        rebuild_time.as_secs_f64(),
        scan_time.as_secs_f64(),
        100.0 * rebuild_rate / scan_rate
    );
    println!(
        "| lag, event committed → `calls` applied ({samples} calls at 50/s) | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms | goal p99 < 50 ms | |",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );

    pool.close().await;
    scratch.drop_now().await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

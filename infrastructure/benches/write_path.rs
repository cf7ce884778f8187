//! Write-path benchmark: commands per second through `AggregateStore::execute` (load or catch up
//! the aggregate, decide, append with metadata) at 8 concurrent writers on the real PostgreSQL,
//! against a baseline measured in the same run: a plain `INSERT` of the same rows.
//!
//! Run: `DATABASE_URL=postgres://… cargo bench -p callassist-infrastructure --bench write_path`
//! or `./scripts/bench`, which finds or starts PostgreSQL. `BENCH_COMMANDS` sets commands per run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use domain::business::{BusinessCommand, BusinessEvent, RegisterBusiness};
use domain::call::{CallCommand, CallEvent, IncomingCall};
use domain::routing::Route;
use domain::values::{BusinessId, CallSid, CallerId, RingTimeout, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::db;
use infrastructure::event_store::{AppendSignal, Stores};
use sqlx::PgPool;
use tokio::task::JoinSet;
use uuid::Uuid;

const WRITERS: usize = 8;
const HISTORY: usize = 1_000;
const ROUNDS: usize = 3;

const INSERT_TWO: &str = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
     VALUES ($1, $2, 1, $3, '1.0', $4, $6), ($1, $2, 2, $5, '1.0', $7, $6)";
const INSERT_ONE: &str = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
     VALUES ('Business', $1, $2, 'OwnerAvailabilityChanged', '1.0', $3, $4)";

fn meta(correlation: &str) -> CommandMetadata {
    CommandMetadata::new(correlation, "bench:write_path", Actor::System, Utc::now())
}

fn new_sid() -> anyhow::Result<CallSid> {
    Ok(CallSid::parse(&format!("CA{}", Uuid::new_v4().simple()))?)
}

fn receive(sid: &CallSid) -> anyhow::Result<CallCommand> {
    Ok(CallCommand::Receive {
        call: IncomingCall {
            call_sid: sid.clone(),
            from: CallerId::from_twilio("+14155550111"),
            to: "+14155550100".into(),
            business_id: Some(BusinessId(Uuid::nil())),
        },
        route: Route::Owner {
            owner_phone: E164::parse("+14155550123")?,
            ring_timeout: RingTimeout::default(),
        },
    })
}

/// Runs `total` operations split over `WRITERS` tasks; returns operations per second.
async fn measure<F, Fut>(total: usize, op: F) -> anyhow::Result<f64>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let per_writer = total / WRITERS;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for writer in 0..WRITERS {
        let op = op.clone();
        tasks.spawn(async move {
            for i in 0..per_writer {
                op(writer, i).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok((per_writer * WRITERS) as f64 / started.elapsed().as_secs_f64())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn new_calls(
    pool: &PgPool,
    stores: &Arc<Stores>,
    total: usize,
) -> anyhow::Result<(f64, f64)> {
    let sid = new_sid()?;
    let events = match receive(&sid)? {
        CallCommand::Receive {
            call,
            route:
                Route::Owner {
                    owner_phone,
                    ring_timeout,
                },
        } => vec![
            CallEvent::CallReceived {
                call_sid: call.call_sid,
                from: call.from,
                to: call.to,
                business_id: call.business_id,
            },
            CallEvent::CallRoutedToOwner {
                owner_phone,
                ring_timeout,
            },
        ],
        _ => anyhow::bail!("unexpected command shape"),
    };
    let payloads: Vec<serde_json::Value> = events
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    let metadata = serde_json::to_value(meta(sid.as_ref()).to_map())?;

    let (mut baseline, mut path) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (pool, payloads, metadata) = (pool.clone(), payloads.clone(), metadata.clone());
        baseline.push(
            measure(total, move |_, _| {
                let (pool, payloads, metadata) = (pool.clone(), payloads.clone(), metadata.clone());
                async move {
                    sqlx::query(INSERT_TWO)
                        .bind("Call")
                        .bind(new_sid()?.to_string())
                        .bind("CallReceived")
                        .bind(&payloads[0])
                        .bind("CallRoutedToOwner")
                        .bind(&metadata)
                        .bind(&payloads[1])
                        .execute(&pool)
                        .await?;
                    Ok(())
                }
            })
            .await?,
        );
        let stores = stores.clone();
        path.push(
            measure(total, move |_, _| {
                let stores = stores.clone();
                async move {
                    let sid = new_sid()?;
                    let committed = stores
                        .calls
                        .execute(sid.as_ref(), receive(&sid)?, &meta(sid.as_ref()))
                        .await?;
                    anyhow::ensure!(committed.events.len() == 2, "two events per new call");
                    Ok(())
                }
            })
            .await?,
        );
    }
    Ok((median(baseline), median(path)))
}

/// Registers one business per writer and gives each `history` events in all.
async fn businesses_with_history(
    pool: &PgPool,
    stores: &Stores,
    history: usize,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for _ in 0..WRITERS {
        let id = BusinessId(Uuid::new_v4());
        stores
            .businesses
            .execute(
                &id.to_string(),
                BusinessCommand::Register(RegisterBusiness {
                    id,
                    name: "Bench Plumbing".into(),
                    description: String::new(),
                    owner_user_id: None,
                    owner_phone: Some(E164::parse("+14155550123")?),
                    timezone: chrono_tz::UTC,
                }),
                &meta("setup"),
            )
            .await?;
        // The rest of the history in one statement: availability switched off and on.
        let payload_off =
            serde_json::to_value(BusinessEvent::OwnerAvailabilityChanged { available: false })?;
        let payload_on =
            serde_json::to_value(BusinessEvent::OwnerAvailabilityChanged { available: true })?;
        let metadata = serde_json::to_value(meta("setup").to_map())?;
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             SELECT 'Business', $1, s, 'OwnerAvailabilityChanged', '1.0', CASE WHEN s % 2 = 0 THEN $2 ELSE $3 END, $4 \
               FROM generate_series(2, $5::bigint) AS s",
        )
        .bind(id.to_string())
        .bind(&payload_off)
        .bind(&payload_on)
        .bind(&metadata)
        .bind(i64::try_from(history)?)
        .execute(pool)
        .await?;
        ids.push(id.to_string());
    }
    Ok(ids)
}

/// Toggles availability of each writer's own business, through the store and as plain inserts.
async fn business_commands(
    pool: &PgPool,
    stores: &Arc<Stores>,
    history: usize,
    total: usize,
) -> anyhow::Result<(f64, f64, Duration)> {
    let path_ids = Arc::new(businesses_with_history(pool, stores, history).await?);
    // The first load of each business replays its whole history; measured apart.
    let cold = Instant::now();
    for id in path_ids.iter() {
        stores.businesses.load(id).await?;
    }
    let cold_load = cold.elapsed() / WRITERS as u32;

    let baseline_ids: Arc<Vec<String>> =
        Arc::new((0..WRITERS).map(|_| Uuid::new_v4().to_string()).collect());
    let payload =
        serde_json::to_value(BusinessEvent::OwnerAvailabilityChanged { available: false })?;
    let metadata = serde_json::to_value(meta("bench").to_map())?;
    let (mut baseline, mut path) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (pool, ids, payload, metadata) = (
            pool.clone(),
            baseline_ids.clone(),
            payload.clone(),
            metadata.clone(),
        );
        let per_writer = total / WRITERS;
        baseline.push(
            measure(total, move |writer, i| {
                let (pool, ids, payload, metadata) =
                    (pool.clone(), ids.clone(), payload.clone(), metadata.clone());
                async move {
                    let sequence = i64::try_from(round * per_writer + i + 1)?;
                    sqlx::query(INSERT_ONE)
                        .bind(&ids[writer])
                        .bind(sequence)
                        .bind(&payload)
                        .bind(&metadata)
                        .execute(&pool)
                        .await?;
                    Ok(())
                }
            })
            .await?,
        );
        let (stores, ids) = (stores.clone(), path_ids.clone());
        // After the history, the owner is available when it has an odd number of events;
        // every command switches availability, so it always appends one event.
        let available_at_start = history % 2 == 1;
        path.push(
            measure(total, move |writer, i| {
                let (stores, ids) = (stores.clone(), ids.clone());
                async move {
                    let switch = round * per_writer + i;
                    let available = switch.is_multiple_of(2) != available_at_start;
                    let command = BusinessCommand::SetOwnerAvailability { available };
                    let committed = stores
                        .businesses
                        .execute(&ids[writer], command, &meta("bench"))
                        .await?;
                    anyhow::ensure!(committed.events.len() == 1, "each toggle is one event");
                    Ok(())
                }
            })
            .await?,
        );
    }
    Ok((median(baseline), median(path), cold_load))
}

async fn run() -> anyhow::Result<()> {
    let total: usize = std::env::var("BENCH_COMMANDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000);
    let server_url = std::env::var("DATABASE_URL")
        .context("DATABASE_URL must point at a PostgreSQL server (./scripts/bench sets it)")?;
    let scratch = db::ScratchDatabase::create(&server_url, "callassist_bench_").await?;
    let pool = db::connect_and_migrate(&scratch.url).await?;
    let stores = Arc::new(Stores::new(&pool, AppendSignal::new()));

    println!("write path vs plain INSERT, {WRITERS} concurrent writers, {total} commands per run, median of {ROUNDS} runs");
    let (call_base, call_path) = new_calls(&pool, &stores, total).await?;
    let (short_base, short_path, short_cold) = business_commands(&pool, &stores, 1, total).await?;
    let (long_base, long_path, long_cold) =
        business_commands(&pool, &stores, HISTORY, total).await?;

    println!();
    println!("| scenario | write path (cmd/s) | plain INSERT (cmd/s) | ratio | first load |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let row = |name: &str, path: f64, base: f64, cold: Option<Duration>| {
        let cold = cold.map_or("-".to_owned(), |d| {
            format!("{:.2} ms", d.as_secs_f64() * 1e3)
        });
        println!(
            "| {name} | {path:.0} | {base:.0} | {:.0}% | {cold} |",
            100.0 * path / base
        );
    };
    row("new Call (Receive: 2 events)", call_path, call_base, None);
    row(
        "Business, 1 event of history (1 event)",
        short_path,
        short_base,
        Some(short_cold),
    );
    row(
        "Business, 1,000 events of history (1 event)",
        long_path,
        long_base,
        Some(long_cold),
    );
    println!();
    println!(
        "history cost: 1,000 events of history run at {:.0}% of the 1-event rate",
        100.0 * long_path / short_path
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

//! Voice bridge benchmark: N concurrent simulated AI calls (100, 200, 500 by default), each
//! with a 20 ms μ-law frame every 20 ms both ways for a fixed time, through the real server —
//! the release `callassist serve` binary as a process of its own — against a fake OpenAI
//! Realtime peer in this process. Reported per call count:
//!
//! - one-way latency of each frame, p50 and p99: caller → agent (Twilio `media` sent → its
//!   `input_audio_buffer.append` received by the fake) and agent → caller (audio delta sent →
//!   Twilio `media` received). Every frame carries a probe in its first audio bytes (stream,
//!   sequence number, send time on this process' clock); the bridge passes payloads through
//!   untouched, so the receiver reads it back ([`probe`]);
//! - the server's CPU time per second of call (utime + stime of its process over the window,
//!   / calls / seconds) and its resident memory per call (growth over the idle server);
//! - frames sent and received both ways, out of order, or on another call's socket.
//!
//! Baseline, measured in the same run with the same callers and fake: a pass-through relay
//! process ([`relay`]) that forwards text frames between the two sockets without reading them —
//! the floor any bridge pays for two WebSocket hops. Each call count runs `VOICE_BENCH_ROUNDS`
//! times (default 2), relay and bridge alternating.
//!
//! Goals (issue 7): p99 under 2 ms at 200 concurrent calls, nothing lost, at most 1.5 ms of
//! CPU per second of call. A missed latency or CPU goal is reported, not failed, and the report
//! says when the relay of the same run missed it too; a lost, reordered or misrouted frame makes
//! the bench exit non-zero.
//!
//! Run: `DATABASE_URL=postgres://… cargo bench -p callassist-tests --bench voice_bridge` after
//! `cargo build --release -p callassist-api --bin callassist`, or `./scripts/bench`, which does
//! both. `VOICE_BENCH_CALLS` (default `100,200,500`), `VOICE_BENCH_SECS` (measured seconds per
//! run, default 20), `VOICE_BENCH_ROUNDS` (default 2), `CALLASSIST_BIN` (the binary to run),
//! `VOICE_BENCH_RELAY_WRAPPER` (a program to start the relay through, e.g. under a profiler).
//! Needs about 2 open files per call in this process and in the server: raise `ulimit -n`
//! when it says so.

/// The same allocator as the `callassist` binary (it serves the relay process too).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod agent;
mod caller;
mod probe;
mod process;
mod relay;
mod report;
mod server;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt as _, TryStreamExt as _};
use infrastructure::db;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use agent::Agent;
use caller::Call;
use probe::Tally;
use process::{Machine, Usage};
use report::{RunResult, Sample};
use server::Server;

/// The Twilio account the server answers for, and its auth token.
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "bench-auth-token-0123456789abcdef";

/// Calls set up at once during the ramp-up.
const SETUP_CONCURRENCY: usize = 16;
/// Steady state before the window opens, once every caller hears the agent.
const SETTLE: Duration = Duration::from_secs(3);
/// How long frames in flight may take to arrive once the callers and the agent fall quiet.
const DRAIN: Duration = Duration::from_secs(5);
/// How long the calls may take to end once the callers hang up.
const HANG_UP: Duration = Duration::from_secs(30);

/// Read buffer of every WebSocket in the bench (callers, agent, relay). tungstenite's default
/// is 128 KiB, and it zeroes the unused part of it before each read (`FrameCodec::read_in`): at
/// 20 ms frames of ~300 bytes that memset is most of a socket's CPU time. 4 KiB holds several
/// frames.
const READ_BUFFER: usize = 4 * 1024;

/// The configuration of every WebSocket the bench opens or accepts.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(READ_BUFFER)
}

/// Before each run: how busy the machine may be (other work), and how long to wait for that.
const QUIET_BUSY: f64 = 0.15;
const QUIET_WAIT: Duration = Duration::from_secs(120);

/// What every caller and agent session does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Frames both ways.
    Run,
    /// No new frames; the ones in flight arrive.
    Quiet,
    /// Callers send `stop` and close.
    HangUp,
}

/// What sits between the callers and the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// `callassist serve`.
    Bridge,
    /// The pass-through relay.
    Relay,
}

struct Config {
    calls: Vec<usize>,
    window: Duration,
    rounds: usize,
    binary: std::path::PathBuf,
    database_url: String,
    clock_ticks: u64,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(raw) => raw
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} cannot be '{raw}'")),
        Err(_) => Ok(default),
    }
}

/// The process under test, between the callers and the agent.
enum Target {
    Bridge(Server, String),
    Relay(process::Child, String),
}

impl Target {
    fn process(&mut self) -> &mut process::Child {
        match self {
            Self::Bridge(server, _) => &mut server.process,
            Self::Relay(child, _) => child,
        }
    }

    fn stop(self) -> anyhow::Result<()> {
        match self {
            Self::Bridge(server, _) => server.stop(),
            Self::Relay(child, _) => child.stop(),
        }
    }
}

/// Sets up one call: through the server (webhook, then the stream it names), or straight to
/// the relay.
async fn set_up_call(
    target: &Target,
    index: u32,
    tally: Arc<Tally>,
    phase: watch::Receiver<Phase>,
) -> anyhow::Result<JoinHandle<anyhow::Result<()>>> {
    let call_sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    let stream_sid = format!("MZ{}", uuid::Uuid::new_v4().simple());
    let call = match target {
        Target::Bridge(server, number) => {
            let (url, parameters) = server.incoming_call(&call_sid, number).await?;
            Call {
                url,
                auth_token: Some(AUTH_TOKEN.to_owned()),
                index,
                call_sid,
                stream_sid,
                parameters,
            }
        }
        Target::Relay(_, url) => Call {
            url: url.clone(),
            auth_token: None,
            index,
            call_sid,
            stream_sid,
            parameters: Vec::new(),
        },
    };
    let ws = caller::connect(&call)
        .await
        .with_context(|| format!("opening the stream of call {index}"))?;
    Ok(tokio::spawn(caller::run(ws, call, tally, phase)))
}

/// Polls `done` every 20 ms until it holds or `timeout` passes; checks the process meanwhile.
async fn wait_until(
    target: &mut Target,
    timeout: Duration,
    what: impl Fn() -> String,
    done: impl Fn() -> bool,
) -> anyhow::Result<bool> {
    let started = Instant::now();
    while !done() {
        target.process().check_alive()?;
        if started.elapsed() > timeout {
            eprintln!("    gave up waiting: {}", what());
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(true)
}

/// The machine is shared: before each run, waits (up to [`QUIET_WAIT`]) for a second in which
/// at most [`QUIET_BUSY`] of it is busy. Each run reports how busy the machine was anyway.
async fn wait_for_quiet() -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let before = Machine::read()?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let busy = Machine::read()?.busy_since(&before);
        if busy <= QUIET_BUSY {
            return Ok(());
        }
        if started.elapsed() >= QUIET_WAIT {
            eprintln!(
                "    the machine is {:.0}% busy with other work; running anyway",
                100.0 * busy
            );
            return Ok(());
        }
    }
}

async fn run_once(
    config: &Config,
    number: &str,
    path: Path,
    calls: usize,
) -> anyhow::Result<RunResult> {
    wait_for_quiet().await?;
    let tally = Arc::new(Tally::default());
    let (phase, phases) = watch::channel(Phase::Run);
    let agent = Agent::start(tally.clone(), phases.clone()).await?;
    let mut target = match path {
        Path::Bridge => Target::Bridge(
            Server::start(&config.binary, &config.database_url, &agent.url())?,
            number.to_owned(),
        ),
        Path::Relay => {
            let (child, url) = relay::spawn(&agent.url())?;
            Target::Relay(child, url)
        }
    };
    let pid = target.process().pid().to_string();
    // Memory of the idle process, once start-up has settled.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = process::usage(&pid, config.clock_ticks)?;

    // Ramp-up: every call set up, every caller hearing the agent.
    let ramp = Instant::now();
    let handles: Vec<JoinHandle<anyhow::Result<()>>> = {
        let target = &target;
        futures::stream::iter(0..calls)
            .map(|index| {
                let (tally, phases) = (tally.clone(), phases.clone());
                async move { set_up_call(target, u32::try_from(index)?, tally, phases).await }
            })
            .buffer_unordered(SETUP_CONCURRENCY)
            .try_collect()
            .await?
    };
    let all_hear = wait_until(
        &mut target,
        Duration::from_secs(60),
        || {
            format!(
                "{} of {calls} callers hear the agent",
                tally.hearing.load(Ordering::SeqCst)
            )
        },
        || tally.hearing.load(Ordering::SeqCst) == calls,
    )
    .await?;
    anyhow::ensure!(all_hear, "not every call got going");
    let ramp = ramp.elapsed();
    tokio::time::sleep(SETTLE).await;

    // The window.
    let (before, bench_before, machine_before) = (
        process::usage(&pid, config.clock_ticks)?,
        process::usage("self", config.clock_ticks)?,
        Machine::read()?,
    );
    let sent_before = tally.up.sent() + tally.down.sent();
    let opened = Instant::now();
    tally.window.open();
    tokio::time::sleep(config.window).await;
    tally.window.close();
    let elapsed = opened.elapsed();
    let sent_in_window = tally.up.sent() + tally.down.sent() - sent_before;
    let (after, bench_after, machine_after) = (
        process::usage(&pid, config.clock_ticks)?,
        process::usage("self", config.clock_ticks)?,
        Machine::read()?,
    );

    // Quiet: what is in flight arrives; then everyone hangs up.
    phase.send_replace(Phase::Quiet);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let drained = wait_until(
        &mut target,
        DRAIN,
        || {
            format!(
                "caller → agent {} of {}, agent → caller {} of {}",
                tally.up.received(),
                tally.up.sent(),
                tally.down.received(),
                tally.down.sent()
            )
        },
        || tally.up.received() >= tally.up.sent() && tally.down.received() >= tally.down.sent(),
    )
    .await?;
    let (up_sent, up_received) = (tally.up.sent(), tally.up.received());
    let (down_sent, down_received) = (tally.down.sent(), tally.down.received());
    phase.send_replace(Phase::HangUp);
    let mut failures = Vec::new();
    let joined = tokio::time::timeout(HANG_UP, futures::future::join_all(handles)).await;
    match joined {
        Ok(results) => {
            for result in results {
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => failures.push(format!("{err:#}")),
                    Err(err) => failures.push(format!("caller task: {err}")),
                }
            }
        }
        Err(_) => failures.push(format!("the callers did not hang up within {HANG_UP:?}")),
    }
    let closed = wait_until(
        &mut target,
        HANG_UP,
        || {
            format!(
                "{} agent sessions still open",
                tally.sessions_open.load(Ordering::SeqCst)
            )
        },
        || tally.sessions_open.load(Ordering::SeqCst) == 0,
    )
    .await?;
    if !closed {
        failures.push("agent sessions were left open after the calls ended".to_owned());
    }
    if !drained {
        eprintln!("    frames were still missing after {DRAIN:?}");
    }
    target.stop()?;
    drop(agent);

    let window_secs = elapsed.as_secs_f64();
    let cpu = |after: Usage, before: Usage| after.cpu.saturating_sub(before.cpu).as_secs_f64();
    let server_cpu = cpu(after, before);
    let server_kernel = after.kernel.saturating_sub(before.kernel).as_secs_f64();
    let bench_cpu = cpu(bench_after, bench_before);
    let machine_busy = machine_after.busy_since(&machine_before);
    // A call-second is 100 frames: 50 each way.
    let call_seconds = sent_in_window as f64 / 100.0;
    Ok(RunResult {
        path,
        calls,
        up: tally.up.take_latencies(),
        down: tally.down.take_latencies(),
        sample: Sample {
            window_secs,
            // Both ways, one frame per 20 ms per call.
            pace: sent_in_window as f64 / (2.0 * calls as f64 * window_secs / 0.020),
            ramp_secs: ramp.as_secs_f64(),
            cpu_ms_per_call_second: 1e3 * server_cpu / call_seconds.max(1.0),
            kernel_ms_per_call_second: 1e3 * server_kernel / call_seconds.max(1.0),
            cores_used: server_cpu / window_secs,
            bench_cores_used: bench_cpu / window_secs,
            machine_busy,
            other_cores: (machine_busy * process::cores() as f64
                - (server_cpu + bench_cpu) / window_secs)
                .max(0.0),
            rss_idle_kib: idle.rss_kib,
            rss_kib: after.rss_kib,
            up_sent,
            up_received,
            down_sent,
            down_received,
            out_of_order: tally.up.out_of_order.load(Ordering::SeqCst)
                + tally.down.out_of_order.load(Ordering::SeqCst),
            misrouted: tally.up.misrouted.load(Ordering::SeqCst)
                + tally.down.misrouted.load(Ordering::SeqCst),
            anomalies: tally.anomalies.load(Ordering::SeqCst) + failures.len() as u64,
        },
        failures,
    })
}

async fn run() -> anyhow::Result<bool> {
    probe::self_check()?;
    let calls: Vec<usize> = std::env::var("VOICE_BENCH_CALLS")
        .unwrap_or_else(|_| "100,200,500".to_owned())
        .split(',')
        .map(|n| {
            n.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| format!("VOICE_BENCH_CALLS: '{n}' is not a number of calls"))
        })
        .collect::<anyhow::Result<_>>()?;
    let secs: f64 = env_or("VOICE_BENCH_SECS", 20.0)?;
    anyhow::ensure!(secs > 0.0, "VOICE_BENCH_SECS must be positive");
    let rounds: usize = env_or("VOICE_BENCH_ROUNDS", 2)?;
    anyhow::ensure!(rounds > 0, "VOICE_BENCH_ROUNDS must be at least 1");
    let most = calls.iter().copied().max().unwrap_or(0);
    // Each call holds two sockets here (caller, agent session) and two in the server.
    let needed = 2 * most as u64 + 256;
    if let Some(limit) = process::open_files_limit() {
        anyhow::ensure!(
            limit >= needed,
            "{most} calls need about {needed} open files, the limit is {limit}: raise it \
             (`ulimit -n {}`) or run fewer calls",
            needed.next_power_of_two()
        );
    }
    let binary = server::binary()?;
    server::warn_if_stale(&binary);
    let server_url = std::env::var("DATABASE_URL")
        .context("DATABASE_URL must point at a PostgreSQL server (./scripts/bench sets it)")?;
    let scratch = db::ScratchDatabase::create(&server_url, "callassist_bench_").await?;
    let config = Config {
        calls,
        window: Duration::from_secs_f64(secs),
        rounds,
        binary,
        database_url: scratch.url.clone(),
        clock_ticks: process::clock_ticks(),
    };
    let outcome = bench(&config).await;
    let dropped = scratch
        .drop_now()
        .await
        .with_context(|| format!("dropping the scratch database {}", scratch.name));
    let outcome = outcome?;
    dropped?;
    Ok(outcome)
}

/// Runs every size and round; prints the report; true when nothing was lost.
async fn bench(config: &Config) -> anyhow::Result<bool> {
    let pool = db::connect_and_migrate(&config.database_url).await?;
    let fixture = server::seed_business(&pool).await?;
    pool.close().await;
    report::header(config.window, config.rounds, &config.binary);
    let mut results = Vec::new();
    for &calls in &config.calls {
        for round in 1..=config.rounds {
            for path in [Path::Relay, Path::Bridge] {
                let result = run_once(config, &fixture.number, path, calls)
                    .await
                    .with_context(|| format!("{calls} calls, round {round}, {path:?}"))?;
                report::run_line(round, &result);
                results.push((round, result));
            }
        }
    }
    Ok(report::summary(&results))
}

fn main() -> std::process::ExitCode {
    if std::env::var(relay::ROLE_VAR).as_deref() == Ok("relay") {
        return match relay::main() {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("relay: {err:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(run()));
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("frames were lost, reordered or misrouted: see above");
            std::process::ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! What a run measured, and the report: a line per run as it ends, then the tables that
//! docs/benchmarks.md records, the bridge against the relay, and the goals.

use std::time::Duration;

use crate::probe::Latencies;
use crate::Path;

/// Goal: p99 of each direction under this at [`LATENCY_GOAL_CALLS`] calls.
const LATENCY_GOAL: Duration = Duration::from_millis(2);
const LATENCY_GOAL_CALLS: usize = 200;
/// Goal: at most this much CPU (ms) per second of call.
const CPU_GOAL_MS: f64 = 1.5;

/// One run's numbers beside its latencies.
#[derive(Debug, Clone)]
pub struct Sample {
    pub window_secs: f64,
    /// Frames sent during the window against one per 20 ms per call both ways: under 1 when
    /// the callers and the agent could not keep real time (the machine was saturated).
    pub pace: f64,
    pub ramp_secs: f64,
    /// The process under test: CPU ms per call-second relayed (100 frames, 50 each way: at
    /// full pace, CPU time / calls / seconds of the window).
    pub cpu_ms_per_call_second: f64,
    /// The part of it spent in the kernel.
    pub kernel_ms_per_call_second: f64,
    /// The process under test: cores busy on average (1.0 = one core).
    pub cores_used: f64,
    /// This process (callers and agent): cores busy on average.
    pub bench_cores_used: f64,
    /// The machine: share of all cores busy.
    pub machine_busy: f64,
    /// Cores busy with other work than the process under test and this one.
    pub other_cores: f64,
    pub rss_idle_kib: u64,
    pub rss_kib: u64,
    pub up_sent: u64,
    pub up_received: u64,
    pub down_sent: u64,
    pub down_received: u64,
    pub out_of_order: u64,
    pub misrouted: u64,
    pub anomalies: u64,
}

impl Sample {
    /// CPU per call-second as user + kernel time.
    fn split(&self) -> String {
        let kernel = self.kernel_ms_per_call_second;
        format!(
            "{:.2} + {:.2}",
            self.cpu_ms_per_call_second - kernel,
            kernel
        )
    }
}

/// One run of one path at one call count.
#[derive(Debug)]
pub struct RunResult {
    pub path: Path,
    pub calls: usize,
    /// Caller → agent latencies of the window.
    pub up: Latencies,
    /// Agent → caller latencies of the window.
    pub down: Latencies,
    pub sample: Sample,
    pub failures: Vec<String>,
}

impl RunResult {
    fn rss_per_call_kib(&self) -> f64 {
        self.sample.rss_kib.saturating_sub(self.sample.rss_idle_kib) as f64 / self.calls as f64
    }

    fn lost(&self) -> (u64, u64) {
        let s = &self.sample;
        (
            s.up_sent.saturating_sub(s.up_received),
            s.down_sent.saturating_sub(s.down_received),
        )
    }

    /// Nothing lost, duplicated, reordered or misrouted, and no call failed.
    fn clean(&self) -> bool {
        let s = &self.sample;
        s.up_sent == s.up_received
            && s.down_sent == s.down_received
            && s.out_of_order == 0
            && s.misrouted == 0
            && self.failures.is_empty()
    }

    fn worst_p99(&self) -> Duration {
        self.up.quantile(0.99).max(self.down.quantile(0.99))
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn name(path: Path) -> &'static str {
    match path {
        Path::Bridge => "bridge (`callassist serve`)",
        Path::Relay => "pass-through relay",
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

/// The verdict on a goal the relay of the same run is held to as well: a missed goal the relay
/// missed too says so, since then the machine, not the bridge, is what a reader has to look at
/// first.
fn verdict_beside_relay(met: bool, relay_met: bool) -> String {
    if met || relay_met {
        verdict(met).to_owned()
    } else {
        format!(
            "{} (the relay alone misses it too, on this machine)",
            verdict(met)
        )
    }
}

pub fn header(window: Duration, rounds: usize, binary: &std::path::Path) {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    println!(
        "voice bridge: concurrent AI calls, 20 ms frames both ways, {}s measured per run, {rounds} round(s), relay and bridge alternating",
        window.as_secs_f64()
    );
    println!(
        "machine: {} cores ({model}); server: {}",
        crate::process::cores(),
        binary.display()
    );
}

pub fn run_line(round: usize, r: &RunResult) {
    let s = &r.sample;
    let (lost_up, lost_down) = r.lost();
    println!(
        "{} calls, run {round}, {}: caller→agent p50 {} p99 {} max {} ms; agent→caller p50 {} p99 {} max {} ms; \
         CPU {:.3} ms per call-second ({:.2} cores); RSS {} KiB idle, {:.1} KiB per call; \
         frames {}/{} up, {}/{} down (lost {lost_up}/{lost_down}, out of order {}, misrouted {}); \
         machine {:.0}% busy, callers+agent {:.2} cores, other work {:.2} cores; {}+{} frames timed over {:.1}s, {:.1}% of real-time pace; ramp-up {:.1}s",
        r.calls,
        name(r.path),
        ms(r.up.quantile(0.5)),
        ms(r.up.quantile(0.99)),
        ms(r.up.max()),
        ms(r.down.quantile(0.5)),
        ms(r.down.quantile(0.99)),
        ms(r.down.max()),
        s.cpu_ms_per_call_second,
        s.cores_used,
        s.rss_idle_kib,
        r.rss_per_call_kib(),
        s.up_received,
        s.up_sent,
        s.down_received,
        s.down_sent,
        s.out_of_order,
        s.misrouted,
        100.0 * s.machine_busy,
        s.bench_cores_used,
        s.other_cores,
        r.up.len(),
        r.down.len(),
        s.window_secs,
        100.0 * s.pace,
        s.ramp_secs,
    );
    if s.anomalies > 0 {
        println!(
            "  {} anomalies (unexpected messages or failed calls)",
            s.anomalies
        );
    }
    for failure in r.failures.iter().take(3) {
        println!("  failure: {failure}");
    }
}

/// Prints the tables and the goals; true when every run lost nothing.
pub fn summary(results: &[(usize, RunResult)]) -> bool {
    println!();
    println!("| calls | run | path | caller → agent p50 / p99 (ms) | agent → caller p50 / p99 (ms) | CPU per call-second | RSS per call | frames lost ↑ / ↓ | pace | machine busy (other work) |");
    println!("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (round, r) in results {
        let (lost_up, lost_down) = r.lost();
        println!(
            "| {} | {round} | {} | {} / {} | {} / {} | {:.3} ms | {:.1} KiB | {lost_up} / {lost_down} | {:.0}% | {:.0}% ({:.2} cores) |",
            r.calls,
            name(r.path),
            ms(r.up.quantile(0.5)),
            ms(r.up.quantile(0.99)),
            ms(r.down.quantile(0.5)),
            ms(r.down.quantile(0.99)),
            r.sample.cpu_ms_per_call_second,
            r.rss_per_call_kib(),
            100.0 * r.sample.pace,
            100.0 * r.sample.machine_busy,
            r.sample.other_cores,
        );
    }

    println!();
    println!("Bridge against the relay of the same round (added latency = bridge − relay):");
    println!();
    println!("| calls | run | added ↑ p50 / p99 (ms) | added ↓ p50 / p99 (ms) | CPU bridge / relay | user + kernel (ms), bridge / relay | RSS per call bridge / relay |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let pairs: Vec<(usize, &RunResult, &RunResult)> = results
        .iter()
        .filter(|(_, r)| r.path == Path::Bridge)
        .filter_map(|(round, bridge)| {
            results
                .iter()
                .find(|(other, r)| {
                    other == round && r.path == Path::Relay && r.calls == bridge.calls
                })
                .map(|(_, relay)| (*round, bridge, relay))
        })
        .collect();
    let added =
        |a: Duration, b: Duration| format!("{:+.2}", (a.as_secs_f64() - b.as_secs_f64()) * 1e3);
    for (round, bridge, relay) in &pairs {
        println!(
            "| {} | {round} | {} / {} | {} / {} | {:.2}× ({:.3} / {:.3} ms) | {} / {} | {:.1} / {:.1} KiB |",
            bridge.calls,
            added(bridge.up.quantile(0.5), relay.up.quantile(0.5)),
            added(bridge.up.quantile(0.99), relay.up.quantile(0.99)),
            added(bridge.down.quantile(0.5), relay.down.quantile(0.5)),
            added(bridge.down.quantile(0.99), relay.down.quantile(0.99)),
            bridge.sample.cpu_ms_per_call_second / relay.sample.cpu_ms_per_call_second.max(1e-9),
            bridge.sample.cpu_ms_per_call_second,
            relay.sample.cpu_ms_per_call_second,
            bridge.sample.split(),
            relay.sample.split(),
            bridge.rss_per_call_kib(),
            relay.rss_per_call_kib(),
        );
    }

    println!();
    memory_slopes(results);
    println!();
    let bridges: Vec<&RunResult> = results
        .iter()
        .map(|(_, r)| r)
        .filter(|r| r.path == Path::Bridge)
        .collect();
    let at_goal: Vec<&&RunResult> = bridges
        .iter()
        .filter(|r| r.calls == LATENCY_GOAL_CALLS)
        .collect();
    match at_goal.iter().map(|r| r.worst_p99()).max() {
        Some(worst) => {
            let relay_worst = pairs
                .iter()
                .filter(|(_, b, _)| b.calls == LATENCY_GOAL_CALLS)
                .map(|(_, _, relay)| relay.worst_p99())
                .max()
                .unwrap_or_default();
            println!(
                "latency: p99 at {LATENCY_GOAL_CALLS} calls, worse direction of the worse run: {} ms through the bridge \
                 (the relay: {} ms) — goal under {} ms: {}",
                ms(worst),
                ms(relay_worst),
                ms(LATENCY_GOAL),
                verdict_beside_relay(worst < LATENCY_GOAL, relay_worst < LATENCY_GOAL)
            );
        }
        None => println!("latency: {LATENCY_GOAL_CALLS} calls were not run; goal not measured"),
    }
    let mut sizes: Vec<usize> = bridges.iter().map(|r| r.calls).collect();
    sizes.dedup();
    for calls in sizes {
        let worst = bridges
            .iter()
            .filter(|r| r.calls == calls)
            .map(|r| r.sample.cpu_ms_per_call_second)
            .fold(0.0, f64::max);
        // Two bare WebSocket hops are a floor no bridge goes under, and their cost moves with
        // the machine's speed from hour to hour: the verdict says what the floor was.
        let relay_worst = pairs
            .iter()
            .filter(|(_, b, _)| b.calls == calls)
            .map(|(_, _, relay)| relay.sample.cpu_ms_per_call_second)
            .fold(0.0, f64::max);
        println!(
            "CPU at {calls} calls, worse run: {worst:.3} ms per call-second (the relay's worse run: \
             {relay_worst:.3} ms) — goal at most {CPU_GOAL_MS} ms: {}",
            verdict_beside_relay(worst <= CPU_GOAL_MS, relay_worst <= CPU_GOAL_MS)
        );
    }
    let clean = results.iter().all(|(_, r)| r.clean());
    println!(
        "nothing lost, reordered or misrouted, no call failed, in every run: {}",
        verdict(clean)
    );
    clean
}

/// Memory per added call from the smallest to the largest call count (mean of the rounds): less
/// noisy than one run's growth over the idle process, which includes what the allocator keeps.
fn memory_slopes(results: &[(usize, RunResult)]) {
    for path in [Path::Bridge, Path::Relay] {
        let runs: Vec<&RunResult> = results
            .iter()
            .map(|(_, r)| r)
            .filter(|r| r.path == path)
            .collect();
        let (Some(fewest), Some(most)) = (
            runs.iter().map(|r| r.calls).min(),
            runs.iter().map(|r| r.calls).max(),
        ) else {
            continue;
        };
        if fewest == most {
            continue;
        }
        let mean_rss = |calls: usize| {
            let at: Vec<f64> = runs
                .iter()
                .filter(|r| r.calls == calls)
                .map(|r| r.sample.rss_kib as f64)
                .collect();
            at.iter().sum::<f64>() / at.len() as f64
        };
        println!(
            "memory per added call, {fewest} → {most} calls, {}: {:.1} KiB",
            name(path),
            (mean_rss(most) - mean_rss(fewest)) / (most - fewest) as f64
        );
    }
}

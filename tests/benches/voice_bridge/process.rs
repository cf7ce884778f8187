//! The processes under measurement (the `callassist serve` binary, the baseline relay) and
//! what Linux says about them: CPU time from `/proc/<pid>/stat` (utime + stime, every
//! thread), resident memory from `/proc/<pid>/status`, and the machine's busy time from
//! `/proc/stat`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};

use crate::probe::lock;

/// How long a process may take to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping process may take after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Output lines kept for the error message of a failed run.
const KEPT_LINES: usize = 40;

/// A child process whose output is drained (and its last lines kept).
pub struct Child {
    child: std::process::Child,
    output: Arc<Mutex<VecDeque<String>>>,
}

impl Child {
    /// Spawns `command` and waits until it prints a line starting with `ready`; returns the
    /// rest of that line.
    pub fn spawn(mut command: Command, ready: &str) -> anyhow::Result<(Self, String)> {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {command:?}"))?;
        let output = Arc::new(Mutex::new(VecDeque::new()));
        let (lines, seen) = mpsc::channel::<String>();
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        drain(stdout, output.clone(), Some(lines));
        drain(stderr, output.clone(), None);
        let started = Instant::now();
        let rest = loop {
            let left = START_TIMEOUT.saturating_sub(started.elapsed());
            match seen.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(ready) {
                        break rest.trim().to_owned();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let last: Vec<String> = lock(&output).iter().cloned().collect();
                    anyhow::bail!(
                        "{command:?} did not say '{ready}' within {START_TIMEOUT:?}; its last lines:\n{}",
                        last.join("\n")
                    );
                }
            }
        };
        Ok((Self { child, output }, rest))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its last output lines.
    pub fn last_lines(&self) -> String {
        lock(&self.output)
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Fails if it has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!(
                "the process exited ({status}); its last lines:\n{}",
                self.last_lines()
            );
        }
        Ok(())
    }

    /// SIGTERM, then SIGKILL if it takes too long.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < STOP_TIMEOUT {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn drain(
    from: impl Read + Send + 'static,
    kept: Arc<Mutex<VecDeque<String>>>,
    lines: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            {
                let mut kept = lock(&kept);
                if kept.len() == KEPT_LINES {
                    kept.pop_front();
                }
                kept.push_back(line.clone());
            }
            if let Some(lines) = &lines {
                let _ = lines.send(line);
            }
        }
    });
}

/// A process' CPU time and resident memory at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// User and kernel time together.
    pub cpu: Duration,
    /// Kernel time alone (system calls, and the TCP work of the loopback peer a send delivers
    /// to, which Linux does in the sender's system call).
    pub kernel: Duration,
    pub rss_kib: u64,
}

/// Reads `/proc/<pid>` (`self` for this process).
pub fn usage(pid: &str, clock_ticks: u64) -> anyhow::Result<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After ')': state is field 3, utime 14, stime 15.
    let ticks = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| anyhow!("/proc/{pid}/stat has no field {}", index + 3))
    };
    let (user_ticks, kernel_ticks) = (ticks(11)?, ticks(12)?);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("/proc/{pid}/status has no VmRSS"))?;
    let seconds = |ticks: u64| Duration::from_secs_f64(ticks as f64 / clock_ticks as f64);
    Ok(Usage {
        cpu: seconds(user_ticks + kernel_ticks),
        kernel: seconds(kernel_ticks),
        rss_kib,
    })
}

/// The machine's CPU time: busy and total, in ticks over all cores.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    busy: u64,
    total: u64,
}

impl Machine {
    pub fn read() -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string("/proc/stat")?;
        let line = stat
            .lines()
            .find(|line| line.starts_with("cpu "))
            .context("/proc/stat has no cpu line")?;
        let values: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|value| value.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        let field = |index: usize| values.get(index).copied().unwrap_or(0);
        let idle = field(3) + field(4);
        let total: u64 = (0..8).map(field).sum();
        Ok(Self {
            busy: total - idle,
            total,
        })
    }

    /// The share of all cores that was busy between `earlier` and `self`.
    pub fn busy_since(&self, earlier: &Self) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return 0.0;
        }
        self.busy.saturating_sub(earlier.busy) as f64 / total as f64
    }
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux unless configured otherwise).
pub fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}

/// The soft limit on open files of this process (children inherit it).
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The number of cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

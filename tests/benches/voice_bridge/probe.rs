//! The probes: every 20 ms frame carries, in its first 24 audio bytes, which stream it belongs
//! to, its sequence number and when it was sent (on the bench process' clock). Payloads go
//! through the bridge untouched, so the receiving fake reads them back and knows the frame's
//! one-way latency, whether it arrived in order and on the right stream. [`Tally`] counts what
//! was sent and received both ways and keeps the latencies of the measurement window.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Bytes of one 20 ms μ-law frame.
pub const FRAME_BYTES: usize = 160;
/// Bytes of the probe at the start of a frame (a multiple of 3: it is 32 base64 characters,
/// and the rest of the frame's base64 does not depend on it).
const PROBE_BYTES: usize = 24;
const PROBE_CHARS: usize = PROBE_BYTES / 3 * 4;
const MAGIC: [u8; 4] = *b"VBp1";
/// μ-law silence, the rest of every frame.
const SILENCE: u8 = 0xFF;

/// Nanoseconds on the bench process' clock.
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The base64 of a frame whose probe says `stream`, `seq` and `sent_ns`: 216 characters.
pub fn payload(stream: u32, seq: u64, sent_ns: u64) -> String {
    static TAIL: OnceLock<String> = OnceLock::new();
    let tail = TAIL.get_or_init(|| STANDARD.encode([SILENCE; FRAME_BYTES - PROBE_BYTES]));
    let mut probe = [0_u8; PROBE_BYTES];
    probe[..4].copy_from_slice(&MAGIC);
    probe[4..8].copy_from_slice(&stream.to_le_bytes());
    probe[8..16].copy_from_slice(&seq.to_le_bytes());
    probe[16..24].copy_from_slice(&sent_ns.to_le_bytes());
    let mut out = String::with_capacity(PROBE_CHARS + tail.len());
    STANDARD.encode_string(probe, &mut out);
    out.push_str(tail);
    out
}

/// What a probe says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub stream: u32,
    pub seq: u64,
    pub sent_ns: u64,
}

/// The probe of the first base64 string after one of `markers` in a text frame, if any:
/// `"audio":"` (an `input_audio_buffer.append`), `"payload":"` (a Twilio `media`) or
/// `"delta":"` (an OpenAI audio delta). No JSON parsing: the fakes must stay cheap.
pub fn find(text: &str, markers: &[&str]) -> Option<Probe> {
    let start = markers
        .iter()
        .find_map(|marker| text.find(marker).map(|at| at + marker.len()))?;
    let chars = text.get(start..start + PROBE_CHARS)?;
    let mut bytes = [0_u8; PROBE_BYTES];
    let decoded = STANDARD.decode_slice(chars, &mut bytes).ok()?;
    if decoded != PROBE_BYTES || bytes[..4] != MAGIC {
        return None;
    }
    let word = |range: std::ops::Range<usize>| {
        let mut le = [0_u8; 8];
        le.copy_from_slice(&bytes[range]);
        u64::from_le_bytes(le)
    };
    let mut stream = [0_u8; 4];
    stream.copy_from_slice(&bytes[4..8]);
    Some(Probe {
        stream: u32::from_le_bytes(stream),
        seq: word(8..16),
        sent_ns: word(16..24),
    })
}

/// One direction of one call, as its receiver sees it.
#[derive(Debug, Default)]
pub struct Receiver {
    stream: Option<u32>,
    next_seq: u64,
    /// Latencies (ns) of the frames sent during the window.
    pub latencies: Vec<u64>,
}

impl Receiver {
    /// Checks `probe` against what came before on this socket and counts it in `direction`.
    pub fn receive(&mut self, probe: Probe, direction: &Direction, window: &Window) {
        let now = now_ns();
        direction.received.fetch_add(1, Ordering::Relaxed);
        match self.stream {
            None => self.stream = Some(probe.stream),
            Some(stream) if stream != probe.stream => {
                direction.misrouted.fetch_add(1, Ordering::Relaxed);
            }
            Some(_) => {}
        }
        if probe.seq != self.next_seq {
            direction.out_of_order.fetch_add(1, Ordering::Relaxed);
        }
        self.next_seq = probe.seq + 1;
        if window.contains(probe.sent_ns) {
            self.latencies.push(now.saturating_sub(probe.sent_ns));
        }
    }

    /// Hands the latencies over to `direction` (once the socket is done).
    pub fn finish(self, direction: &Direction) {
        if !self.latencies.is_empty() {
            lock(&direction.latencies).extend(self.latencies);
        }
    }
}

/// Counts of one direction over all calls.
#[derive(Debug, Default)]
pub struct Direction {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    /// Frames whose sequence number was not the next one on their socket.
    pub out_of_order: AtomicU64,
    /// Frames that arrived on another call's socket.
    pub misrouted: AtomicU64,
    latencies: Mutex<Vec<u64>>,
}

impl Direction {
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }

    /// The window's latencies, sorted.
    pub fn take_latencies(&self) -> Latencies {
        let mut values = std::mem::take(&mut *lock(&self.latencies));
        values.sort_unstable();
        Latencies(values)
    }
}

/// The measurement window, in [`now_ns`] time; frames sent outside it are counted (for losses)
/// but their latency is not kept.
#[derive(Debug)]
pub struct Window {
    start: AtomicU64,
    end: AtomicU64,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            start: AtomicU64::new(u64::MAX),
            end: AtomicU64::new(u64::MAX),
        }
    }
}

impl Window {
    pub fn open(&self) {
        self.start.store(now_ns(), Ordering::SeqCst);
    }

    pub fn close(&self) {
        self.end.store(now_ns(), Ordering::SeqCst);
    }

    fn contains(&self, at: u64) -> bool {
        at >= self.start.load(Ordering::Relaxed) && at < self.end.load(Ordering::Relaxed)
    }
}

/// Everything one scenario run counts.
#[derive(Debug, Default)]
pub struct Tally {
    /// Caller → OpenAI (Twilio `media` in, `input_audio_buffer.append` out).
    pub up: Direction,
    /// OpenAI → caller (audio delta in, Twilio `media` out).
    pub down: Direction,
    pub window: Window,
    /// Calls whose caller has heard agent audio.
    pub hearing: AtomicUsize,
    /// Realtime sessions open at the fake.
    pub sessions_open: AtomicUsize,
    /// Realtime sessions opened at the fake so far.
    pub sessions_opened: AtomicUsize,
    /// Callers whose socket is still open.
    pub callers_open: AtomicUsize,
    /// Protocol surprises (unexpected close, unreadable frame…), for the report.
    pub anomalies: AtomicU64,
}

/// Sorted latencies, in ns.
#[derive(Debug, Default, Clone)]
pub struct Latencies(Vec<u64>);

impl Latencies {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Nearest-rank quantile.
    pub fn quantile(&self, q: f64) -> Duration {
        let n = self.0.len();
        if n == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        Duration::from_nanos(self.0[rank - 1])
    }

    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.0.last().copied().unwrap_or(0))
    }
}

pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The probe reads back from every message shape it travels in (a bench with `harness = false`
/// runs no unit tests, so it checks this at start).
pub fn self_check() -> anyhow::Result<()> {
    let payload = payload(7, 42, 123_456_789);
    anyhow::ensure!(
        payload.len() == 216,
        "a frame is {} base64 characters",
        payload.len()
    );
    let expected = Probe {
        stream: 7,
        seq: 42,
        sent_ns: 123_456_789,
    };
    for text in [
        format!(r#"{{"type":"input_audio_buffer.append","audio":"{payload}"}}"#),
        format!(r#"{{"event":"media","media":{{"payload":"{payload}"}}}}"#),
        format!(r#"{{"type":"response.output_audio.delta","delta":"{payload}"}}"#),
    ] {
        let found = find(&text, &[r#""audio":""#, r#""payload":""#, r#""delta":""#]);
        anyhow::ensure!(found == Some(expected), "probe not read back from {text}");
    }
    Ok(())
}

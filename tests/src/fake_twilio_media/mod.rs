//! Twilio's side of a Media Stream, played against our server (PROTOCOLS.md §2 and §5).
//!
//! [`MediaStreamClient`] opens `GET /twilio/media-stream` as Twilio does — with
//! `X-Twilio-Signature` over the public `wss://` URL of the `<Stream>` — sends `connected` and
//! `start`, then a 20 ms `media` frame of synthetic μ-law every 20 ms until told otherwise.
//! Like Twilio it buffers the agent audio our server sends and "plays" it in real time: each
//! `mark` is echoed once the audio sent before it has played; a `clear` drops the unplayed
//! audio and its pending marks (which are never echoed). Everything the server sends is
//! recorded with its time, and anything Twilio would not accept is recorded as a violation.
//!
//! The wire format is written here from PROTOCOLS.md, independently of the product's own
//! types, so the tests check the product rather than mirror it. One task per connection.

mod audio;
pub(crate) mod changes;
mod connection;
mod playout;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use infrastructure::twilio::signature::{Algorithm, Body, Signer};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub use audio::{linear_to_ulaw, AudioSource, FrameSource, FRAME_BYTES, SILENCE};
pub use playout::{audio_duration, Dropped, Playout};

use changes::Changes;

/// How the handshake is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureMode {
    /// HMAC-SHA1 of the public `wss://` URL with the auth token, as Twilio signs.
    Valid,
    /// No `X-Twilio-Signature` header.
    Missing,
    /// This header value, whatever it is.
    Given(String),
}

/// Everything about one stream; [`MediaStreamOptions::new`] fills in Twilio's defaults.
#[derive(Debug, Clone)]
pub struct MediaStreamOptions {
    /// Where to connect: `ws://127.0.0.1:PORT/twilio/media-stream`.
    pub server_ws_url: String,
    /// The URL Twilio was given in `<Stream url>` and signs: `wss://public.host/twilio/media-stream`.
    pub public_wss_url: String,
    /// The auth token to sign with.
    pub auth_token: String,
    /// How to sign.
    pub signature: SignatureMode,
    /// `start.accountSid`.
    pub account_sid: String,
    /// `start.callSid`.
    pub call_sid: String,
    /// `streamSid` (`MZ` + 32 hex).
    pub stream_sid: String,
    /// `start.customParameters`, in order.
    pub custom_parameters: Vec<(String, String)>,
    /// What the caller's microphone sends.
    pub source: AudioSource,
    /// Whether `media` frames start right after `start` (otherwise call `start_media`).
    pub send_media: bool,
}

impl MediaStreamOptions {
    /// A stream of `call_sid` under the test account, sending silence from the start.
    #[must_use]
    pub fn new(
        server_ws_url: &str,
        public_wss_url: &str,
        auth_token: &str,
        call_sid: &str,
    ) -> Self {
        Self {
            server_ws_url: server_ws_url.to_owned(),
            public_wss_url: public_wss_url.to_owned(),
            auth_token: auth_token.to_owned(),
            signature: SignatureMode::Valid,
            account_sid: crate::TEST_ACCOUNT_SID.to_owned(),
            call_sid: call_sid.to_owned(),
            stream_sid: format!("MZ{}", uuid::Uuid::new_v4().simple()),
            custom_parameters: Vec::new(),
            source: AudioSource::Silence,
            send_media: true,
        }
    }
}

/// A message our server sent, as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Time since the connection opened.
    pub at: Duration,
    /// The parsed message; a `media` payload is replaced by `"payload_bytes": n` (the bytes
    /// are in [`MediaLog::audio`]).
    pub message: serde_json::Value,
}

/// A `clear` our server sent.
#[derive(Debug, Clone)]
pub struct Clear {
    /// Time since the connection opened.
    pub at: Duration,
    /// Audio that had not played and was dropped.
    pub dropped_audio: Duration,
    /// Marks that were pending and will never be echoed.
    pub dropped_marks: Vec<String>,
}

/// How the stream ended.
#[derive(Debug, Clone)]
pub struct Closed {
    /// Time since the connection opened.
    pub at: Duration,
    /// True when this side ended it (`stop`, `drop_connection`).
    pub by_us: bool,
    /// The close code the server sent, if it sent a close frame.
    pub code: Option<u16>,
    /// The close reason, or the error that ended the socket.
    pub reason: String,
}

/// Everything recorded on one stream.
#[derive(Debug, Default)]
pub struct MediaLog {
    /// Every message from the server, in order.
    pub received: Vec<Received>,
    /// Every agent audio byte received (decoded `media` payloads), in order.
    pub audio: Vec<u8>,
    /// Marks the server sent: name and time.
    pub marks_received: Vec<(String, Duration)>,
    /// Marks echoed back after their audio played: name and time.
    pub marks_echoed: Vec<(String, Duration)>,
    /// The `clear`s received.
    pub clears: Vec<Clear>,
    /// Total audio dropped by `clear`s.
    pub dropped_audio: Duration,
    /// What Twilio would have rejected or ignored (wrong streamSid, bad JSON, unknown event…).
    pub violations: Vec<String>,
    /// `media` frames sent.
    pub frames_sent: u64,
    /// Inbound audio bytes sent.
    pub bytes_sent: u64,
    /// `media.timestamp` of the latest frame sent (ms since `start`).
    pub last_timestamp_ms: u64,
    /// DTMF digits sent.
    pub dtmf_sent: Vec<char>,
    /// Set once the socket is closed.
    pub closed: Option<Closed>,
    playout: Playout,
}

impl MediaLog {
    /// Agent audio received, in ms (bytes / 8).
    #[must_use]
    pub fn received_audio_ms(&self) -> u64 {
        self.audio.len() as u64 / 8
    }

    /// The messages received with this `event`.
    #[must_use]
    pub fn events_of(&self, event: &str) -> Vec<&serde_json::Value> {
        self.received
            .iter()
            .map(|received| &received.message)
            .filter(|message| message["event"] == event)
            .collect()
    }

    /// Names of the marks echoed, in order.
    #[must_use]
    pub fn echoed_names(&self) -> Vec<String> {
        self.marks_echoed
            .iter()
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// State shared between the client handle and its connection task.
pub(crate) struct Shared {
    log: Mutex<MediaLog>,
    changes: Changes,
    opened: Instant,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, MediaLog> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the log and wakes the waiters.
    pub(crate) fn update<T>(&self, change: impl FnOnce(&mut MediaLog, Duration) -> T) -> T {
        let at = self.opened.elapsed();
        let result = change(&mut self.lock(), at);
        self.changes.bump();
        result
    }
}

/// What the test asks the connection task to do.
#[derive(Debug)]
pub(crate) enum Command {
    Source(AudioSource),
    Media(bool),
    Dtmf(char),
    Raw(String),
    Stop,
    Drop,
}

/// Twilio's side of one Media Stream, connected to our server.
pub struct MediaStreamClient {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
    stream_sid: String,
    call_sid: String,
}

impl MediaStreamClient {
    /// Opens the stream as Twilio does and sends `connected`, `start` and then silence every
    /// 20 ms.
    ///
    /// # Errors
    /// The handshake error: `tungstenite::Error::Http(response)` when the server refuses it.
    pub async fn connect(
        server_ws_url: &str,
        public_wss_url: &str,
        auth_token: &str,
        call_sid: &str,
        custom_parameters: &[(&str, &str)],
    ) -> Result<Self, tungstenite::Error> {
        let mut options =
            MediaStreamOptions::new(server_ws_url, public_wss_url, auth_token, call_sid);
        options.custom_parameters = custom_parameters
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Self::connect_with(options).await
    }

    /// As [`MediaStreamClient::connect`], with every option.
    ///
    /// # Errors
    /// The handshake error: `tungstenite::Error::Http(response)` when the server refuses it.
    pub async fn connect_with(options: MediaStreamOptions) -> Result<Self, tungstenite::Error> {
        let mut request = options.server_ws_url.as_str().into_client_request()?;
        let signature = match &options.signature {
            SignatureMode::Valid => Some(Signer::new(options.auth_token.clone().into()).sign(
                Algorithm::HmacSha1,
                &options.public_wss_url,
                &Body::None,
            )),
            SignatureMode::Missing => None,
            SignatureMode::Given(value) => Some(value.clone()),
        };
        let headers = request.headers_mut();
        if let Some(signature) = signature {
            let value = tungstenite::http::HeaderValue::from_str(&signature)
                .map_err(|err| tungstenite::Error::HttpFormat(err.into()))?;
            headers.insert("X-Twilio-Signature", value);
        }
        headers.insert(
            "User-Agent",
            tungstenite::http::HeaderValue::from_static("Twilio.TmeWs/1.0"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        let shared = Arc::new(Shared {
            log: Mutex::new(MediaLog::default()),
            changes: Changes::default(),
            opened: Instant::now(),
        });
        let (commands, receiver) = mpsc::unbounded_channel();
        let stream_sid = options.stream_sid.clone();
        let call_sid = options.call_sid.clone();
        let task = tokio::spawn(connection::run(ws, Arc::clone(&shared), receiver, options));
        Ok(Self {
            shared,
            commands,
            task,
            stream_sid,
            call_sid,
        })
    }

    /// Its `streamSid`.
    #[must_use]
    pub fn stream_sid(&self) -> &str {
        &self.stream_sid
    }

    /// Its `callSid`.
    #[must_use]
    pub fn call_sid(&self) -> &str {
        &self.call_sid
    }

    /// Switches the caller's microphone (silence, a tone).
    pub fn set_source(&self, source: AudioSource) {
        let _ = self.commands.send(Command::Source(source));
    }

    /// Starts (again) sending a `media` frame every 20 ms.
    pub fn start_media(&self) {
        let _ = self.commands.send(Command::Media(true));
    }

    /// Stops sending `media` frames (the socket stays open).
    pub fn stop_media(&self) {
        let _ = self.commands.send(Command::Media(false));
    }

    /// Sends a `dtmf` message for `digit`.
    pub fn send_dtmf(&self, digit: char) {
        let _ = self.commands.send(Command::Dtmf(digit));
    }

    /// Sends this text frame as it is (malformed and unknown messages).
    pub fn send_raw(&self, text: impl Into<String>) {
        let _ = self.commands.send(Command::Raw(text.into()));
    }

    /// Sends `stop`, closes the socket and waits (up to 5 s) until it is closed.
    pub async fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
        self.wait_closed(Duration::from_secs(5)).await;
    }

    /// Closes the TCP connection without `stop` or a close frame (Twilio vanished).
    pub async fn drop_connection(&self) {
        let _ = self.commands.send(Command::Drop);
        self.wait_closed(Duration::from_secs(5)).await;
    }

    /// Reads the log.
    pub fn with_log<T>(&self, read: impl FnOnce(&MediaLog) -> T) -> T {
        read(&self.shared.lock())
    }

    /// Agent audio received, in ms (bytes / 8).
    #[must_use]
    pub fn received_audio_ms(&self) -> u64 {
        self.with_log(MediaLog::received_audio_ms)
    }

    /// Every agent audio byte received, in order.
    #[must_use]
    pub fn received_audio(&self) -> Vec<u8> {
        self.with_log(|log| log.audio.clone())
    }

    /// Agent audio the caller has heard by now: received, minus dropped, minus still queued.
    #[must_use]
    pub fn played_audio_ms(&self) -> u64 {
        self.with_log(|log| {
            let unheard = log.dropped_audio + log.playout.buffered(Instant::now());
            (audio_duration(log.audio.len()).saturating_sub(unheard)).as_millis() as u64
        })
    }

    /// Agent audio queued and not yet played.
    #[must_use]
    pub fn buffered_audio(&self) -> Duration {
        self.with_log(|log| log.playout.buffered(Instant::now()))
    }

    /// The `clear`s received.
    #[must_use]
    pub fn clears(&self) -> Vec<Clear> {
        self.with_log(|log| log.clears.clone())
    }

    /// Marks received from the server: name and time.
    #[must_use]
    pub fn marks_received(&self) -> Vec<(String, Duration)> {
        self.with_log(|log| log.marks_received.clone())
    }

    /// Marks echoed back: name and time.
    #[must_use]
    pub fn marks_echoed(&self) -> Vec<(String, Duration)> {
        self.with_log(|log| log.marks_echoed.clone())
    }

    /// Every message received (media payloads elided).
    #[must_use]
    pub fn received(&self) -> Vec<Received> {
        self.with_log(|log| log.received.clone())
    }

    /// What Twilio would have rejected; empty when the server spoke the protocol.
    #[must_use]
    pub fn violations(&self) -> Vec<String> {
        self.with_log(|log| log.violations.clone())
    }

    /// `media.timestamp` of the latest frame sent.
    #[must_use]
    pub fn last_timestamp_ms(&self) -> u64 {
        self.with_log(|log| log.last_timestamp_ms)
    }

    /// `media` frames sent so far.
    #[must_use]
    pub fn frames_sent(&self) -> u64 {
        self.with_log(|log| log.frames_sent)
    }

    /// How the socket closed, once it has.
    #[must_use]
    pub fn closed(&self) -> Option<Closed> {
        self.with_log(|log| log.closed.clone())
    }

    /// Waits until `predicate` holds on the log.
    ///
    /// # Panics
    /// After `timeout`, with a summary of the log.
    pub async fn wait_for(&self, predicate: impl Fn(&MediaLog) -> bool, timeout: Duration) {
        let met = self
            .shared
            .changes
            .wait_until(|| predicate(&self.shared.lock()), timeout)
            .await;
        if !met {
            let summary = self.with_log(|log| {
                let events: Vec<_> = log
                    .received
                    .iter()
                    .rev()
                    .take(30)
                    .map(|received| received.message["event"].to_string())
                    .collect();
                format!(
                    "received {} messages (latest first: {events:?}), {} ms of audio, marks echoed {:?}, \
                     {} clears, closed {:?}, violations {:?}",
                    log.received.len(),
                    log.received_audio_ms(),
                    log.echoed_names(),
                    log.clears.len(),
                    log.closed,
                    log.violations
                )
            });
            panic!("media stream: condition not met within {timeout:?}: {summary}");
        }
    }

    /// Waits until the socket is closed (by either side); returns how.
    ///
    /// # Panics
    /// When it is still open after `timeout`.
    pub async fn wait_closed(&self, timeout: Duration) -> Closed {
        self.wait_for(|log| log.closed.is_some(), timeout).await;
        self.closed()
            .unwrap_or_else(|| unreachable!("closed was just seen"))
    }
}

impl Drop for MediaStreamClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

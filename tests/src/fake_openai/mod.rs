//! A fake OpenAI Realtime server (WebSocket), for the voice bridge's end-to-end tests.
//!
//! [`FakeRealtime`] listens on `127.0.0.1:0` and plays the Realtime API as PROTOCOLS.md §6
//! describes it — the GA interface by default, the beta one by option: it checks the
//! `Authorization: Bearer` key on the upgrade, sends `session.created`, answers
//! `session.update` with `session.updated`, plays a scripted audio response (μ-law deltas of
//! 160 bytes, 20 ms each, paced in real time or as fast as possible) on `response.create`,
//! refuses a `response.cancel` with nothing in progress as the real API does, and records
//! every client event. A [`RealtimeSession`] handle per connection lets a test inject what
//! the real server would send: speech started (cancelling the response in progress, as
//! `interrupt_response` does), caller transcripts, function calls, errors, expiry, a dropped
//! socket. Failure modes refuse the upgrade, hang it, or drop the socket after N events.
//!
//! The wire format is written here from PROTOCOLS.md and the vendor's documentation,
//! independently of the product's own types, so the tests check the product rather than
//! mirror it. What the real server would refuse or do differently is recorded per session as
//! a violation ([`RealtimeSession::violations`]). One task per connection, no polling.

mod handle;
mod session;
mod wire;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http;

pub use handle::{Handshake, RealtimeSession, SessionRecord};
pub use wire::Interface;

use crate::fake_twilio_media::changes::Changes;
use handle::SessionShared;

/// The key the fake accepts unless told otherwise.
pub const FAKE_OPENAI_KEY: &str = "sk-test-fake-openai-key";

/// How the server treats connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Serve sessions.
    Serve,
    /// Refuse every upgrade with this HTTP status (and an OpenAI error body).
    RefuseConnect(u16),
    /// Accept the TCP connection and never answer the upgrade.
    Hang,
    /// Serve, then drop the socket (no close frame) after this many client events.
    DropAfter(usize),
}

/// How fast a response's audio deltas go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// One 20 ms delta every 20 ms.
    RealTime,
    /// As fast as the socket takes them (still one at a time, so client events interleave).
    Fast,
}

/// One audio response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedResponse {
    /// Audio deltas of 160 bytes (20 ms) each.
    pub audio_chunks: usize,
    /// What the agent says (the audio transcript).
    pub transcript: String,
}

impl ScriptedResponse {
    /// `chunks` × 20 ms of audio saying `transcript`.
    #[must_use]
    pub fn new(chunks: usize, transcript: &str) -> Self {
        Self {
            audio_chunks: chunks,
            transcript: transcript.to_owned(),
        }
    }
}

/// How the fake behaves; `Behaviour::default()` serves GA sessions in real time.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// The key the upgrade must carry (`Authorization: Bearer <key>`); another → 401.
    pub api_key: String,
    /// GA or beta.
    pub interface: Interface,
    /// Serve, refuse, hang, or drop.
    pub mode: Mode,
    /// How audio deltas are paced.
    pub pacing: Pacing,
    /// The responses, in order of creation (`response.create`, VAD); after the last one, a
    /// response of [`Behaviour::audio_chunks`] saying [`Behaviour::transcript`].
    pub script: Vec<ScriptedResponse>,
    /// Audio deltas of an unscripted response.
    pub audio_chunks: usize,
    /// Transcript of an unscripted response.
    pub transcript: String,
    /// Keep audio in the record (appended bytes, payloads of recorded events); turn off for
    /// many long calls.
    pub record_audio: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            api_key: FAKE_OPENAI_KEY.to_owned(),
            interface: Interface::Ga,
            mode: Mode::Serve,
            pacing: Pacing::RealTime,
            script: Vec::new(),
            audio_chunks: 25,
            transcript: "Thanks for calling. How can I help you today?".to_owned(),
            record_audio: true,
        }
    }
}

impl Behaviour {
    /// The default behaviour on the beta interface.
    #[must_use]
    pub fn beta() -> Self {
        Self {
            interface: Interface::Beta,
            ..Self::default()
        }
    }

    /// The default behaviour in this mode.
    #[must_use]
    pub fn mode(mode: Mode) -> Self {
        Self {
            mode,
            ..Self::default()
        }
    }

    pub(crate) fn default_response(&self) -> ScriptedResponse {
        ScriptedResponse::new(self.audio_chunks, &self.transcript)
    }
}

struct ServerShared {
    behaviour: Arc<Behaviour>,
    sessions: Mutex<Vec<RealtimeSession>>,
    refusals: Mutex<Vec<u16>>,
    attempts: AtomicUsize,
    hanging: AtomicUsize,
    changes: Changes,
}

/// The fake Realtime server; stops (closing every socket) when dropped.
pub struct FakeRealtime {
    address: SocketAddr,
    shared: Arc<ServerShared>,
    shutdown: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl FakeRealtime {
    /// Starts listening on a free port.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake OpenAI binds a port");
        let address = listener.local_addr().expect("bound address");
        let shared = Arc::new(ServerShared {
            behaviour: Arc::new(behaviour),
            sessions: Mutex::new(Vec::new()),
            refusals: Mutex::new(Vec::new()),
            attempts: AtomicUsize::new(0),
            hanging: AtomicUsize::new(0),
            changes: Changes::default(),
        });
        let (shutdown, stopped) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        Self {
            address,
            shared,
            shutdown,
            accept,
        }
    }

    /// `ws://127.0.0.1:PORT/v1/realtime?model=gpt-realtime` (for `OPENAI_REALTIME_URL`).
    #[must_use]
    pub fn url(&self) -> String {
        let model = match self.shared.behaviour.interface {
            Interface::Ga => "gpt-realtime",
            Interface::Beta => "gpt-4o-realtime-preview",
        };
        format!("ws://{}/v1/realtime?model={model}", self.address)
    }

    /// The key it accepts.
    #[must_use]
    pub fn api_key(&self) -> &str {
        &self.shared.behaviour.api_key
    }

    /// TCP connections accepted so far (sessions, refusals and hung ones alike).
    #[must_use]
    pub fn connection_attempts(&self) -> usize {
        self.shared.attempts.load(Ordering::SeqCst)
    }

    /// HTTP statuses of the upgrades refused so far (bad key, wrong path, `RefuseConnect`).
    #[must_use]
    pub fn refusals(&self) -> Vec<u16> {
        lock(&self.shared.refusals).clone()
    }

    /// Every session opened so far, in order.
    #[must_use]
    pub fn sessions(&self) -> Vec<RealtimeSession> {
        lock(&self.shared.sessions).clone()
    }

    /// Sessions whose socket is still open, plus connections hanging in their handshake.
    #[must_use]
    pub fn open_connections(&self) -> usize {
        let open = self
            .sessions()
            .iter()
            .filter(|session| session.closed().is_none())
            .count();
        open + self.shared.hanging.load(Ordering::SeqCst)
    }

    /// Waits for the `index`-th session (0 for the first) to open.
    ///
    /// # Panics
    /// When it has not opened within `timeout`.
    pub async fn session(&self, index: usize, timeout: Duration) -> RealtimeSession {
        self.wait_until(
            || lock(&self.shared.sessions).len() > index,
            timeout,
            || format!("session {index} not opened"),
        )
        .await;
        lock(&self.shared.sessions)[index].clone()
    }

    /// Waits until no session socket is open and no handshake hangs.
    ///
    /// # Panics
    /// When some are still open after `timeout`.
    pub async fn wait_all_closed(&self, timeout: Duration) {
        let sessions = self.sessions();
        for session in &sessions {
            let changes = &session.shared.changes;
            let closed = changes
                .wait_until(|| session.closed().is_some(), timeout)
                .await;
            assert!(
                closed,
                "fake OpenAI session {} still open after {timeout:?}",
                session.index()
            );
        }
        self.wait_until(
            || self.open_connections() == 0,
            timeout,
            || format!("{} connections still open", self.open_connections()),
        )
        .await;
    }

    async fn wait_until(
        &self,
        check: impl Fn() -> bool,
        timeout: Duration,
        what: impl Fn() -> String,
    ) {
        if !self.shared.changes.wait_until(check, timeout).await {
            panic!(
                "fake OpenAI: {} within {timeout:?} ({} connection attempts, refusals {:?})",
                what(),
                self.connection_attempts(),
                self.refusals()
            );
        }
    }
}

impl Drop for FakeRealtime {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.accept.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<ServerShared>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                shared.attempts.fetch_add(1, Ordering::SeqCst);
                shared.changes.bump();
                tokio::spawn(connection(stream, Arc::clone(&shared), stopped.clone()));
            }
        }
    }
}

/// One TCP connection: the upgrade, then the session.
async fn connection(
    stream: TcpStream,
    shared: Arc<ServerShared>,
    mut stopped: watch::Receiver<bool>,
) {
    let behaviour = Arc::clone(&shared.behaviour);
    if behaviour.mode == Mode::Hang {
        shared.hanging.fetch_add(1, Ordering::SeqCst);
        shared.changes.bump();
        hang(&stream, &mut stopped).await;
        shared.hanging.fetch_sub(1, Ordering::SeqCst);
        shared.changes.bump();
        return;
    }
    let seen: Arc<Mutex<Option<Handshake>>> = Arc::default();
    let refused: Arc<Mutex<Option<u16>>> = Arc::default();
    let callback = upgrade_callback(
        Arc::clone(&seen),
        Arc::clone(&refused),
        Arc::clone(&behaviour),
    );
    let upgraded = tokio::select! {
        _ = stopped.changed() => return,
        upgraded = tokio_tungstenite::accept_hdr_async(stream, callback) => upgraded,
    };
    if let Some(status) = *lock(&refused) {
        lock(&shared.refusals).push(status);
        shared.changes.bump();
        return;
    }
    let (Ok(ws), Some(handshake)) = (upgraded, lock(&seen).take()) else {
        return;
    };
    let (commands, receiver) = mpsc::unbounded_channel();
    let interface = behaviour.interface;
    let index;
    let session_shared = {
        let mut sessions = lock(&shared.sessions);
        index = sessions.len();
        let model = model_of(&handshake.uri, interface);
        let expires_at = (chrono::Utc::now().timestamp() + 3600).max(0) as u64;
        let session_id = session::new_id("sess");
        let session_shared = Arc::new(SessionShared {
            record: Mutex::new(SessionRecord {
                session: interface.default_session(&session_id, &model, expires_at),
                ..SessionRecord::default()
            }),
            changes: Changes::default(),
            commands,
            index,
            interface,
            handshake,
        });
        sessions.push(RealtimeSession {
            shared: Arc::clone(&session_shared),
        });
        session_shared
    };
    check_interface(&session_shared);
    shared.changes.bump();
    let task = session::Session::new(ws, Arc::clone(&session_shared), behaviour);
    task.run(receiver, stopped).await;
    shared.changes.bump();
}

/// The upgrade check: records the request, and refuses it as [`check_upgrade`] says.
#[expect(
    clippy::result_large_err,
    reason = "tungstenite fixes the callback's error type (an HTTP response)"
)]
fn upgrade_callback(
    seen: Arc<Mutex<Option<Handshake>>>,
    refused: Arc<Mutex<Option<u16>>>,
    behaviour: Arc<Behaviour>,
) -> impl FnOnce(&Request, Response) -> Result<Response, ErrorResponse> + Unpin + Send {
    move |request: &Request, response: Response| {
        *lock(&seen) = Some(handshake_of(request));
        match check_upgrade(request, &behaviour) {
            Ok(()) => Ok(response),
            Err(refusal) => {
                *lock(&refused) = Some(refusal.status().as_u16());
                Err(refusal)
            }
        }
    }
}

/// Holds a connection without answering, until the client gives up or the server stops.
async fn hang(stream: &TcpStream, stopped: &mut watch::Receiver<bool>) {
    let mut buffer = [0_u8; 1024];
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            ready = stream.readable() => {
                if ready.is_err() {
                    return;
                }
                match stream.try_read(&mut buffer) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        }
    }
}

fn handshake_of(request: &Request) -> Handshake {
    Handshake {
        uri: request.uri().to_string(),
        headers: request
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
    }
}

fn model_of(uri: &str, interface: Interface) -> String {
    uri.split_once('?')
        .and_then(|(_, query)| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("model="))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| match interface {
            Interface::Ga => "gpt-realtime".to_owned(),
            Interface::Beta => "gpt-4o-realtime-preview".to_owned(),
        })
}

/// Refuses the upgrade as the real API would: wrong path, wrong key, or the configured refusal.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the HTTP response tungstenite sends"
)]
fn check_upgrade(request: &Request, behaviour: &Behaviour) -> Result<(), ErrorResponse> {
    if request.uri().path() != "/v1/realtime" {
        return Err(refusal(
            404,
            "invalid_request_error",
            None,
            &format!("Invalid URL (GET {})", request.uri().path()),
        ));
    }
    let expected = format!("Bearer {}", behaviour.api_key);
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    if authorization != Some(expected.as_str()) {
        let shown = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .map_or("none".to_owned(), |key| {
                let tail: String = key
                    .chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("sk-...{tail}")
            });
        return Err(refusal(
            401,
            "invalid_request_error",
            Some("invalid_api_key"),
            &format!("Incorrect API key provided: {shown}. You can find your API key at https://platform.openai.com/account/api-keys."),
        ));
    }
    match behaviour.mode {
        Mode::RefuseConnect(status) => {
            let (kind, code, message) = match status {
                429 => (
                    "insufficient_quota",
                    Some("insufficient_quota"),
                    "You exceeded your current quota, please check your plan and billing details.",
                ),
                403 => (
                    "invalid_request_error",
                    Some("unsupported_country_region_territory"),
                    "Country, region, or territory not supported",
                ),
                _ => (
                    "server_error",
                    None,
                    "The server had an error while processing your request. Sorry about that!",
                ),
            };
            Err(refusal(status, kind, code, message))
        }
        _ => Ok(()),
    }
}

fn refusal(status: u16, kind: &str, code: Option<&str>, message: &str) -> ErrorResponse {
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    let mut response = http::Response::new(Some(body.to_string()));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The `OpenAI-Beta` header picks the interface on the real server; a mismatch with the one
/// this fake serves is the product's mistake. Compression must not be offered.
fn check_interface(session: &SessionShared) {
    let beta_header = session
        .handshake
        .header("openai-beta")
        .is_some_and(|value| value.contains("realtime=v1"));
    let mut violations = Vec::new();
    match (session.interface, beta_header) {
        (Interface::Ga, true) => {
            violations.push("OpenAI-Beta: realtime=v1 sent to a GA session".to_owned())
        }
        (Interface::Beta, false) => {
            violations.push("beta session opened without OpenAI-Beta: realtime=v1".to_owned())
        }
        _ => {}
    }
    if session
        .handshake
        .header("sec-websocket-extensions")
        .is_some_and(|value| value.contains("permessage-deflate"))
    {
        violations.push("the client offered permessage-deflate compression".to_owned());
    }
    if !violations.is_empty() {
        session.update(|record| record.violations.extend(violations));
    }
}

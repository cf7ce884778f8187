//! The voice bridge: Twilio's media stream of a call routed to the AI agent, relayed to and
//! from the business' OpenAI Realtime session (DESIGN.md "Voice bridge", PROTOCOLS.md §5–7).
//!
//! - [`socket`]: `GET /twilio/media-stream`, the signed WebSocket handshake, and the adapters
//!   that turn both WebSockets into text-frame streams and sinks.
//! - `session`: one stream from Twilio's `start` to the end: find the call and its agent, open
//!   the session, run the bridge, then hang up, transfer or fall back to voicemail.
//! - [`bridge`]: the relay loop, generic over its sockets (unit tests drive it with channels).
//! - [`playback`]: what the caller has heard of the agent, for barge-in.
//! - [`tools`]: the functions the agent may call. [`instructions`]: the agent's instructions
//!   for one call.
//! - [`recorder`]: the call's facts, appended off the audio path. [`sessions`]: how many
//!   streams are live.
//! - [`demo_agent`]: the built-in scripted Realtime server that answers instead of OpenAI for a
//!   business whose agent key is the demo placeholder (`callassist demo seed`).

pub mod bridge;
pub mod demo_agent;
pub mod instructions;
pub mod playback;
pub mod recorder;
mod session;
pub mod sessions;
pub mod socket;
pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use infrastructure::event_store::Stores;
use infrastructure::openai::realtime::Interface;
use infrastructure::twilio::rest::TwilioClient;
use infrastructure::vault::Vault;
use prometheus::IntCounterVec;
use url::Url;

pub use bridge::Limits;
pub use sessions::VoiceSessions;
pub use socket::{media_stream, upgrades, MEDIA_STREAM_PATH};

use crate::twilio::PublicUrls;
use socket::text_frames;

/// How long OpenAI may take to confirm the session before the call goes to voicemail.
pub const GREETING_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the agent's goodbye may take to play before the line is hung up anyway.
pub const GOODBYE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long Twilio may take to send `start` after opening the socket.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How the bridge talks to OpenAI and how long things may take.
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    /// `OPENAI_REALTIME_URL` (the business' model is set as its `model` parameter).
    pub realtime_url: Url,
    /// GA or beta.
    pub interface: Interface,
    /// How long the Realtime handshake may take.
    pub connect_timeout: Duration,
    /// How long loading the call and its business may take.
    pub store_timeout: Duration,
    /// How long Twilio may take to send `start`.
    pub start_timeout: Duration,
    /// Session time limits.
    pub limits: Limits,
}

/// What the media-stream handler needs (application data).
pub struct VoiceBridge {
    stores: Arc<Stores>,
    vault: Arc<Vault>,
    twilio: TwilioClient,
    urls: PublicUrls,
    settings: BridgeSettings,
    sessions: VoiceSessions,
    fallbacks: Option<IntCounterVec>,
}

impl VoiceBridge {
    /// A bridge over the write side, the vault that opens the agents' keys, and Twilio's REST
    /// API (hang-ups, redirects), handing Twilio URLs under `urls`.
    pub fn new(
        stores: Arc<Stores>,
        vault: Arc<Vault>,
        twilio: TwilioClient,
        urls: PublicUrls,
        settings: BridgeSettings,
    ) -> Self {
        Self {
            stores,
            vault,
            twilio,
            urls,
            settings,
            sessions: VoiceSessions::new(),
            fallbacks: None,
        }
    }

    /// Counts live streams in `sessions` and falls back to voicemail in `fallbacks`
    /// (by `reason`).
    pub fn with_metrics(mut self, sessions: VoiceSessions, fallbacks: IntCounterVec) -> Self {
        self.sessions = sessions;
        self.fallbacks = Some(fallbacks);
        self
    }

    /// The live streams.
    pub fn sessions(&self) -> &VoiceSessions {
        &self.sessions
    }
}

//! The AI agent's leg of a simulated call: the media stream of `<Connect><Stream>`, and what
//! Twilio does once it closes — read off the events the server recorded when `DATABASE_URL`
//! lets the simulator see them.

use std::time::Duration;

use infrastructure::twilio::signature::Signer;
use secrecy::ExposeSecret;

use super::media::{self, StreamCall, StreamReport};
use super::summary::EventLog;
use super::Simulation;

impl Simulation {
    /// The event store, when `DATABASE_URL` is set and reachable.
    pub(super) async fn event_log(&self) -> Option<EventLog> {
        let url = self.database_url.as_ref()?;
        match EventLog::connect(url.expose_secret()).await {
            Ok(log) => Some(log),
            Err(err) => {
                println!("   (the event store cannot be read: {err:#}; the summary will lack the events)\n");
                None
            }
        }
    }

    /// Plays the media stream of `<Connect><Stream url>`; returns what happened on it and
    /// whether Twilio goes on with the verbs after `</Connect>` — as it does when the socket
    /// closes, unless the server hung the call up or redirected it (Twilio REST) meanwhile.
    pub(super) async fn stream(
        &self,
        url: &str,
        parameters: &[(String, String)],
        call_sid: &str,
        signer: &Signer,
        log: Option<&EventLog>,
    ) -> anyhow::Result<(Option<StreamReport>, bool)> {
        if self.ai_seconds == 0 {
            println!("   (--ai-seconds 0: the media stream to {url} closes at once, and Twilio goes on with the\n    verbs after </Connect>.)\n");
            return Ok((None, true));
        }
        let report = media::play(StreamCall {
            server_url: self.ws_url(url),
            public_url: url,
            signer,
            account_sid: &self.account_sid,
            call_sid,
            parameters,
            limit: Duration::from_secs(self.ai_seconds),
        })
        .await?;
        let facts = match log {
            Some(log) => log.outcome(call_sid).await,
            None => None,
        };
        if !report.closed_by_server {
            return Ok((Some(report), false));
        }
        let go_on = match &facts {
            Some(facts) => facts.voicemail_after_ai || !facts.ai_started,
            None => report.agent_audio.is_zero(),
        };
        let why = match (&facts, go_on) {
            (_, true) => "Twilio goes on with the verbs after </Connect> (or the voicemail the server redirected the call to)",
            (Some(facts), false) if facts.ai_ended.as_deref().is_some_and(|r| r.contains("transferred")) => {
                "the server redirected the call to the owner through Twilio's REST API; the simulation stops there"
            }
            (Some(_), false) => "the agent ended the call: the server hangs it up through Twilio's REST API\n    (TWILIO_API_BASE), so Twilio does not go on after </Connect>",
            (None, false) => "the agent spoke, so the server presumably hung up or redirected the call (Twilio REST); without DATABASE_URL the simulator cannot tell which, and stops",
        };
        println!("   ({why}.)\n");
        Ok((Some(report), go_on))
    }

    /// The WebSocket URL of the server we talk to for a public `<Stream url>`.
    pub(super) fn ws_url(&self, public: &str) -> String {
        let path = url::Url::parse(public)
            .map(|url| url.path().to_owned())
            .unwrap_or_else(|_| "/twilio/media-stream".to_owned());
        let server = self.server.trim_end_matches('/');
        let server = match server.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}"),
            Some((_, rest)) => format!("ws://{rest}"),
            None => format!("ws://{server}"),
        };
        format!("{server}{path}")
    }
}

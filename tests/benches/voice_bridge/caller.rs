//! Twilio's side of one call: opens the media stream (signed as Twilio signs it), sends
//! `connected`, `start`, then a probed 20 ms `media` frame every 20 ms; reads the agent's
//! audio and echoes each `mark` at once (the audio before it is one frame, played by the time
//! the next arrives). At the end it sends `stop` and closes, as Twilio does when the caller
//! hangs up. No JSON parsing: the load generator shares the two cores with the bridge.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use infrastructure::twilio::signature::{Algorithm, Body, Signer};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::probe::{self, Receiver, Tally};
use crate::Phase;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where the probe of the agent's audio sits: the bridge's `media`, or the delta itself (relay).
const DOWN_MARKERS: [&str; 2] = [r#""payload":""#, r#""delta":""#];
/// How long the close handshake may take at the end.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// One call's stream.
pub struct Call {
    /// `ws://…/twilio/media-stream` (or the relay's address).
    pub url: String,
    /// The auth token to sign the handshake with (none for the relay).
    pub auth_token: Option<String>,
    pub index: u32,
    pub call_sid: String,
    pub stream_sid: String,
    /// The `<Parameter>`s of the TwiML's `<Stream>`.
    pub parameters: Vec<(String, String)>,
}

/// Opens the stream's socket (Nagle off, as on every hop of the bench).
pub async fn connect(call: &Call) -> anyhow::Result<Socket> {
    let mut request = call.url.as_str().into_client_request()?;
    if let Some(token) = &call.auth_token {
        let signature =
            Signer::new(token.clone().into()).sign(Algorithm::HmacSha1, &call.url, &Body::None);
        request
            .headers_mut()
            .insert("X-Twilio-Signature", HeaderValue::from_str(&signature)?);
    }
    let (ws, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(crate::socket_config()), true)
            .await?;
    Ok(ws)
}

/// Plays the call until `phase` says hang up; counts everything in `tally`.
pub async fn run(
    mut ws: Socket,
    call: Call,
    tally: Arc<Tally>,
    mut phase: watch::Receiver<Phase>,
) -> anyhow::Result<()> {
    tally.callers_open.fetch_add(1, Ordering::SeqCst);
    let mut caller = Caller {
        call,
        sequence: 0,
        receiver: Receiver::default(),
        heard: false,
    };
    let outcome = caller.play(&mut ws, &tally, &mut phase).await;
    caller.receiver.finish(&tally.down);
    tally.callers_open.fetch_sub(1, Ordering::SeqCst);
    outcome
}

struct Caller {
    call: Call,
    /// Twilio's `sequenceNumber` of the next message.
    sequence: u64,
    receiver: Receiver,
    heard: bool,
}

impl Caller {
    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    async fn play(
        &mut self,
        ws: &mut Socket,
        tally: &Tally,
        phase: &mut watch::Receiver<Phase>,
    ) -> anyhow::Result<()> {
        let (stream_sid, call_sid) = (&self.call.stream_sid, &self.call.call_sid);
        let parameters = self
            .call
            .parameters
            .iter()
            .map(|(name, value)| format!(r#""{name}":"{value}""#))
            .collect::<Vec<_>>()
            .join(",");
        let connected = r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#;
        let start = format!(
            r#"{{"event":"start","sequenceNumber":"1","start":{{"accountSid":"{account}","streamSid":"{stream_sid}","callSid":"{call_sid}","tracks":["inbound"],"customParameters":{{{parameters}}},"mediaFormat":{{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}},"streamSid":"{stream_sid}"}}"#,
            account = crate::ACCOUNT_SID,
        );
        self.sequence = 1;
        ws.feed(Message::text(connected)).await?;
        ws.send(Message::text(start)).await?;

        let mut ticker = tokio::time::interval(Duration::from_millis(20));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut seq = 0_u64;
        let mut sending = true;
        loop {
            tokio::select! {
                biased;
                changed = phase.changed() => {
                    let now = if changed.is_err() { Phase::HangUp } else { *phase.borrow() };
                    match now {
                        Phase::Run => {}
                        Phase::Quiet => sending = false,
                        Phase::HangUp => return self.hang_up(ws, tally).await,
                    }
                }
                message = ws.next() => match message {
                    Some(Ok(Message::Text(text))) => self.on_text(ws, text.as_str(), tally).await?,
                    Some(Ok(Message::Close(_))) | None => {
                        anyhow::bail!("the server closed the stream during the call")
                    }
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return Err(anyhow::Error::new(err).context("the stream failed")),
                },
                _ = ticker.tick(), if sending => {
                    let sequence = self.next_sequence();
                    let timestamp = seq * 20;
                    let payload = probe::payload(self.call.index, seq, probe::now_ns());
                    let media = format!(
                        r#"{{"event":"media","sequenceNumber":"{sequence}","media":{{"track":"inbound","chunk":"{chunk}","timestamp":"{timestamp}","payload":"{payload}"}},"streamSid":"{stream_sid}"}}"#,
                        chunk = seq + 1,
                        stream_sid = self.call.stream_sid,
                    );
                    seq += 1;
                    tally.up.sent.fetch_add(1, Ordering::SeqCst);
                    ws.send(Message::text(media)).await?;
                }
            }
        }
    }

    async fn on_text(&mut self, ws: &mut Socket, text: &str, tally: &Tally) -> anyhow::Result<()> {
        if let Some(probe) = probe::find(text, &DOWN_MARKERS) {
            self.receiver.receive(probe, &tally.down, &tally.window);
            if !self.heard {
                self.heard = true;
                tally.hearing.fetch_add(1, Ordering::SeqCst);
            }
        } else if text.contains(r#""event":"mark""#) {
            let name = mark_name(text).unwrap_or_default().to_owned();
            let sequence = self.next_sequence();
            let echo = format!(
                r#"{{"event":"mark","sequenceNumber":"{sequence}","streamSid":"{}","mark":{{"name":"{name}"}}}}"#,
                self.call.stream_sid
            );
            ws.send(Message::text(echo)).await?;
        } else if !text.contains(r#""session.created""#)
            && !text.contains(r#""response.created""#)
            && !text.contains(r#""session.updated""#)
            && !text.contains(r#""response.output_item.added""#)
        {
            // Relay mode passes the agent's other events through; anything else is a surprise.
            tally.anomalies.fetch_add(1, Ordering::Relaxed);
            eprintln!("call {}: unexpected message {text}", self.call.index);
        }
        Ok(())
    }

    /// `stop`, then the close handshake.
    async fn hang_up(&mut self, ws: &mut Socket, tally: &Tally) -> anyhow::Result<()> {
        let sequence = self.next_sequence();
        let stop = format!(
            r#"{{"event":"stop","sequenceNumber":"{sequence}","streamSid":"{}","stop":{{"accountSid":"{}","callSid":"{}"}}}}"#,
            self.call.stream_sid,
            crate::ACCOUNT_SID,
            self.call.call_sid
        );
        ws.send(Message::text(stop)).await?;
        ws.close(None).await?;
        let drained = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(message) = ws.next().await {
                match message {
                    Ok(Message::Text(text)) => {
                        if let Some(probe) = probe::find(text.as_str(), &DOWN_MARKERS) {
                            self.receiver.receive(probe, &tally.down, &tally.window);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        })
        .await;
        anyhow::ensure!(
            drained.is_ok(),
            "the stream did not close within {CLOSE_WAIT:?}"
        );
        Ok(())
    }
}

/// The `name` of a mark: `…"mark":{"name":"…"}…`.
fn mark_name(text: &str) -> Option<&str> {
    let marker = r#""name":""#;
    let start = text.find(marker)? + marker.len();
    let end = text[start..].find('"')? + start;
    Some(&text[start..end])
}

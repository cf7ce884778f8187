//! The OpenAI side: a minimal Realtime peer that speaks enough of the GA interface for the
//! bridge (`session.created`, `session.updated`, `response.created`, then one endless response
//! of 20 ms `response.output_audio.delta`s at real-time pace) and reads the probe of every
//! frame it receives.
//!
//! Why not `support::fake_openai::FakeRealtime`: its deltas are a tone (no probe can ride in
//! them), it does not time what it receives, and it parses and records every event, a cost
//! that would land on the same two cores as the bridge. This peer does no JSON parsing at all.
//!
//! Behind the pass-through relay it sees Twilio's messages instead of Realtime events: it
//! starts the agent's audio on Twilio's `start` and reads the probes of `media` frames.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::probe::{self, Receiver, Tally};
use crate::Phase;

/// Where the probe of a received frame sits: the bridge's append, or Twilio's media (relay).
const UP_MARKERS: [&str; 2] = [r#""audio":""#, r#""payload":""#];

/// The fake agent's listener (stopped when dropped); one task per connection.
pub struct Agent {
    pub port: u16,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Agent {
    /// Listens on a free port; every session counts in `tally` and follows `phase`.
    pub async fn start(tally: Arc<Tally>, phase: watch::Receiver<Phase>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (tally, phase) = (tally.clone(), phase.clone());
                tokio::spawn(async move {
                    if let Err(err) = session(stream, &tally, phase).await {
                        tally.anomalies.fetch_add(1, Ordering::Relaxed);
                        eprintln!("fake agent: {err:#}");
                    }
                });
            }
        });
        Ok(Self { port, accept })
    }

    /// `OPENAI_REALTIME_URL` for the server, or the relay's upstream.
    pub fn url(&self) -> String {
        format!(
            "ws://127.0.0.1:{}/v1/realtime?model=gpt-realtime",
            self.port
        )
    }
}

/// One session: answer the handshake events, stream the agent's audio, read the caller's.
async fn session(
    stream: TcpStream,
    tally: &Tally,
    mut phase: watch::Receiver<Phase>,
) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut ws =
        tokio_tungstenite::accept_async_with_config(stream, Some(crate::socket_config())).await?;
    let index = u32::try_from(tally.sessions_opened.fetch_add(1, Ordering::SeqCst))?;
    tally.sessions_open.fetch_add(1, Ordering::SeqCst);
    let outcome = serve(&mut ws, index, tally, &mut phase).await;
    tally.sessions_open.fetch_sub(1, Ordering::SeqCst);
    outcome
}

async fn serve(
    ws: &mut WebSocketStream<TcpStream>,
    index: u32,
    tally: &Tally,
    phase: &mut watch::Receiver<Phase>,
) -> anyhow::Result<()> {
    let ids = Ids {
        index,
        response: format!("resp_bench{index}"),
        item: format!("item_bench{index}"),
    };
    let created = format!(
        r#"{{"type":"session.created","event_id":"event_{index}_c","session":{{"type":"realtime","object":"realtime.session","id":"sess_bench{index}","model":"gpt-realtime"}}}}"#
    );
    ws.send(Message::text(created)).await?;
    let mut receiver = Receiver::default();
    let mut streaming = false;
    let mut seq = 0_u64;
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let outcome = loop {
        let step = tokio::select! {
            biased;
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() != Phase::Run {
                    streaming = false;
                }
                Ok(true)
            }
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if let Some(probe) = probe::find(text.as_str(), &UP_MARKERS) {
                        receiver.receive(probe, &tally.up, &tally.window);
                        Ok(true)
                    } else {
                        match answer(ws, &ids, text.as_str()).await {
                            Ok(true) => {
                                streaming = *phase.borrow() == Phase::Run;
                                ticker.reset_immediately();
                                Ok(true)
                            }
                            Ok(false) => Ok(true),
                            Err(err) => Err(err),
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None => Ok(false),
                Some(Ok(_)) => Ok(true),
                Some(Err(err)) => Err(anyhow::Error::new(err).context("the socket failed")),
            },
            _ = ticker.tick(), if streaming => {
                let payload = probe::payload(index, seq, probe::now_ns());
                let delta = format!(
                    r#"{{"type":"response.output_audio.delta","event_id":"event_{index}_{seq}","response_id":"{}","item_id":"{}","output_index":0,"content_index":0,"delta":"{payload}"}}"#,
                    ids.response, ids.item
                );
                seq += 1;
                tally.down.sent.fetch_add(1, Ordering::SeqCst);
                ws.send(Message::text(delta)).await.map(|()| true).map_err(anyhow::Error::new)
            }
        };
        match step {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(err) => break Err(err),
        }
    };
    receiver.finish(&tally.up);
    outcome
}

/// The session's ids.
struct Ids {
    index: u32,
    response: String,
    item: String,
}

/// Answers a client event that is not audio; true when the agent's audio should start (the
/// bridge's `response.create`, or Twilio's `start` through the relay).
async fn answer(
    ws: &mut WebSocketStream<TcpStream>,
    ids: &Ids,
    text: &str,
) -> anyhow::Result<bool> {
    let Ids {
        index,
        response,
        item,
    } = ids;
    if text.contains(r#""session.update""#) {
        let updated = format!(
            r#"{{"type":"session.updated","event_id":"event_{index}_u","session":{{"type":"realtime","object":"realtime.session","id":"sess_bench{index}","model":"gpt-realtime"}}}}"#
        );
        ws.send(Message::text(updated)).await?;
        Ok(false)
    } else if text.contains(r#""response.create""#) {
        let created = format!(
            r#"{{"type":"response.created","event_id":"event_{index}_r","response":{{"id":"{response}","object":"realtime.response","status":"in_progress","output":[]}}}}"#
        );
        let added = format!(
            r#"{{"type":"response.output_item.added","event_id":"event_{index}_i","response_id":"{response}","output_index":0,"item":{{"id":"{item}","object":"realtime.item","type":"message","role":"assistant","status":"in_progress","content":[]}}}}"#
        );
        ws.feed(Message::text(created)).await?;
        ws.send(Message::text(added)).await?;
        Ok(true)
    } else {
        // Twilio's start, through the pass-through relay.
        Ok(text.contains(r#""event":"start""#))
    }
}

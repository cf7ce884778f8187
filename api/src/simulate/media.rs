//! The media stream of a simulated call, played as Twilio plays it (`docs/PROTOCOLS.md` §2, §5):
//! the WebSocket opened on the server's address with `X-Twilio-Signature` over the public
//! `wss://` URL the TwiML named, `connected` and `start`, then a 20 ms `media` frame of synthetic
//! μ-law every 20 ms — silence, and once the agent's greeting has played, a short tone standing
//! for the caller's speech. The agent's audio is "played" in real time ([`Caller`]): each `mark`
//! is echoed once the audio sent before it has played, a `clear` drops what has not. One line is
//! printed per thing that happens; the stream ends when the server closes it or after the
//! simulated call's limit, with `stop`.

mod caller;
mod wire;

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use infrastructure::twilio::media;
use infrastructure::twilio::signature::{Algorithm, Body, Signer, SIGNATURE_HEADER};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use caller::Caller;
use wire::Outbound;

/// Twilio's frame interval.
const FRAME: Duration = Duration::from_millis(20);
/// How long the server may take to close its side after `stop`.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// One media stream to play.
pub(super) struct StreamCall<'a> {
    /// Where to connect: `ws://server/twilio/media-stream`.
    pub server_url: String,
    /// The `<Stream url>` of the TwiML: what Twilio signs.
    pub public_url: &'a str,
    /// Signs the handshake.
    pub signer: &'a Signer,
    /// `AC…`.
    pub account_sid: &'a str,
    /// `CA…`.
    pub call_sid: &'a str,
    /// The `<Parameter>`s of the `<Stream>`.
    pub parameters: &'a [(String, String)],
    /// The caller hangs up after this long.
    pub limit: Duration,
}

/// What happened on the stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct StreamReport {
    /// Agent audio received.
    pub agent_audio: Duration,
    /// Marks echoed.
    pub marks: usize,
    /// `clear`s received.
    pub clears: usize,
    /// The server closed the stream (rather than the caller hanging up).
    pub closed_by_server: bool,
    /// How long the stream lasted.
    pub lasted: Duration,
}

/// Plays the stream until the server closes it or `call.limit` passes; prints what happens.
///
/// # Errors
/// When the WebSocket cannot be opened (refused, a 403 for a bad signature…).
pub(super) async fn play(call: StreamCall<'_>) -> anyhow::Result<StreamReport> {
    let signature = call
        .signer
        .sign(Algorithm::HmacSha1, call.public_url, &Body::None);
    let mut request = call
        .server_url
        .as_str()
        .into_client_request()
        .with_context(|| format!("{} is not a WebSocket URL", call.server_url))?;
    request
        .headers_mut()
        .insert(SIGNATURE_HEADER, HeaderValue::from_str(&signature)?);
    println!("→ WebSocket {}", call.public_url);
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| format!("cannot open the media stream at {}", call.server_url))?;
    let stream_sid = super::random_sid("MZ");
    let mut out = Outbound::new(&stream_sid);
    let start = out.start(&call);
    println!(
        "    connected, start (streamSid {stream_sid}, customParameters {}), then 20 ms of μ-law every 20 ms\n",
        serde_json::to_string(&start.start.custom_parameters)?
    );
    socket.send(Message::text(Outbound::connected())).await?;
    socket
        .send(Message::text(serde_json::to_string(&start)?))
        .await?;

    let started = Instant::now();
    let mut caller = Caller::default();
    let mut ticker = tokio::time::interval(FRAME);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let deadline = tokio::time::Instant::from_std(started + call.limit);
    let mut report = StreamReport::default();
    loop {
        let wake = caller
            .next_wake()
            .map_or(deadline, tokio::time::Instant::from_std);
        tokio::select! {
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => caller.on_server(Instant::now(), &text),
                Some(Ok(Message::Close(_))) | None => {
                    report.closed_by_server = true;
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => {
                    println!("    (the media stream failed: {err})");
                    report.closed_by_server = true;
                }
            },
            _ = ticker.tick() => {
                let frame = caller.next_frame(Instant::now());
                socket.send(Message::text(out.media(started.elapsed(), &frame))).await?;
            }
            () = tokio::time::sleep_until(wake) => {}
            () = tokio::time::sleep_until(deadline) => {
                caller.flush(Instant::now());
                print_lines(&mut caller);
                println!(
                    "    (the simulated call reached its limit of {} s: the caller hangs up)\n→ stop\n",
                    call.limit.as_secs()
                );
                socket.send(Message::text(out.stop(&call))).await?;
                report.lasted = started.elapsed();
                // As Twilio does: the server answers `stop` by closing its side; then close ours.
                let drained = async { while let Some(Ok(_)) = socket.next().await {} };
                let _ = tokio::time::timeout(CLOSE_WAIT, drained).await;
                let _ = socket.close(None).await;
                break;
            }
        }
        let now = Instant::now();
        for name in caller.due_marks(now) {
            socket
                .send(Message::text(media::mark(&stream_sid, &name)))
                .await?;
        }
        if report.closed_by_server {
            caller.flush(now);
            print_lines(&mut caller);
            println!(
                "← the server closed the media stream after {:.1} s\n",
                started.elapsed().as_secs_f64()
            );
            break;
        }
        print_lines(&mut caller);
    }
    report.agent_audio = caller.agent_audio;
    report.marks = caller.marks_echoed;
    report.clears = caller.clears;
    if report.lasted.is_zero() {
        report.lasted = started.elapsed();
    }
    Ok(report)
}

fn print_lines(caller: &mut Caller) {
    for line in caller.lines.drain(..) {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests;

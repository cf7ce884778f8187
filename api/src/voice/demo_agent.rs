//! The built-in demo agent: a small WebSocket server speaking the OpenAI Realtime GA protocol
//! (`docs/PROTOCOLS.md` §6) with a fixed script, so a call routed to the AI agent of a business
//! without an OpenAI key — the one `callassist demo seed` makes — still runs end to end: a
//! greeting, the caller's turn, a message taken, a goodbye and a hang-up.
//!
//! Which business gets it: one whose agent key is the vault's placeholder
//! ([`PLACEHOLDER_KEY_ID`](infrastructure::vault::PLACEHOLDER_KEY_ID)), which only `demo seed`
//! writes; the [`Vault`](infrastructure::vault::Vault) names its keys with 8 hex digits, so no
//! real key can carry that id. Every other key goes to OpenAI.
//!
//! The server listens on `127.0.0.1:0` and is started on first use, once per process, on its own
//! thread with its own runtime (so it outlives no caller's runtime and depends on none). Each
//! connection runs a [`Script`]; [`converse`] is generic over text-frame streams and sinks so
//! the tests can drive it with channels.

pub(crate) mod audio;
mod script;

pub use script::{Script, CALLBACK_NUMBER, CALLER_NAME, CALLER_TRANSCRIPT, GREETING, MESSAGE};

use std::fmt::Display;
use std::sync::OnceLock;

use futures::{future, Sink, SinkExt, Stream, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use url::Url;

/// The model the demo agent reports, and the one recorded with its sessions.
pub const MODEL: &str = "demo";

/// The demo agent could not be started.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the built-in demo agent cannot start: {0}")]
pub struct DemoAgentError(String);

/// The demo agent's WebSocket URL (`ws://127.0.0.1:PORT/v1/realtime?model=demo`), starting it
/// on the first call.
///
/// # Errors
/// When no local port can be bound or its thread or runtime cannot be started (the same error
/// on every later call).
pub fn url() -> Result<Url, DemoAgentError> {
    static AGENT: OnceLock<Result<Url, DemoAgentError>> = OnceLock::new();
    AGENT
        .get_or_init(|| start().map_err(|err| DemoAgentError(err.to_string())))
        .clone()
}

fn start() -> anyhow::Result<Url> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("demo-agent".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => accept(listener).await,
                    Err(err) => {
                        tracing::error!(error = %err, "the built-in demo agent cannot listen");
                    }
                }
            });
        })?;
    tracing::info!(%address, "the built-in demo agent is listening");
    url_of(address)
}

/// The Realtime URL of a demo agent listening at `address`.
///
/// # Errors
/// Only if the address makes no URL (not expected).
pub fn url_of(address: std::net::SocketAddr) -> anyhow::Result<Url> {
    Ok(Url::parse(&format!(
        "ws://{address}/v1/realtime?model={MODEL}"
    ))?)
}

/// Serves demo sessions on `listener` until the task is dropped.
pub async fn accept(listener: tokio::net::TcpListener) {
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                tokio::spawn(serve(tcp));
            }
            Err(err) => {
                tracing::warn!(error = %err, "the built-in demo agent cannot accept a connection");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// One connection: the WebSocket handshake, then the script.
async fn serve(tcp: tokio::net::TcpStream) {
    let socket = match tokio_tungstenite::accept_async(tcp).await {
        Ok(socket) => socket,
        Err(err) => {
            tracing::debug!(error = %err, "a demo agent handshake failed");
            return;
        }
    };
    let (sink, stream) = socket.split();
    let sink = sink.with(|text: String| {
        future::ready(Ok::<_, tokio_tungstenite::tungstenite::Error>(
            Message::text(text),
        ))
    });
    let stream = stream
        .take_while(|message| future::ready(!matches!(message, Ok(Message::Close(_)))))
        .filter_map(|message| {
            future::ready(match message {
                Ok(Message::Text(text)) => Some(Ok(text.as_str().to_owned())),
                Ok(_) => None,
                Err(err) => Some(Err(err)),
            })
        });
    converse(Box::pin(stream), Box::pin(sink)).await;
}

/// Plays one session: `session.created` first, then the [`Script`]'s answer to every client
/// event, until the client closes its side (or either side fails).
pub async fn converse<I, E, O>(mut incoming: I, mut outgoing: O)
where
    I: Stream<Item = Result<String, E>> + Unpin,
    E: Display,
    O: Sink<String> + Unpin,
    O::Error: Display,
{
    let mut script = Script::new();
    let mut pending = script.opening();
    loop {
        for event in pending.drain(..) {
            if let Err(err) = outgoing.feed(event).await {
                tracing::debug!(error = %err, "the demo agent's client went away");
                return;
            }
        }
        if let Err(err) = outgoing.flush().await {
            tracing::debug!(error = %err, "the demo agent's client went away");
            return;
        }
        match incoming.next().await {
            Some(Ok(text)) => pending = script.on_client_event(&text),
            Some(Err(err)) => {
                tracing::debug!(error = %err, "the demo agent's socket failed");
                return;
            }
            None => break,
        }
    }
    let _ = outgoing.close().await;
}

#[cfg(test)]
mod tests;

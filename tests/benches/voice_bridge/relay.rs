//! The baseline: the least a bridge must do — accept Twilio's WebSocket, open one to OpenAI,
//! and forward text frames both ways untouched (no parsing, no rewriting, no marks, no
//! database). It runs as a process of its own (this bench binary with
//! `VOICE_BENCH_ROLE=relay`), on a two-thread tokio runtime, so its CPU time and memory are
//! read the same way as the server's. One task per call, one `select!` over both sockets, a
//! flush per frame: the same shape as the bridge loop.

use std::process::{Command, Stdio};

use futures::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

use crate::process::Child;

/// The environment variable that makes this binary the relay.
pub const ROLE_VAR: &str = "VOICE_BENCH_ROLE";
const UPSTREAM_VAR: &str = "VOICE_BENCH_UPSTREAM";
/// A program to start the relay through (`valgrind`, say), given the relay's command line.
const WRAPPER_VAR: &str = "VOICE_BENCH_RELAY_WRAPPER";
const READY: &str = "relay listening on ";

/// Starts the relay process in front of `upstream` (the fake agent's URL); returns it and the
/// `ws://` URL callers connect to.
pub fn spawn(upstream: &str) -> anyhow::Result<(Child, String)> {
    let relay = std::env::current_exe()?;
    let mut command = match std::env::var_os(WRAPPER_VAR) {
        Some(wrapper) => {
            let mut command = Command::new(wrapper);
            command.arg(relay);
            command
        }
        None => Command::new(relay),
    };
    command
        .env(ROLE_VAR, "relay")
        .env(UPSTREAM_VAR, upstream)
        .stdin(Stdio::null());
    let (child, address) = Child::spawn(command, READY)?;
    Ok((child, format!("ws://{address}/")))
}

/// The relay process' `main`.
pub fn main() -> anyhow::Result<()> {
    let upstream = std::env::var(UPSTREAM_VAR)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            println!("{READY}{}", listener.local_addr()?);
            loop {
                let (stream, _) = listener.accept().await?;
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Err(err) = relay(stream, &upstream).await {
                        eprintln!("relay: {err:#}");
                    }
                });
            }
        })
}

async fn relay(stream: TcpStream, upstream: &str) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut twilio =
        tokio_tungstenite::accept_async_with_config(stream, Some(crate::socket_config())).await?;
    let (mut openai, _) =
        tokio_tungstenite::connect_async_with_config(upstream, Some(crate::socket_config()), true)
            .await?;
    loop {
        tokio::select! {
            biased;
            frame = twilio.next() => match frame {
                Some(Ok(text @ Message::Text(_))) => openai.send(text).await?,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            event = openai.next() => match event {
                Some(Ok(text @ Message::Text(_))) => twilio.send(text).await?,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = openai.close(None).await;
    let _ = twilio.close(None).await;
    Ok(())
}

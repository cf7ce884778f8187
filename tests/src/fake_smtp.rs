//! A fake SMTP server (RFC 5321, the plain dialogue without TLS or authentication) that keeps
//! every message it accepts, and can refuse recipients or fail on purpose: the notifier's
//! emails are sent by lettre to it as to a real relay.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message (headers and body) with dot-stuffing undone, lines joined by `\r\n`.
    pub data: String,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// Answer this many `DATA` commands with `451` (a temporary failure) first.
    fail_next: u32,
    /// Refuse these recipients with `550`.
    refused: Vec<String>,
}

/// A running fake SMTP server on 127.0.0.1.
#[derive(Clone)]
pub struct FakeSmtp {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl FakeSmtp {
    /// Starts a server on a free port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, shared.clone()));
            }
        });
        Self { port, state }
    }

    /// `SMTP_URL` for it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next `times` messages get a temporary failure (451).
    pub fn fail_next(&self, times: u32) {
        self.state.lock().unwrap().fail_next = times;
    }

    /// Refuses `address` as a recipient for good (550).
    pub fn refuse(&self, address: &str) {
        self.state.lock().unwrap().refused.push(address.to_owned());
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until `count` messages were accepted (panics after `timeout`).
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                start.elapsed() < timeout,
                "the fake SMTP server got {} of {count} messages in {timeout:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn serve(socket: TcpStream, state: Arc<Mutex<State>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    if write
        .write_all(b"220 fake-smtp ESMTP ready\r\n")
        .await
        .is_err()
    {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-fake-smtp greets you\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".to_owned()
        } else if upper.starts_with("HELO") {
            "250 fake-smtp\r\n".to_owned()
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&line["MAIL FROM:".len()..]);
            to.clear();
            "250 2.1.0 OK\r\n".to_owned()
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = address(&line["RCPT TO:".len()..]);
            if state.lock().unwrap().refused.contains(&rcpt) {
                "550 5.1.1 no such mailbox here\r\n".to_owned()
            } else {
                to.push(rcpt);
                "250 2.1.5 OK\r\n".to_owned()
            }
        } else if upper == "DATA" {
            if write
                .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                .await
                .is_err()
            {
                return;
            }
            let mut data: Vec<String> = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line == "." {
                    break;
                }
                data.push(line.strip_prefix('.').map_or(line.clone(), str::to_owned));
            }
            let mut state = state.lock().unwrap();
            if state.fail_next > 0 {
                state.fail_next -= 1;
                "451 4.3.0 try again later\r\n".to_owned()
            } else {
                state.received.push(Received {
                    from: from.clone(),
                    to: to.clone(),
                    data: data.join("\r\n"),
                });
                "250 2.0.0 queued\r\n".to_owned()
            }
        } else if upper == "RSET" || upper == "NOOP" {
            "250 OK\r\n".to_owned()
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            "502 5.5.2 command not implemented\r\n".to_owned()
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// `<a@b>` (with optional parameters after it) → `a@b`.
fn address(raw: &str) -> String {
    let raw = raw.trim();
    match (raw.find('<'), raw.find('>')) {
        (Some(open), Some(close)) if open < close => raw[open + 1..close].to_owned(),
        _ => raw.split_whitespace().next().unwrap_or_default().to_owned(),
    }
}

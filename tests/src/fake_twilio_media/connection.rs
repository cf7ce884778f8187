//! The task behind one [`super::MediaStreamClient`]: sends Twilio's messages, receives ours,
//! and plays the agent audio out in time.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Clear, Closed, Command, FrameSource, MediaLog, MediaStreamOptions, Received, Shared};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Twilio's side of the socket.
struct Connection {
    ws: Socket,
    shared: Arc<Shared>,
    stream_sid: String,
    account_sid: String,
    call_sid: String,
    sequence: u64,
    chunk: u64,
    started: Instant,
    source: FrameSource,
}

/// Why the loop ended.
enum End {
    /// The socket is closed or failed; the log says how.
    Closed,
    /// `stop` was sent: finish the close handshake.
    Stopped,
    /// Vanish without a word.
    Dropped,
}

pub(super) async fn run(
    ws: Socket,
    shared: Arc<Shared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    options: MediaStreamOptions,
) {
    let mut connection = Connection {
        ws,
        shared,
        stream_sid: options.stream_sid.clone(),
        account_sid: options.account_sid.clone(),
        call_sid: options.call_sid.clone(),
        sequence: 0,
        chunk: 0,
        started: Instant::now(),
        source: FrameSource::new(options.source),
    };
    let end = connection.serve(&mut commands, &options).await;
    match end {
        End::Closed => {}
        End::Stopped => connection.finish_close().await,
        End::Dropped => connection.closed(true, None, "dropped without stop".into()),
    }
}

impl Connection {
    async fn serve(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        options: &MediaStreamOptions,
    ) -> End {
        let connected = json!({"event": "connected", "protocol": "Call", "version": "1.0.0"});
        if !self.send(&connected).await {
            return End::Closed;
        }
        let parameters: serde_json::Map<String, Value> = options
            .custom_parameters
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        let start = json!({
            "event": "start",
            "sequenceNumber": self.next_sequence(),
            "start": {
                "accountSid": self.account_sid,
                "streamSid": self.stream_sid,
                "callSid": self.call_sid,
                "tracks": ["inbound"],
                "customParameters": parameters,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
            "streamSid": self.stream_sid,
        });
        self.started = Instant::now();
        if !self.send(&start).await {
            return End::Closed;
        }

        let mut sending = options.send_media;
        let mut ticker = tokio::time::interval(Duration::from_millis(20));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mark_timer = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(mark_timer);
        loop {
            let next_mark = self.shared.lock().playout.next_due();
            if let Some(at) = next_mark {
                if mark_timer.deadline() != at {
                    mark_timer.as_mut().reset(at);
                }
            }
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(Command::Source(source)) => self.source.set(source),
                    Some(Command::Media(on)) => {
                        if on && !sending {
                            ticker.reset_immediately();
                        }
                        sending = on;
                    }
                    Some(Command::Dtmf(digit)) => {
                        if !self.send_dtmf(digit).await {
                            return End::Closed;
                        }
                    }
                    Some(Command::Raw(text)) => {
                        if !self.send_text(text).await {
                            return End::Closed;
                        }
                    }
                    Some(Command::Stop) => {
                        let stop = json!({
                            "event": "stop",
                            "sequenceNumber": self.next_sequence(),
                            "streamSid": self.stream_sid,
                            "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
                        });
                        if !self.send(&stop).await {
                            return End::Closed;
                        }
                        return End::Stopped;
                    }
                    Some(Command::Drop) | None => return End::Dropped,
                },
                message = self.ws.next() => match message {
                    Some(Ok(message)) => {
                        if !self.receive(message).await {
                            return End::Closed;
                        }
                    }
                    Some(Err(err)) => {
                        self.closed(false, None, format!("socket error: {err}"));
                        return End::Closed;
                    }
                    None => {
                        self.closed(false, None, "socket ended without a close frame".into());
                        return End::Closed;
                    }
                },
                () = &mut mark_timer, if next_mark.is_some() => {
                    if !self.echo_due_marks().await {
                        return End::Closed;
                    }
                }
                _ = ticker.tick(), if sending => {
                    if !self.send_frame().await {
                        return End::Closed;
                    }
                }
            }
        }
    }

    fn next_sequence(&mut self) -> String {
        self.sequence += 1;
        self.sequence.to_string()
    }

    fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    async fn send_frame(&mut self) -> bool {
        let frame = self.source.next_frame();
        self.chunk += 1;
        let timestamp = self.elapsed_ms();
        let media = json!({
            "event": "media",
            "sequenceNumber": self.next_sequence(),
            "media": {
                "track": "inbound",
                "chunk": self.chunk.to_string(),
                "timestamp": timestamp.to_string(),
                "payload": STANDARD.encode(&frame),
            },
            "streamSid": self.stream_sid,
        });
        let sent = self.send(&media).await;
        if sent {
            self.shared.update(|log, _| {
                log.frames_sent += 1;
                log.bytes_sent += frame.len() as u64;
                log.last_timestamp_ms = timestamp;
            });
        }
        sent
    }

    async fn send_dtmf(&mut self, digit: char) -> bool {
        let dtmf = json!({
            "event": "dtmf",
            "streamSid": self.stream_sid,
            "sequenceNumber": self.next_sequence(),
            "dtmf": {"track": "inbound_track", "digit": digit.to_string()},
        });
        let sent = self.send(&dtmf).await;
        if sent {
            self.shared.update(|log, _| log.dtmf_sent.push(digit));
        }
        sent
    }

    async fn send(&mut self, message: &Value) -> bool {
        self.send_text(message.to_string()).await
    }

    /// Sends a text frame; false (and the log says why) once the socket is gone.
    async fn send_text(&mut self, text: String) -> bool {
        match self.ws.send(Message::text(text)).await {
            Ok(()) => true,
            Err(err) => {
                self.closed(false, None, format!("send failed: {err}"));
                false
            }
        }
    }

    /// Handles one message from the server; false once the socket is closed.
    async fn receive(&mut self, message: Message) -> bool {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(frame) => {
                let (code, reason) = frame.map_or((None, String::new()), |frame| {
                    (Some(u16::from(frame.code)), frame.reason.to_string())
                });
                self.closed(false, code, reason);
                // Answer the close handshake; tungstenite queues the reply, this flushes it.
                let _ = self.ws.flush().await;
                return false;
            }
            Message::Binary(_) => {
                self.violation("binary frame: Twilio expects JSON text frames".into());
                return true;
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return true,
        };
        let Ok(mut message) = serde_json::from_str::<Value>(text.as_str()) else {
            self.violation(format!("not JSON: {}", truncate(text.as_str())));
            return true;
        };
        let event = message["event"].as_str().unwrap_or_default().to_owned();
        if !matches!(event.as_str(), "media" | "mark" | "clear") {
            self.violation(format!("unknown event: {}", truncate(text.as_str())));
            self.record(message);
            return true;
        }
        if message["streamSid"] != self.stream_sid.as_str() {
            self.violation(format!(
                "{event} with streamSid {} instead of {}",
                message["streamSid"], self.stream_sid
            ));
            self.record(message);
            return true;
        }
        let now = Instant::now();
        match event.as_str() {
            "media" => {
                let payload = message["media"]["payload"].as_str().unwrap_or_default();
                match STANDARD.decode(payload) {
                    Ok(bytes) if !bytes.is_empty() => {
                        message["media"]["payload"] = Value::Null;
                        message["media"]["payload_bytes"] = json!(bytes.len());
                        self.shared.update(|log, at| {
                            log.playout.push_audio(now, bytes.len());
                            log.audio.extend_from_slice(&bytes);
                            log.received.push(Received { at, message });
                        });
                    }
                    _ => {
                        self.violation(format!(
                            "media without a base64 payload: {}",
                            truncate(text.as_str())
                        ));
                        self.record(message);
                    }
                }
            }
            "mark" => match message["mark"]["name"].as_str().map(str::to_owned) {
                Some(name) => {
                    self.shared.update(|log, at| {
                        log.playout.push_mark(now, name.clone());
                        log.marks_received.push((name, at));
                        log.received.push(Received { at, message });
                    });
                }
                None => {
                    self.violation(format!("mark without a name: {}", truncate(text.as_str())));
                    self.record(message);
                }
            },
            _ => {
                self.shared.update(|log, at| {
                    let dropped = log.playout.clear(now);
                    log.dropped_audio += dropped.audio;
                    log.clears.push(Clear {
                        at,
                        dropped_audio: dropped.audio,
                        dropped_marks: dropped.marks,
                    });
                    log.received.push(Received { at, message });
                });
            }
        }
        self.echo_due_marks().await
    }

    /// Echoes every mark whose audio has played.
    async fn echo_due_marks(&mut self) -> bool {
        let due = self.shared.lock().playout.due_marks(Instant::now());
        for name in due {
            let echo = json!({
                "event": "mark",
                "sequenceNumber": self.next_sequence(),
                "streamSid": self.stream_sid,
                "mark": {"name": name},
            });
            if !self.send(&echo).await {
                return false;
            }
            self.shared
                .update(|log, at| log.marks_echoed.push((name, at)));
        }
        true
    }

    /// After `stop`: close, and wait (briefly) for the server's close frame.
    async fn finish_close(&mut self) {
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let _ = self.ws.close(Some(normal)).await;
        let wait = async {
            while let Some(Ok(message)) = self.ws.next().await {
                if let Message::Close(frame) = message {
                    return frame.map(|frame| u16::from(frame.code));
                }
            }
            None
        };
        let code = tokio::time::timeout(Duration::from_secs(2), wait)
            .await
            .unwrap_or(None);
        self.closed(true, code, "stop sent".into());
    }

    fn record(&self, message: Value) {
        self.shared
            .update(|log, at| log.received.push(Received { at, message }));
    }

    fn violation(&self, what: String) {
        self.shared
            .update(|log: &mut MediaLog, _| log.violations.push(what));
    }

    fn closed(&self, by_us: bool, code: Option<u16>, reason: String) {
        self.shared.update(|log, at| {
            if log.closed.is_none() {
                log.closed = Some(Closed {
                    at,
                    by_us,
                    code,
                    reason,
                });
            }
        });
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

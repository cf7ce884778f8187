//! The task behind one session of the fake Realtime server: answers client events, plays
//! responses in time, and carries out what the test injects.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::handle::{Command, SessionShared};
use super::wire::{self, Interface};
use super::{Behaviour, Mode, Pacing, ScriptedResponse};
use crate::fake_twilio_media::{AudioSource, FrameSource};

static IDS: AtomicU64 = AtomicU64::new(1);

/// A fresh id with the API's prefix (`resp_`, `item_`, …).
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_Fake{:016X}", IDS.fetch_add(1, Ordering::Relaxed))
}

/// A response waiting for the one in progress.
enum Planned {
    Audio(ScriptedResponse),
    FunctionCall {
        call_id: String,
        name: String,
        arguments: String,
    },
}

/// The audio response being played.
struct Playing {
    response_id: String,
    item_id: String,
    script: ScriptedResponse,
    sent: usize,
    next_at: Instant,
}

/// What the loop does next.
enum Flow {
    Continue,
    /// The socket is done (closed, failed, or closed by us): record why and stop.
    End(String),
    /// Drop the socket without a close frame.
    Drop(String),
}

pub(crate) struct Session {
    ws: WebSocketStream<TcpStream>,
    shared: Arc<SessionShared>,
    behaviour: Arc<Behaviour>,
    interface: Interface,
    events_sent: u64,
    client_events: usize,
    script_index: usize,
    current: Option<Playing>,
    queue: VecDeque<Planned>,
    speech_item: Option<String>,
    transcript_item: Option<String>,
    last_item: Option<String>,
    audio_items: HashMap<String, usize>,
    call_ids: HashSet<String>,
    reported: HashSet<&'static str>,
    tone: FrameSource,
}

impl Session {
    pub(crate) fn new(
        ws: WebSocketStream<TcpStream>,
        shared: Arc<SessionShared>,
        behaviour: Arc<Behaviour>,
    ) -> Self {
        let interface = shared.interface;
        Self {
            ws,
            shared,
            behaviour,
            interface,
            events_sent: 0,
            client_events: 0,
            script_index: 0,
            current: None,
            queue: VecDeque::new(),
            speech_item: None,
            transcript_item: None,
            last_item: None,
            audio_items: HashMap::new(),
            call_ids: HashSet::new(),
            reported: HashSet::new(),
            tone: FrameSource::new(AudioSource::Tone(440)),
        }
    }

    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let session = self.shared.lock().session.clone();
        let mut flow = self
            .send(json!({"type": "session.created", "session": session}))
            .await;
        let timer = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(timer);
        while matches!(flow, Flow::Continue) {
            let due = self.current.as_ref().map(|playing| playing.next_at);
            if let Some(at) = due {
                if timer.deadline() != at {
                    timer.as_mut().reset(at);
                }
            }
            flow = tokio::select! {
                biased;
                _ = shutdown.changed() => Flow::Drop("fake server stopped".into()),
                command = commands.recv() => match command {
                    Some(command) => self.command(command).await,
                    None => Flow::Drop("handle gone".into()),
                },
                message = self.ws.next() => self.receive(message).await,
                () = &mut timer, if due.is_some() => self.step().await,
            };
        }
        let why = match flow {
            Flow::End(why) => why,
            Flow::Drop(why) => {
                drop(self.ws);
                why
            }
            Flow::Continue => unreachable!("the loop only ends on End or Drop"),
        };
        self.shared.update(|record| record.closed = Some(why));
    }

    /// Sends a server event (adding its `event_id`) and records it.
    async fn send(&mut self, mut event: Value) -> Flow {
        self.events_sent += 1;
        if event.get("event_id").is_none() {
            event["event_id"] = json!(format!(
                "event_Fake{}x{}",
                self.shared.index, self.events_sent
            ));
        }
        let text = event.to_string();
        let keep = self.behaviour.record_audio || event["type"] != self.interface.audio_delta();
        self.shared.update(|record| {
            if keep {
                record.server_events.push(event);
            } else {
                event["delta"] = Value::Null;
                record.server_events.push(event);
            }
        });
        match self.ws.send(Message::text(text)).await {
            Ok(()) => Flow::Continue,
            Err(err) => Flow::End(format!("send failed: {err}")),
        }
    }

    /// Sends several events; stops at the first failure.
    async fn send_all(&mut self, events: Vec<Value>) -> Flow {
        for event in events {
            let flow = self.send(event).await;
            if !matches!(flow, Flow::Continue) {
                return flow;
            }
        }
        Flow::Continue
    }

    async fn error(
        &mut self,
        code: &str,
        message: &str,
        param: Option<&str>,
        client_event: &Value,
    ) -> Flow {
        let event_id = client_event["event_id"].as_str();
        self.send(wire::error(
            "invalid_request_error",
            Some(code),
            message,
            param,
            event_id,
        ))
        .await
    }

    fn violation(&self, what: String) {
        self.shared.update(|record| record.violations.push(what));
    }

    /// Records a violation of this kind once per session.
    fn violation_once(&mut self, kind: &'static str, what: String) {
        if self.reported.insert(kind) {
            self.violation(what);
        }
    }

    async fn receive(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Flow {
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                let _ = self.ws.flush().await;
                return Flow::End(format!(
                    "client closed ({})",
                    frame.map_or("no code".to_owned(), |frame| u16::from(frame.code)
                        .to_string())
                ));
            }
            Some(Ok(Message::Binary(_))) => {
                self.violation("binary frame: the Realtime API takes JSON text frames".into());
                return Flow::Continue;
            }
            Some(Ok(_)) => return Flow::Continue,
            Some(Err(err)) => return Flow::End(format!("socket error: {err}")),
            None => return Flow::End("socket ended without a close frame".into()),
        };
        self.client_events += 1;
        let flow = match serde_json::from_str::<Value>(text.as_str()) {
            Ok(event) => self.client_event(event).await,
            Err(err) => {
                self.shared
                    .update(|record| record.client_events.push(Value::String(text.to_string())));
                self.violation(format!("client frame is not JSON: {err}"));
                self.send(wire::error(
                    "invalid_request_error",
                    Some("invalid_json"),
                    &format!("We could not parse the JSON body of your request. ({err})"),
                    None,
                    None,
                ))
                .await
            }
        };
        match (&self.behaviour.mode, flow) {
            (Mode::DropAfter(limit), Flow::Continue) if self.client_events >= *limit => {
                Flow::Drop(format!("dropped after {limit} client events"))
            }
            (_, flow) => flow,
        }
    }

    async fn client_event(&mut self, event: Value) -> Flow {
        let kind = event["type"].as_str().unwrap_or_default().to_owned();
        let recorded = if kind == "input_audio_buffer.append" && !self.behaviour.record_audio {
            json!({"type": kind, "event_id": event["event_id"], "audio": null})
        } else {
            event.clone()
        };
        self.shared
            .update(|record| record.client_events.push(recorded));
        match kind.as_str() {
            "session.update" => self.session_update(&event).await,
            "input_audio_buffer.append" => self.append(&event).await,
            "input_audio_buffer.commit" => self.commit(false).await,
            "input_audio_buffer.clear" => {
                self.send(json!({"type": "input_audio_buffer.cleared"}))
                    .await
            }
            "response.create" => match &self.current {
                Some(playing) => {
                    let message = format!(
                        "Conversation already has an active response in progress: {}. Wait until the \
                         response is finished before creating a new one.",
                        playing.response_id
                    );
                    self.error(
                        "conversation_already_has_active_response",
                        &message,
                        None,
                        &event,
                    )
                    .await
                }
                None => {
                    let script = self.next_script();
                    self.start_audio(script).await
                }
            },
            "response.cancel" => match self.current.is_some() {
                true => self.finish("cancelled", Some("client_cancelled")).await,
                false => {
                    self.error(
                        "response_cancel_not_active",
                        "Cancellation failed: no active response found",
                        None,
                        &event,
                    )
                    .await
                }
            },
            "conversation.item.truncate" => self.truncate(&event).await,
            "conversation.item.create" => self.item_create(&event).await,
            "conversation.item.delete" => {
                let item_id = event["item_id"].clone();
                self.send(json!({"type": "conversation.item.deleted", "item_id": item_id}))
                    .await
            }
            "" => {
                self.violation(format!("client event without a type: {event}"));
                self.error(
                    "missing_required_parameter",
                    "Missing required parameter: 'type'.",
                    Some("type"),
                    &event,
                )
                .await
            }
            other => {
                self.violation(format!("unknown client event type {other}"));
                let message = format!("Invalid value: '{other}'. Supported values are: 'session.update', \
                     'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', \
                     'conversation.item.create', 'conversation.item.truncate', 'conversation.item.delete', \
                     'conversation.item.retrieve', 'response.create', and 'response.cancel'.");
                self.error("invalid_value", &message, Some("type"), &event)
                    .await
            }
        }
    }

    async fn session_update(&mut self, event: &Value) -> Flow {
        let Some(update) = event.get("session").filter(|session| session.is_object()) else {
            return self
                .error(
                    "missing_required_parameter",
                    "Missing required parameter: 'session'.",
                    Some("session"),
                    event,
                )
                .await;
        };
        let fields = self.interface.session_fields();
        let unknown = update.as_object().and_then(|session| {
            session
                .keys()
                .find(|key| !fields.contains(&key.as_str()))
                .cloned()
        });
        if let Some(key) = unknown {
            self.violation(format!(
                "session.update field {key:?} does not exist in the {:?} interface",
                self.interface
            ));
            let message = format!("Unknown parameter: 'session.{key}'.");
            return self
                .error(
                    "unknown_parameter",
                    &message,
                    Some(&format!("session.{key}")),
                    event,
                )
                .await;
        }
        if self.interface == Interface::Ga && update["type"] != "realtime" {
            self.violation(format!(
                "GA session.update with session.type {}",
                update["type"]
            ));
            return self
                .error(
                    "missing_required_parameter",
                    "Missing required parameter: 'session.type'.",
                    Some("session.type"),
                    event,
                )
                .await;
        }
        let session = self.shared.update(|record| {
            wire::merge(&mut record.session, update);
            record.session.clone()
        });
        self.send(json!({"type": "session.updated", "session": session}))
            .await
    }

    /// The session's audio formats are not μ-law: the real server would send or expect PCM.
    /// Checked on every append and response, so it reads the format in place.
    fn check_formats(&mut self, direction: &'static str) {
        if self.reported.contains(direction) {
            return;
        }
        let format = {
            let record = self.shared.lock();
            let session = &record.session;
            let format = match (self.interface, direction) {
                (Interface::Ga, "input") => &session["audio"]["input"]["format"]["type"],
                (Interface::Ga, _) => &session["audio"]["output"]["format"]["type"],
                (Interface::Beta, "input") => &session["input_audio_format"],
                (Interface::Beta, _) => &session["output_audio_format"],
            };
            if format == "audio/pcmu" || format == "g711_ulaw" {
                return;
            }
            format.to_string()
        };
        self.violation_once(
            direction,
            format!(
                "{direction} audio format is {format}, not μ-law: the real server would not pass \
                 Twilio's audio through"
            ),
        );
    }

    async fn append(&mut self, event: &Value) -> Flow {
        self.check_formats("input");
        let decoded = event["audio"].as_str().map(|audio| STANDARD.decode(audio));
        match decoded {
            Some(Ok(bytes)) => {
                let keep = self.behaviour.record_audio;
                self.shared.update(|record| {
                    record.appended_bytes += bytes.len() as u64;
                    if keep {
                        record.appended_audio.extend_from_slice(&bytes);
                    }
                });
                Flow::Continue
            }
            _ => {
                self.violation("input_audio_buffer.append without base64 audio".into());
                self.error(
                    "invalid_value",
                    "Invalid 'audio'. Expected base64-encoded audio bytes.",
                    Some("audio"),
                    event,
                )
                .await
            }
        }
    }

    fn turn_detection_flag(&self, flag: &str) -> bool {
        let session = self.shared.lock().session.clone();
        let detection = self.interface.turn_detection(&session);
        !detection.is_null() && detection[flag].as_bool().unwrap_or(true)
    }

    fn next_script(&mut self) -> ScriptedResponse {
        let script = self
            .behaviour
            .script
            .get(self.script_index)
            .cloned()
            .unwrap_or_else(|| self.behaviour.default_response());
        self.script_index += 1;
        script
    }

    fn response_object(
        &self,
        id: &str,
        status: &str,
        reason: Option<&str>,
        output: Vec<Value>,
    ) -> Value {
        let session = self.shared.lock().session.clone();
        self.interface
            .response(id, status, reason, output, &session)
    }

    async fn start_audio(&mut self, script: ScriptedResponse) -> Flow {
        self.check_formats("output");
        let response_id = new_id("resp");
        let item_id = new_id("item");
        let item = self.interface.assistant_item(&item_id, "in_progress", None);
        let events = vec![
            json!({"type": "response.created", "response": self.response_object(&response_id, "in_progress", None, vec![])}),
            json!({"type": "response.output_item.added", "response_id": response_id, "output_index": 0, "item": item}),
            json!({"type": self.interface.item_added(), "previous_item_id": self.last_item, "item": item}),
            json!({"type": "response.content_part.added", "response_id": response_id, "item_id": item_id,
                   "output_index": 0, "content_index": 0, "part": self.interface.audio_part("")}),
        ];
        self.last_item = Some(item_id.clone());
        self.audio_items.insert(item_id.clone(), 0);
        self.current = Some(Playing {
            response_id,
            item_id,
            script,
            sent: 0,
            next_at: Instant::now(),
        });
        self.send_all(events).await
    }

    /// Plays the next audio delta of the response in progress, or finishes it.
    async fn step(&mut self) -> Flow {
        let Some(playing) = self.current.as_mut() else {
            return Flow::Continue;
        };
        if playing.sent >= playing.script.audio_chunks {
            return self.finish("completed", None).await;
        }
        playing.sent += 1;
        playing.next_at = match self.behaviour.pacing {
            Pacing::RealTime => playing.next_at + Duration::from_millis(20),
            Pacing::Fast => Instant::now(),
        };
        let (response_id, item_id) = (playing.response_id.clone(), playing.item_id.clone());
        let first = playing.sent == 1;
        let transcript = playing.script.transcript.clone();
        let chunk = self.tone.next_frame();
        *self.audio_items.entry(item_id.clone()).or_default() += chunk.len();
        self.shared
            .update(|record| record.audio_sent_bytes += chunk.len() as u64);
        let delta = json!({"type": self.interface.audio_delta(), "response_id": response_id, "item_id": item_id,
                           "output_index": 0, "content_index": 0, "delta": STANDARD.encode(&chunk)});
        let mut events = vec![delta];
        if first {
            events.push(json!({"type": self.interface.transcript_delta(), "response_id": response_id,
                               "item_id": item_id, "output_index": 0, "content_index": 0, "delta": transcript}));
        }
        self.send_all(events).await
    }

    /// Ends the response in progress (`completed`, or `cancelled` with a reason), then starts
    /// the next planned one.
    async fn finish(&mut self, status: &str, reason: Option<&str>) -> Flow {
        let Some(playing) = self.current.take() else {
            return Flow::Continue;
        };
        let transcript = if status == "completed" || playing.script.audio_chunks == 0 {
            playing.script.transcript.clone()
        } else {
            let words: Vec<&str> = playing.script.transcript.split_whitespace().collect();
            let heard = words.len() * playing.sent / playing.script.audio_chunks;
            words[..heard].join(" ")
        };
        let (response_id, item_id) = (playing.response_id, playing.item_id);
        let item_status = if status == "completed" {
            "completed"
        } else {
            "incomplete"
        };
        let item = self
            .interface
            .assistant_item(&item_id, item_status, Some(&transcript));
        let mut events = vec![
            json!({"type": self.interface.audio_done(), "response_id": response_id, "item_id": item_id,
                   "output_index": 0, "content_index": 0}),
            json!({"type": self.interface.transcript_done(), "response_id": response_id, "item_id": item_id,
                   "output_index": 0, "content_index": 0, "transcript": transcript}),
            json!({"type": "response.content_part.done", "response_id": response_id, "item_id": item_id,
                   "output_index": 0, "content_index": 0, "part": self.interface.audio_part(&transcript)}),
            json!({"type": "response.output_item.done", "response_id": response_id, "output_index": 0, "item": item}),
        ];
        if self.interface == Interface::Ga {
            events.push(json!({"type": "conversation.item.done", "item": item}));
        }
        events.push(json!({"type": "response.done",
                           "response": self.response_object(&response_id, status, reason, vec![item])}));
        events.push(wire::rate_limits());
        let flow = self.send_all(events).await;
        if !matches!(flow, Flow::Continue) {
            return flow;
        }
        self.start_planned().await
    }

    /// Starts what waited for the response that just ended.
    async fn start_planned(&mut self) -> Flow {
        while let Some(planned) = self.queue.pop_front() {
            let flow = match planned {
                Planned::Audio(script) => return self.start_audio(script).await,
                Planned::FunctionCall {
                    call_id,
                    name,
                    arguments,
                } => self.function_call(call_id, name, arguments).await,
            };
            if !matches!(flow, Flow::Continue) {
                return flow;
            }
        }
        Flow::Continue
    }

    async fn function_call(&mut self, call_id: String, name: String, arguments: String) -> Flow {
        if self.current.is_some() {
            self.queue.push_back(Planned::FunctionCall {
                call_id,
                name,
                arguments,
            });
            return Flow::Continue;
        }
        let response_id = new_id("resp");
        let item_id = new_id("item");
        let added = wire::function_call_item(&item_id, "in_progress", &call_id, &name, "");
        let done = wire::function_call_item(&item_id, "completed", &call_id, &name, &arguments);
        let mut arguments_done = json!({"type": "response.function_call_arguments.done", "response_id": response_id,
                                        "item_id": item_id, "output_index": 0, "call_id": call_id,
                                        "arguments": arguments});
        if self.interface == Interface::Ga {
            arguments_done["name"] = json!(name);
        }
        let mut events = vec![
            json!({"type": "response.created", "response": self.response_object(&response_id, "in_progress", None, vec![])}),
            json!({"type": "response.output_item.added", "response_id": response_id, "output_index": 0, "item": added}),
            json!({"type": self.interface.item_added(), "previous_item_id": self.last_item, "item": added}),
            json!({"type": "response.function_call_arguments.delta", "response_id": response_id,
                   "item_id": item_id, "output_index": 0, "call_id": call_id, "delta": arguments}),
            arguments_done,
            json!({"type": "response.output_item.done", "response_id": response_id, "output_index": 0, "item": done}),
        ];
        if self.interface == Interface::Ga {
            events.push(json!({"type": "conversation.item.done", "item": done}));
        }
        events.push(json!({"type": "response.done",
                           "response": self.response_object(&response_id, "completed", None, vec![done])}));
        events.push(wire::rate_limits());
        self.last_item = Some(item_id);
        self.call_ids.insert(call_id);
        self.send_all(events).await
    }

    async fn truncate(&mut self, event: &Value) -> Flow {
        self.shared
            .update(|record| record.truncates.push(event.clone()));
        let item_id = event["item_id"].as_str().unwrap_or_default().to_owned();
        let Some(audio_end_ms) = event["audio_end_ms"].as_u64() else {
            self.violation(format!("truncate without a whole audio_end_ms: {event}"));
            return self
                .error(
                    "missing_required_parameter",
                    "Missing required parameter: 'audio_end_ms'.",
                    Some("audio_end_ms"),
                    event,
                )
                .await;
        };
        let Some(bytes) = self.audio_items.get(&item_id).copied() else {
            self.violation(format!("truncate of an unknown item {item_id:?}"));
            let message = format!("Item with item_id '{item_id}' not found.");
            return self
                .error("invalid_value", &message, Some("item_id"), event)
                .await;
        };
        let audio_ms = bytes as u64 / 8;
        if audio_end_ms > audio_ms {
            self.violation(format!(
                "truncate at {audio_end_ms} ms of an item with {audio_ms} ms of audio"
            ));
            let message =
                format!("Audio content of {audio_ms}ms is already shorter than {audio_end_ms}ms");
            return self
                .error("invalid_value", &message, Some("audio_end_ms"), event)
                .await;
        }
        let content_index = event["content_index"].clone();
        self.send(
            json!({"type": "conversation.item.truncated", "item_id": item_id,
                         "content_index": content_index, "audio_end_ms": audio_end_ms}),
        )
        .await
    }

    async fn item_create(&mut self, event: &Value) -> Flow {
        let Some(mut item) = event.get("item").filter(|item| item.is_object()).cloned() else {
            return self
                .error(
                    "missing_required_parameter",
                    "Missing required parameter: 'item'.",
                    Some("item"),
                    event,
                )
                .await;
        };
        if item["type"] == "function_call_output" {
            let call_id = item["call_id"].as_str().unwrap_or_default();
            if !self.call_ids.contains(call_id) {
                self.violation(format!(
                    "function_call_output for unknown call_id {call_id:?}"
                ));
            }
            if !item["output"].is_string() {
                self.violation(format!(
                    "function_call_output whose output is not a string: {item}"
                ));
            }
        }
        let item_id = item["id"]
            .as_str()
            .map_or_else(|| new_id("item"), str::to_owned);
        item["id"] = json!(item_id);
        item["object"] = json!("realtime.item");
        item["status"] = json!("completed");
        let mut events = vec![
            json!({"type": self.interface.item_added(), "previous_item_id": self.last_item, "item": item}),
        ];
        if self.interface == Interface::Ga {
            events.push(json!({"type": "conversation.item.done", "previous_item_id": self.last_item, "item": item}));
        }
        self.last_item = Some(item_id);
        self.send_all(events).await
    }

    /// Commits the input buffer into a caller item; with `respond`, answers it as server VAD
    /// with `create_response` does.
    async fn commit(&mut self, respond: bool) -> Flow {
        let item_id = self.speech_item.take().unwrap_or_else(|| new_id("item"));
        let item = wire::user_item(&item_id);
        let mut events = vec![
            json!({"type": "input_audio_buffer.committed", "previous_item_id": self.last_item, "item_id": item_id}),
            json!({"type": self.interface.item_added(), "previous_item_id": self.last_item, "item": item}),
        ];
        if self.interface == Interface::Ga {
            events.push(json!({"type": "conversation.item.done", "previous_item_id": self.last_item, "item": item}));
        }
        self.last_item = Some(item_id.clone());
        self.transcript_item = Some(item_id);
        let flow = self.send_all(events).await;
        if respond && matches!(flow, Flow::Continue) && self.turn_detection_flag("create_response")
        {
            let script = self.next_script();
            if self.current.is_some() {
                self.queue.push_back(Planned::Audio(script));
                return Flow::Continue;
            }
            return self.start_audio(script).await;
        }
        flow
    }

    fn audio_ms(&self) -> u64 {
        self.shared.lock().appended_bytes / 8
    }

    async fn command(&mut self, command: Command) -> Flow {
        match command {
            Command::SpeechStarted => {
                let item_id = new_id("item");
                self.speech_item = Some(item_id.clone());
                let started = json!({"type": "input_audio_buffer.speech_started",
                                     "audio_start_ms": self.audio_ms(), "item_id": item_id});
                let flow = self.send(started).await;
                if matches!(flow, Flow::Continue)
                    && self.current.is_some()
                    && self.turn_detection_flag("interrupt_response")
                {
                    return self.finish("cancelled", Some("turn_detected")).await;
                }
                flow
            }
            Command::SpeechStopped => {
                let item_id = self.speech_item.clone().unwrap_or_else(|| new_id("item"));
                self.speech_item = Some(item_id.clone());
                let stopped = json!({"type": "input_audio_buffer.speech_stopped",
                                     "audio_end_ms": self.audio_ms(), "item_id": item_id});
                match self.send(stopped).await {
                    Flow::Continue => self.commit(true).await,
                    flow => flow,
                }
            }
            Command::CallerSays(text) => {
                let item_id = self
                    .transcript_item
                    .take()
                    .unwrap_or_else(|| new_id("item"));
                let seconds = (text.split_whitespace().count() as f64 * 0.4).max(0.5);
                self.send(
                    json!({"type": "conversation.item.input_audio_transcription.completed",
                                 "item_id": item_id, "content_index": 0, "transcript": text,
                                 "usage": {"type": "duration", "seconds": seconds}}),
                )
                .await
            }
            Command::FunctionCall {
                call_id,
                name,
                arguments,
            } => self.function_call(call_id, name, arguments).await,
            Command::Respond(script) => {
                let script = script.unwrap_or_else(|| self.next_script());
                if self.current.is_some() {
                    self.queue.push_back(Planned::Audio(script));
                    return Flow::Continue;
                }
                self.start_audio(script).await
            }
            Command::Error {
                kind,
                code,
                message,
            } => {
                self.send(wire::error(&kind, Some(&code), &message, None, None))
                    .await
            }
            Command::Send(event) => self.send(event).await,
            Command::Expire => {
                let message = "Your session hit the maximum duration of 60 minutes.";
                let flow = self
                    .send(wire::error(
                        "invalid_request_error",
                        Some("session_expired"),
                        message,
                        None,
                        None,
                    ))
                    .await;
                if !matches!(flow, Flow::Continue) {
                    return flow;
                }
                let frame = CloseFrame {
                    code: CloseCode::Away,
                    reason: message.into(),
                };
                let _ = self.ws.close(Some(frame)).await;
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    while let Some(Ok(_)) = self.ws.next().await {}
                })
                .await;
                Flow::End("session expired".into())
            }
            Command::Disconnect => Flow::Drop("disconnected by the test".into()),
        }
    }
}

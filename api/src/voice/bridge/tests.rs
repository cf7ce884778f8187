//! The bridge loop driven through channels: Twilio and OpenAI are played by the test.

mod barge_in;
mod failures;
mod tools;

use std::time::Duration;

use base64::Engine;
use domain::call::{CallCommand, Speaker};
use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::StreamExt;
use infrastructure::openai::realtime::Interface;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use super::*;
use crate::voice::recorder::Entry;

const STREAM: &str = "MZ0123456789abcdef0123456789abcdef";

fn plan() -> Plan {
    Plan {
        stream_sid: STREAM.to_owned(),
        interface: Interface::Ga,
        limits: Limits {
            session_max: Duration::from_secs(3_600),
            wrap_up_lead: Duration::from_secs(60),
            greeting_timeout: Duration::from_secs(5),
            goodbye_timeout: Duration::from_secs(15),
        },
        can_transfer: true,
        cancel_on_barge_in: !SESSION_CANCELS_ON_SPEECH,
    }
}

/// One call through the bridge, both sides played by the test.
struct Call {
    twilio: UnboundedSender<Result<Frame, String>>,
    to_twilio: UnboundedReceiver<String>,
    openai: UnboundedSender<Result<Frame, String>>,
    to_openai: UnboundedReceiver<String>,
    facts: tokio::sync::mpsc::UnboundedReceiver<Entry>,
    ended: JoinHandle<Ending>,
}

impl Call {
    fn start(plan: Plan) -> Self {
        let (twilio, twilio_in) = unbounded();
        let (twilio_out, to_twilio) = unbounded();
        let (openai, openai_in) = unbounded();
        let (openai_out, to_openai) = unbounded();
        let (journal, facts) = Journal::channel();
        let sides = Sides {
            twilio_in,
            twilio_out,
            openai_in,
            openai_out,
        };
        let bridge = Bridge::new(sides, plan, journal, Instant::now());
        let ended = tokio::spawn(async move { bridge.run().await.0 });
        Self {
            twilio,
            to_twilio,
            openai,
            to_openai,
            facts,
            ended,
        }
    }

    /// A call whose session is confirmed and whose greeting was asked for.
    async fn greeted() -> Self {
        Self::greeted_with(plan()).await
    }

    async fn greeted_with(plan: Plan) -> Self {
        let mut call = Self::start(plan);
        call.openai_sends(json!({"type": "session.updated", "session": {}}));
        assert_eq!(call.next_to_openai().await["type"], "response.create");
        call
    }

    fn twilio_sends(&self, message: Value) {
        self.twilio
            .unbounded_send(Ok(message.to_string().into()))
            .unwrap();
    }

    fn openai_sends(&self, event: Value) {
        self.openai
            .unbounded_send(Ok(event.to_string().into()))
            .unwrap();
    }

    fn caller_audio(&self, timestamp_ms: u64, payload: &str) {
        self.twilio_sends(json!({
            "event": "media", "sequenceNumber": "3", "streamSid": STREAM,
            "media": {"track": "inbound", "chunk": "2", "timestamp": timestamp_ms.to_string(), "payload": payload}
        }));
    }

    fn mark_played(&self, name: &str) {
        self.twilio_sends(json!({
            "event": "mark", "sequenceNumber": "9", "streamSid": STREAM, "mark": {"name": name}
        }));
    }

    fn agent_audio(&self, response_id: &str, item_id: &str, delta: &str) {
        self.openai_sends(json!({
            "type": "response.output_audio.delta", "event_id": "ev", "response_id": response_id,
            "item_id": item_id, "output_index": 0, "content_index": 0, "delta": delta
        }));
    }

    fn response_created(&self, response_id: &str) {
        self.openai_sends(json!({
            "type": "response.created", "response": {"id": response_id, "status": "in_progress"}
        }));
    }

    fn response_done(&self, response_id: &str, status: &str) {
        self.openai_sends(json!({
            "type": "response.done", "response": {"id": response_id, "status": status, "output": []}
        }));
    }

    fn speech_started(&self, item_id: &str) {
        self.openai_sends(json!({
            "type": "input_audio_buffer.speech_started", "audio_start_ms": 1000, "item_id": item_id
        }));
    }

    async fn next_to_twilio(&mut self) -> Value {
        next(&mut self.to_twilio).await
    }

    async fn next_to_openai(&mut self) -> Value {
        next(&mut self.to_openai).await
    }

    /// Waits for a fact (a second of virtual time at most).
    async fn next_fact(&mut self) -> CallCommand {
        let fact = tokio::time::timeout(Duration::from_secs(1), self.facts.recv()).await;
        fact.expect("a fact is recorded")
            .expect("the journal is open")
            .command
    }

    /// Sends agent audio and returns the mark sent after it, checking the audio went through
    /// untouched.
    async fn play(&mut self, response_id: &str, item_id: &str, delta: &str) -> String {
        self.agent_audio(response_id, item_id, delta);
        let media = self.next_to_twilio().await;
        assert_eq!(
            media,
            json!({"event": "media", "streamSid": STREAM, "media": {"payload": delta}})
        );
        let mark = self.next_to_twilio().await;
        assert_eq!(mark["event"], "mark");
        assert_eq!(mark["streamSid"], STREAM);
        mark["mark"]["name"].as_str().unwrap().to_owned()
    }

    /// Sends agent audio too short to be marked by itself, checking it went through untouched
    /// and alone.
    async fn play_unmarked(&mut self, response_id: &str, item_id: &str, delta: &str) {
        self.agent_audio(response_id, item_id, delta);
        let media = self.next_to_twilio().await;
        assert_eq!(
            media,
            json!({"event": "media", "streamSid": STREAM, "media": {"payload": delta}})
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(self.to_twilio.try_recv().is_err(), "no mark yet");
    }

    async fn ended(self) -> Ending {
        tokio::time::timeout(Duration::from_secs(3_600), self.ended)
            .await
            .expect("the bridge ends")
            .unwrap()
    }

    /// Nothing more was sent to either side (after letting the bridge run).
    async fn nothing_sent(&mut self) {
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(self.to_twilio.try_recv().is_err(), "nothing more to Twilio");
        assert!(self.to_openai.try_recv().is_err(), "nothing more to OpenAI");
    }
}

async fn next(receiver: &mut UnboundedReceiver<String>) -> Value {
    let text = tokio::time::timeout(Duration::from_secs(1), receiver.next())
        .await
        .expect("a message is sent in time")
        .expect("the socket is open");
    serde_json::from_str(&text).unwrap()
}

/// `ms` milliseconds of μ-law silence, base64.
fn audio(ms: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(vec![0xFF_u8; ms * 8])
}

#[tokio::test(start_paused = true)]
async fn it_should_let_the_agent_greet_first_once_the_session_is_updated() {
    let mut call = Call::start(plan());
    call.openai_sends(json!({"type": "session.created", "session": {}}));
    call.nothing_sent().await;

    call.openai_sends(json!({"type": "session.updated", "session": {}}));

    assert_eq!(
        call.next_to_openai().await,
        json!({"type": "response.create"})
    );
}

#[tokio::test(start_paused = true)]
async fn it_should_append_the_callers_audio_untouched() {
    let mut call = Call::greeted().await;
    let payload = "fn8AAP+A/38=";

    call.caller_audio(20, payload);

    assert_eq!(
        call.next_to_openai().await,
        json!({"type": "input_audio_buffer.append", "audio": payload})
    );
}

#[tokio::test(start_paused = true)]
async fn it_should_play_the_agents_audio_untouched_each_long_chunk_followed_by_a_unique_mark() {
    let mut call = Call::greeted().await;
    call.response_created("resp_1");

    let first = call.play("resp_1", "item_a", &audio(100)).await;
    let second = call.play("resp_1", "item_a", &audio(100)).await;
    let third = call.play("resp_1", "item_b", &audio(300)).await;

    assert_ne!(first, second);
    assert_ne!(second, third);
    assert_ne!(first, third);
}

#[tokio::test(start_paused = true)]
async fn it_should_mark_short_chunks_every_100_ms_and_at_the_end_of_the_items_audio() {
    let mut call = Call::greeted().await;
    call.response_created("resp_1");

    for _ in 0..4 {
        call.play_unmarked("resp_1", "item_a", &audio(20)).await;
    }
    let hundred_ms = call.play("resp_1", "item_a", &audio(20)).await;
    call.play_unmarked("resp_1", "item_a", &audio(20)).await;
    call.openai_sends(json!({"type": "response.output_audio.done", "response_id": "resp_1", "item_id": "item_a", "output_index": 0, "content_index": 0}));
    let tail = call.next_to_twilio().await;

    assert_eq!(tail["event"], "mark");
    assert_ne!(tail["mark"]["name"], hundred_ms.as_str());
    call.response_done("resp_1", "completed");
    call.nothing_sent().await;
}

#[tokio::test(start_paused = true)]
async fn it_should_record_what_both_sides_said_with_offsets_from_the_session_start() {
    let mut call = Call::greeted().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mark = call.play("resp_1", "item_a", &audio(200)).await;
    call.openai_sends(json!({"type": "response.output_audio_transcript.done", "item_id": "item_a", "output_index": 0, "content_index": 0, "transcript": "Joe's Plumbing, hello!"}));
    call.mark_played(&mark);

    assert_eq!(
        call.next_fact().await,
        CallCommand::RecordTranscriptSegment {
            speaker: Speaker::Agent,
            text: "Joe's Plumbing, hello!".into(),
            offset_ms: 300,
        }
    );

    tokio::time::sleep(Duration::from_millis(1_000)).await;
    call.speech_started("item_caller");
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    call.openai_sends(json!({"type": "conversation.item.input_audio_transcription.completed", "item_id": "item_caller", "content_index": 0, "transcript": " My sink leaks. "}));

    assert_eq!(
        call.next_fact().await,
        CallCommand::RecordTranscriptSegment {
            speaker: Speaker::Caller,
            text: "My sink leaks.".into(),
            offset_ms: 1_300,
        }
    );
}

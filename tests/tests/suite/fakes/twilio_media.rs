//! `MediaStreamClient` against a plain WebSocket server that checks the signature as our
//! server must, and plays the bridge's side by hand.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use futures::{SinkExt as _, StreamExt as _};
use infrastructure::twilio::signature::{Body, SignedRequest, Signer};
use serde_json::{json, Value};
use support::fake_twilio_media::{
    audio_duration, AudioSource, MediaStreamClient, MediaStreamOptions, Playout, SignatureMode,
};
use support::TEST_AUTH_TOKEN;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;

const PUBLIC_URL: &str = "wss://calls.example.com/twilio/media-stream";
const WAIT: Duration = Duration::from_secs(5);

/// A one-connection server on a free port that accepts only a valid Twilio signature over
/// [`PUBLIC_URL`].
struct Peer {
    url: String,
    accepted: oneshot::Receiver<Option<Ws>>,
}

impl Peer {
    #[expect(
        clippy::result_large_err,
        reason = "tungstenite fixes the callback's error type (an HTTP response)"
    )]
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "ws://{}/twilio/media-stream",
            listener.local_addr().unwrap()
        );
        let (tell, accepted) = oneshot::channel();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let check = |request: &Request, response: Response| {
                let signature = request
                    .headers()
                    .get("x-twilio-signature")
                    .and_then(|value| value.to_str().ok());
                let verdict =
                    Signer::new(TEST_AUTH_TOKEN.to_owned().into()).validate(&SignedRequest {
                        url: PUBLIC_URL,
                        body: Body::None,
                        signature,
                        settings_header: None,
                    });
                match (verdict, request.uri().path()) {
                    (Ok(()), "/twilio/media-stream") => Ok(response),
                    _ => {
                        let mut refusal = ErrorResponse::new(None);
                        *refusal.status_mut() = tungstenite::http::StatusCode::FORBIDDEN;
                        Err(refusal)
                    }
                }
            };
            let _ = tell.send(
                tokio_tungstenite::accept_hdr_async(stream, check)
                    .await
                    .ok(),
            );
        });
        Self { url, accepted }
    }

    async fn accept(self) -> Ws {
        tokio::time::timeout(WAIT, self.accepted)
            .await
            .unwrap()
            .unwrap()
            .expect("the handshake is accepted")
    }
}

async fn next_message(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
        {
            Some(Ok(Message::Text(text))) => {
                return Some(serde_json::from_str(text.as_str()).unwrap())
            }
            Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Messages up to and including the first `event`.
async fn until_event(ws: &mut Ws, event: &str) -> Vec<Value> {
    let mut messages = Vec::new();
    loop {
        let message = next_message(ws)
            .await
            .unwrap_or_else(|| panic!("closed before {event}"));
        let done = message["event"] == event;
        messages.push(message);
        if done {
            return messages;
        }
    }
}

async fn send(ws: &mut Ws, message: Value) {
    ws.send(Message::text(message.to_string())).await.unwrap();
}

/// Connects a client with silence and returns both ends past `connected` and `start`.
async fn stream(call_sid: &str) -> (MediaStreamClient, Ws, Value) {
    let peer = Peer::start().await;
    let client = MediaStreamClient::connect(
        &peer.url,
        PUBLIC_URL,
        TEST_AUTH_TOKEN,
        call_sid,
        &[("call_sid", call_sid)],
    )
    .await
    .unwrap();
    let mut ws = peer.accept().await;
    assert_eq!(next_message(&mut ws).await.unwrap()["event"], "connected");
    let start = next_message(&mut ws).await.unwrap();
    (client, ws, start)
}

/// Sends `ms` of agent audio in 20 ms `media` messages.
async fn send_audio(ws: &mut Ws, stream_sid: &str, ms: usize) {
    for _ in 0..ms / 20 {
        let payload = STANDARD.encode([0x7F_u8; 160]);
        send(
            ws,
            json!({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}}),
        )
        .await;
    }
}

async fn send_mark(ws: &mut Ws, stream_sid: &str, name: &str) {
    send(
        ws,
        json!({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}}),
    )
    .await;
}

#[tokio::test]
async fn it_should_sign_the_handshake_and_start_the_stream_as_twilio_does() {
    let call_sid = support::new_call_sid();

    let (client, mut ws, start) = stream(&call_sid).await;
    let media = until_event(&mut ws, "media").await;

    assert_eq!(start["event"], "start");
    assert_eq!(start["sequenceNumber"], "1");
    let stream_sid = start["streamSid"].as_str().unwrap();
    assert!(
        stream_sid.starts_with("MZ") && stream_sid.len() == 34,
        "{stream_sid}"
    );
    assert_eq!(client.stream_sid(), stream_sid);
    assert_eq!(start["start"]["streamSid"], stream_sid);
    assert_eq!(start["start"]["callSid"], call_sid.as_str());
    assert_eq!(start["start"]["accountSid"], support::TEST_ACCOUNT_SID);
    assert_eq!(start["start"]["tracks"], json!(["inbound"]));
    assert_eq!(
        start["start"]["mediaFormat"],
        json!({"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1})
    );
    assert_eq!(
        start["start"]["customParameters"],
        json!({"call_sid": call_sid})
    );
    let first = media.last().unwrap();
    assert_eq!(first["sequenceNumber"], "2");
    assert_eq!(first["streamSid"], stream_sid);
    assert_eq!(first["media"]["track"], "inbound");
    assert_eq!(first["media"]["chunk"], "1");
    assert!(first["media"]["timestamp"].is_string());
    let payload = STANDARD
        .decode(first["media"]["payload"].as_str().unwrap())
        .unwrap();
    assert_eq!(payload, vec![0xFF; 160], "silence");
}

#[tokio::test]
async fn it_should_send_a_frame_every_20_ms_with_string_counters() {
    let (client, mut ws, _) = stream(&support::new_call_sid()).await;

    let mut frames = Vec::new();
    while frames.len() < 10 {
        let message = next_message(&mut ws).await.unwrap();
        if message["event"] == "media" {
            frames.push(message);
        }
    }

    let number = |value: &Value| value.as_str().unwrap().parse::<u64>().unwrap();
    for pair in frames.windows(2) {
        assert_eq!(
            number(&pair[1]["sequenceNumber"]),
            number(&pair[0]["sequenceNumber"]) + 1
        );
        assert_eq!(
            number(&pair[1]["media"]["chunk"]),
            number(&pair[0]["media"]["chunk"]) + 1
        );
        assert!(number(&pair[1]["media"]["timestamp"]) >= number(&pair[0]["media"]["timestamp"]));
    }
    let span = number(&frames[9]["media"]["timestamp"]) - number(&frames[0]["media"]["timestamp"]);
    assert!(
        (170..=2000).contains(&span),
        "9 intervals of 20 ms took {span} ms"
    );
    assert!(client.frames_sent() >= 10);
}

#[tokio::test]
async fn it_should_be_refused_with_a_wrong_signature() {
    let peer = Peer::start().await;
    let mut options = MediaStreamOptions::new(
        &peer.url,
        PUBLIC_URL,
        TEST_AUTH_TOKEN,
        &support::new_call_sid(),
    );
    options.signature = SignatureMode::Given("bm90IGEgc2lnbmF0dXJl".into());

    let refused = MediaStreamClient::connect_with(options).await;

    match refused {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        Err(other) => panic!("expected a 403, got {other:?}"),
        Ok(_) => panic!("expected a 403, got a stream"),
    }
}

#[tokio::test]
async fn it_should_be_refused_when_signed_over_another_url() {
    let peer = Peer::start().await;

    let refused = MediaStreamClient::connect(
        &peer.url,
        "wss://elsewhere.example.com/twilio/media-stream",
        TEST_AUTH_TOKEN,
        &support::new_call_sid(),
        &[],
    )
    .await;

    assert!(
        matches!(refused, Err(tungstenite::Error::Http(ref response)) if response.status() == 403)
    );
}

#[tokio::test]
async fn it_should_echo_a_mark_once_the_audio_before_it_has_played() {
    let (client, mut ws, start) = stream(&support::new_call_sid()).await;
    let stream_sid = start["streamSid"].as_str().unwrap();
    let sent = Instant::now();

    send_audio(&mut ws, stream_sid, 300).await;
    send_mark(&mut ws, stream_sid, "greeting-1").await;
    let echo = until_event(&mut ws, "mark").await.pop().unwrap();

    let waited = sent.elapsed();
    assert_eq!(echo["mark"]["name"], "greeting-1");
    assert_eq!(echo["streamSid"], stream_sid);
    assert!(echo["sequenceNumber"].is_string());
    assert!(
        waited >= Duration::from_millis(280),
        "echoed after {waited:?}"
    );
    assert_eq!(client.received_audio_ms(), 300);
    assert_eq!(client.marks_echoed()[0].0, "greeting-1");
    assert!(client.violations().is_empty(), "{:?}", client.violations());
}

#[tokio::test]
async fn it_should_echo_a_mark_at_once_when_nothing_is_left_to_play() {
    let (client, mut ws, start) = stream(&support::new_call_sid()).await;
    let stream_sid = start["streamSid"].as_str().unwrap();
    let sent = Instant::now();

    send_mark(&mut ws, stream_sid, "empty").await;
    until_event(&mut ws, "mark").await;

    assert!(sent.elapsed() < Duration::from_millis(500));
    assert_eq!(client.marks_received().len(), 1);
}

#[tokio::test]
async fn it_should_drop_unplayed_audio_and_never_echo_its_marks_after_a_clear() {
    let (client, mut ws, start) = stream(&support::new_call_sid()).await;
    let stream_sid = start["streamSid"].as_str().unwrap().to_owned();
    send_audio(&mut ws, &stream_sid, 1000).await;
    send_mark(&mut ws, &stream_sid, "long-answer").await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    send(&mut ws, json!({"event": "clear", "streamSid": stream_sid})).await;
    client.wait_for(|log| !log.clears.is_empty(), WAIT).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    send_audio(&mut ws, &stream_sid, 100).await;
    send_mark(&mut ws, &stream_sid, "after-clear").await;
    client
        .wait_for(|log| !log.marks_echoed.is_empty(), WAIT)
        .await;

    let clears = client.clears();
    assert_eq!(clears.len(), 1);
    assert_eq!(clears[0].dropped_marks, vec!["long-answer".to_owned()]);
    // The second of audio started playing with its first frame and was cut at the clear.
    let first_audio = client.with_log(|log| {
        log.received
            .iter()
            .find(|received| received.message["event"] == "media")
            .unwrap()
            .at
    });
    let played_before_clear = clears[0].at - first_audio;
    let dropped = clears[0].dropped_audio;
    let total = dropped + played_before_clear;
    assert!(
        total.abs_diff(Duration::from_secs(1)) < Duration::from_millis(20),
        "dropped {dropped:?} + played {played_before_clear:?} = the second sent"
    );
    assert!(dropped > Duration::ZERO && dropped < Duration::from_millis(950));
    assert_eq!(
        client.with_log(|log| log.echoed_names()),
        vec!["after-clear".to_owned()]
    );
    let heard = client.played_audio_ms();
    let expected = 1100 - dropped.as_millis() as u64;
    assert!(
        heard.abs_diff(expected) <= 20,
        "heard {heard} ms, expected {expected}"
    );
}

#[tokio::test]
async fn it_should_send_stop_and_close_on_stop() {
    let (client, mut ws, _) = stream(&support::new_call_sid()).await;

    let peer = tokio::spawn(async move {
        let messages = until_event(&mut ws, "stop").await;
        let after = next_message(&mut ws).await;
        // Reading on sends the reply to the client's close frame, as a server does.
        while let Some(Ok(_)) = ws.next().await {}
        (messages, after)
    });
    let started = Instant::now();
    client.stop().await;
    let (messages, after) = peer.await.unwrap();

    let stop = messages.last().unwrap();
    assert_eq!(stop["streamSid"], client.stream_sid());
    assert_eq!(stop["stop"]["callSid"], client.call_sid());
    assert_eq!(stop["stop"]["accountSid"], support::TEST_ACCOUNT_SID);
    assert!(after.is_none(), "closed after stop");
    let closed = client.closed().unwrap();
    assert!(closed.by_us);
    assert_eq!(closed.code, Some(1000), "the server answered the close");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "no wait for a timeout"
    );
}

#[tokio::test]
async fn it_should_vanish_without_stop_when_the_connection_drops() {
    let (client, mut ws, _) = stream(&support::new_call_sid()).await;

    client.drop_connection().await;
    let mut saw_stop = false;
    while let Some(message) = next_message(&mut ws).await {
        saw_stop |= message["event"] == "stop";
    }

    assert!(!saw_stop);
    assert!(client.closed().unwrap().by_us);
}

#[tokio::test]
async fn it_should_send_dtmf_and_switch_to_a_tone() {
    let (client, mut ws, _) = stream(&support::new_call_sid()).await;

    client.send_dtmf('5');
    client.set_source(AudioSource::Tone(440));
    let dtmf = until_event(&mut ws, "dtmf").await.pop().unwrap();
    let mut tone = None;
    while tone.is_none() {
        let message = until_event(&mut ws, "media").await.pop().unwrap();
        let payload = STANDARD
            .decode(message["media"]["payload"].as_str().unwrap())
            .unwrap();
        if payload.iter().any(|byte| *byte != 0xFF) {
            tone = Some(payload);
        }
    }

    assert_eq!(
        dtmf["dtmf"],
        json!({"track": "inbound_track", "digit": "5"})
    );
    assert_eq!(dtmf["streamSid"], client.stream_sid());
    assert_eq!(tone.unwrap().len(), 160);
}

#[tokio::test]
async fn it_should_record_what_twilio_would_reject_as_violations() {
    let (client, mut ws, _) = stream(&support::new_call_sid()).await;

    send(
        &mut ws,
        json!({"event": "media", "streamSid": "MZwrong", "media": {"payload": "AAAA"}}),
    )
    .await;
    send(&mut ws, json!({"event": "playAudio"})).await;
    ws.send(Message::text("not json")).await.unwrap();
    client.wait_for(|log| log.violations.len() == 3, WAIT).await;

    assert_eq!(client.received_audio_ms(), 0);
}

#[tokio::test]
async fn it_should_see_the_server_close_the_stream() {
    let (client, mut ws, _) = stream(&support::new_call_sid()).await;

    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    let closed = client.wait_closed(WAIT).await;

    assert!(!closed.by_us);
    assert_eq!(closed.code, Some(1000));
    assert_eq!(closed.reason, "bye");
}

#[test]
fn playout_should_release_marks_in_order_as_their_audio_plays() {
    let start = Instant::now();
    let mut playout = Playout::default();

    playout.push_audio(start, 1600);
    playout.push_mark(start, "a".into());
    playout.push_audio(start, 800);
    playout.push_mark(start, "b".into());

    assert_eq!(audio_duration(1600), Duration::from_millis(200));
    assert!(playout
        .due_marks(start + Duration::from_millis(199))
        .is_empty());
    assert_eq!(
        playout.due_marks(start + Duration::from_millis(200)),
        vec!["a".to_owned()]
    );
    assert_eq!(playout.next_due(), Some(start + Duration::from_millis(300)));
    let dropped = playout.clear(start + Duration::from_millis(250));
    assert_eq!(dropped.audio, Duration::from_millis(50));
    assert_eq!(dropped.marks, vec!["b".to_owned()]);
    assert_eq!(
        playout.buffered(start + Duration::from_millis(250)),
        Duration::ZERO
    );
}

// Test code: a panic is a failed assertion with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use infrastructure::twilio::media::{parse, StreamEvent};

use super::caller::BURST_GAP;
use super::*;
use crate::voice::demo_agent::audio::{is_loud, FRAME_BYTES, SILENCE};

const SID: &str = "MZ00000000000000000000000000000001";

fn audio(bytes: usize) -> String {
    media::media(
        SID,
        &base64::engine::general_purpose::STANDARD.encode(vec![SILENCE; bytes]),
    )
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn it_should_echo_each_mark_once_the_audio_before_it_has_played() {
    let t0 = Instant::now();
    let mut caller = Caller::default();

    caller.on_server(t0, &audio(1_600));
    caller.on_server(t0, &media::mark(SID, "m1"));
    caller.on_server(t0, &audio(1_600));
    caller.on_server(t0, &media::mark(SID, "m2"));
    let early = caller.due_marks(t0 + ms(199));
    let first = caller.due_marks(t0 + ms(200));
    let second = caller.due_marks(t0 + ms(400));

    assert!(early.is_empty());
    assert_eq!(first, ["m1"]);
    assert_eq!(second, ["m2"]);
    assert_eq!(caller.agent_audio, ms(400));
    assert_eq!(caller.marks_echoed, 2);
    assert_eq!(
        caller.lines,
        [
            "← agent audio: 0.40 s in 2 chunks, 2 marks",
            "→ marks echoed: 2 (all the agent audio sent so far has played)"
        ]
    );
}

#[test]
fn it_should_queue_audio_behind_what_is_still_playing() {
    let t0 = Instant::now();
    let mut caller = Caller::default();

    caller.on_server(t0, &audio(800));
    caller.on_server(t0 + ms(50), &audio(800));
    caller.on_server(t0 + ms(50), &media::mark(SID, "m"));
    caller.on_server(t0 + ms(500), &audio(800));

    assert!(caller.due_marks(t0 + ms(199)).is_empty());
    assert_eq!(caller.due_marks(t0 + ms(200)), ["m"]);
    assert_eq!(
        caller.next_wake(),
        Some(t0 + ms(500) + BURST_GAP),
        "the last audio is reported after a gap"
    );
}

#[test]
fn it_should_drop_unplayed_audio_and_pending_marks_at_a_clear() {
    let t0 = Instant::now();
    let mut caller = Caller::default();

    caller.on_server(t0, &audio(8_000));
    caller.on_server(t0, &media::mark(SID, "m1"));
    caller.on_server(t0 + ms(250), &media::clear(SID));
    let after = caller.due_marks(t0 + ms(2_000));
    caller.on_server(t0 + ms(2_000), &audio(160));
    caller.on_server(t0 + ms(2_000), &media::mark(SID, "m2"));

    assert!(after.is_empty(), "a cleared mark is never echoed");
    assert_eq!(caller.clears, 1);
    assert!(caller
        .lines
        .contains(&"← clear: 0.75 s of unplayed agent audio and 1 marks dropped".to_owned()));
    assert_eq!(
        caller.due_marks(t0 + ms(2_020)),
        ["m2"],
        "new audio plays from now"
    );
}

#[test]
fn it_should_speak_once_after_the_agent_has_been_heard() {
    let t0 = Instant::now();
    let mut caller = Caller::default();

    let before = caller.next_frame(t0);
    caller.on_server(t0, &audio(12_000));
    caller.on_server(t0, &media::mark(SID, "greeting"));
    let during = caller.next_frame(t0 + ms(1_000));
    caller.due_marks(t0 + ms(1_500));
    let pause = caller.next_frame(t0 + ms(1_700));
    let speaking = caller.next_frame(t0 + ms(1_900));
    let after = caller.next_frame(t0 + ms(2_800));
    caller.due_marks(t0 + ms(3_000));
    let later = caller.next_frame(t0 + ms(3_000));

    for silent in [&before, &during, &pause, &after, &later] {
        assert!(!is_loud(silent));
        assert_eq!(silent.len(), FRAME_BYTES);
    }
    assert!(is_loud(&speaking));
    assert_eq!(speaking.len(), FRAME_BYTES);
    assert!(caller
        .lines
        .iter()
        .any(|line| line.contains("the caller speaks")));
}

#[test]
fn it_should_send_what_the_server_reads_as_twilio_messages() {
    let signer = Signer::new("token".to_owned().into());
    let parameters = vec![
        ("call_sid".to_owned(), "CA1".to_owned()),
        ("business_id".to_owned(), "b".to_owned()),
    ];
    let call = StreamCall {
        server_url: "ws://127.0.0.1:1/twilio/media-stream".to_owned(),
        public_url: "wss://example.com/twilio/media-stream",
        signer: &signer,
        account_sid: "AC1",
        call_sid: "CA1",
        parameters: &parameters,
        limit: ms(1_000),
    };
    let mut out = Outbound::new(SID);

    let texts = [
        Outbound::connected(),
        serde_json::to_string(&out.start(&call)).unwrap(),
        out.media(ms(40), &[SILENCE; FRAME_BYTES]),
        out.stop(&call),
    ];
    let [connected, start, media, stop] = texts.each_ref().map(|text| parse(text).unwrap());

    assert!(matches!(connected, StreamEvent::Connected { .. }));
    let StreamEvent::Start(start) = start else {
        panic!("{start:?}")
    };
    assert_eq!(start.stream_sid, SID);
    assert_eq!(start.call_sid, "CA1");
    assert_eq!(start.tracks, ["inbound"]);
    assert_eq!(
        (start.encoding.as_str(), start.sample_rate, start.channels),
        ("audio/x-mulaw", 8_000, 1)
    );
    assert_eq!(start.custom_parameters["business_id"], "b");
    let StreamEvent::Media(frame) = media else {
        panic!("{media:?}")
    };
    assert_eq!((frame.chunk, frame.timestamp_ms), (1, 40));
    assert_eq!(frame.track, "inbound");
    assert!(matches!(stop, StreamEvent::Stop { call_sid: Some(sid), .. } if sid == "CA1"));
}

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

const START: &str = r#"{"event":"start","sequenceNumber":"1","streamSid":"MZ11","start":{"accountSid":"AC22","streamSid":"MZ11","callSid":"CA33","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"call_id":"c-1","business_id":"b-2"}}}"#;
const MEDIA: &str = r#"{"event":"media","sequenceNumber":"3","streamSid":"MZ11","media":{"track":"inbound","chunk":"2","timestamp":"40","payload":"//7+/w=="}}"#;

#[test]
fn it_should_read_the_connected_message() {
    let event = parse(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#).unwrap();
    assert_eq!(
        event,
        StreamEvent::Connected {
            protocol: "Call".to_owned(),
            version: "1.0.0".to_owned()
        }
    );
}

#[test]
fn it_should_read_the_start_message_with_its_custom_parameters() {
    let StreamEvent::Start(start) = parse(START).unwrap() else {
        panic!("not a start");
    };
    assert_eq!(start.stream_sid, "MZ11");
    assert_eq!(start.call_sid, "CA33");
    assert_eq!(start.account_sid, "AC22");
    assert_eq!(start.tracks, vec!["inbound".to_owned()]);
    assert_eq!(start.encoding, "audio/x-mulaw");
    assert_eq!(start.sample_rate, 8000);
    assert_eq!(start.channels, 1);
    assert_eq!(start.custom_parameters.len(), 2);
    assert_eq!(start.custom_parameters["call_id"], "c-1");
    assert_eq!(start.custom_parameters["business_id"], "b-2");
}

#[test]
fn it_should_take_the_stream_sid_from_the_top_when_start_lacks_it() {
    let mut message: Value = serde_json::from_str(START).unwrap();
    message["start"]
        .as_object_mut()
        .unwrap()
        .remove("streamSid");
    message["start"]
        .as_object_mut()
        .unwrap()
        .remove("customParameters");
    let StreamEvent::Start(start) = parse(&message.to_string()).unwrap() else {
        panic!("not a start");
    };
    assert_eq!(start.stream_sid, "MZ11");
    assert!(start.custom_parameters.is_empty());
}

#[test]
fn it_should_read_a_media_frame_whose_numbers_are_strings() {
    assert_eq!(
        parse(MEDIA).unwrap(),
        StreamEvent::Media(MediaFrame {
            stream_sid: "MZ11".into(),
            track: "inbound".into(),
            chunk: 2,
            timestamp_ms: 40,
            payload: "//7+/w==".into(),
        })
    );
}

#[test]
fn it_should_borrow_a_media_frame_s_strings_from_the_message() {
    let StreamEvent::Media(frame) = parse(MEDIA).unwrap() else {
        panic!("not media");
    };
    for field in [&frame.stream_sid, &frame.track, &frame.payload] {
        assert!(matches!(field, Cow::Borrowed(_)), "{field} was copied");
    }
}

#[test]
fn it_should_also_read_numbers_sent_as_numbers() {
    let text = MEDIA
        .replace(r#""chunk":"2""#, r#""chunk":2"#)
        .replace(r#""timestamp":"40""#, r#""timestamp":40"#);
    let StreamEvent::Media(frame) = parse(&text).unwrap() else {
        panic!("not media");
    };
    assert_eq!((frame.chunk, frame.timestamp_ms), (2, 40));
}

#[test]
fn it_should_read_mark_dtmf_and_stop() {
    assert_eq!(
        parse(
            r#"{"event":"mark","streamSid":"MZ11","sequenceNumber":"9","mark":{"name":"agent-7"}}"#
        )
        .unwrap(),
        StreamEvent::Mark {
            stream_sid: "MZ11".to_owned(),
            name: "agent-7".to_owned()
        }
    );
    assert_eq!(
        parse(r#"{"event":"dtmf","streamSid":"MZ11","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}"#)
            .unwrap(),
        StreamEvent::Dtmf {
            stream_sid: "MZ11".to_owned(),
            digit: "1".to_owned()
        }
    );
    assert_eq!(
        parse(r#"{"event":"stop","streamSid":"MZ11","sequenceNumber":"10","stop":{"accountSid":"AC22","callSid":"CA33"}}"#)
            .unwrap(),
        StreamEvent::Stop {
            stream_sid: "MZ11".to_owned(),
            call_sid: Some("CA33".to_owned())
        }
    );
    assert_eq!(
        parse(r#"{"event":"stop","streamSid":"MZ11"}"#).unwrap(),
        StreamEvent::Stop {
            stream_sid: "MZ11".to_owned(),
            call_sid: None
        }
    );
}

#[test]
fn it_should_name_an_unknown_event() {
    assert_eq!(
        parse(r#"{"event":"transcription","streamSid":"MZ11"}"#),
        Err(MediaError::Unknown("transcription".to_owned()))
    );
    assert_eq!(
        parse(r#"{"event":"future","media":42}"#),
        Err(MediaError::Unknown("future".to_owned())),
        "an unknown event whose fields clash with ours is still unknown"
    );
}

#[test]
fn it_should_call_malformed_what_is_not_a_media_streams_message() {
    for text in [
        "",
        "not json",
        "[]",
        "{}",
        r#"{"event":42}"#,
        r#"{"event":"media","streamSid":"MZ11"}"#,
        r#"{"event":"media","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":""}}"#,
        r#"{"event":"media","streamSid":"MZ11","media":{"track":"inbound","chunk":"x","timestamp":"0","payload":""}}"#,
        r#"{"event":"media","streamSid":"MZ11","media":{"track":"inbound","chunk":"-1","timestamp":"0","payload":""}}"#,
        r#"{"event":"start","streamSid":"MZ11","start":{"callSid":"CA33"}}"#,
        r#"{"event":"start","streamSid":"MZ11","start":{"accountSid":"AC","callSid":"CA","mediaFormat":{"encoding":"x","sampleRate":99999999999,"channels":1}}}"#,
        r#"{"event":"connected","protocol":"Call"}"#,
        r#"{"event":"mark","streamSid":"MZ11","mark":{}}"#,
        r#"{"event":"dtmf","streamSid":"MZ11"}"#,
        r#"{"event":"stop"}"#,
        r#"{"event":"media","streamSid":"MZ11","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":""}"#,
    ] {
        assert!(
            matches!(parse(text), Err(MediaError::Malformed(_))),
            "{text}: {:?}",
            parse(text)
        );
    }
}

#[test]
fn it_should_write_exactly_the_messages_twilio_expects() {
    let sent: Value = serde_json::from_str(&media("MZ11", "//7+/w==")).unwrap();
    assert_eq!(
        sent,
        json!({"event":"media","streamSid":"MZ11","media":{"payload":"//7+/w=="}})
    );
    let sent: Value = serde_json::from_str(&mark("MZ11", "agent-7")).unwrap();
    assert_eq!(
        sent,
        json!({"event":"mark","streamSid":"MZ11","mark":{"name":"agent-7"}})
    );
    let sent: Value = serde_json::from_str(&clear("MZ11")).unwrap();
    assert_eq!(sent, json!({"event":"clear","streamSid":"MZ11"}));
    assert_eq!(
        media("MZ11", "AAAA"),
        r#"{"event":"media","streamSid":"MZ11","media":{"payload":"AAAA"}}"#
    );
    assert_eq!(clear("MZ11"), r#"{"event":"clear","streamSid":"MZ11"}"#);
}

#[test]
fn it_should_escape_what_it_writes() {
    let sent: Value = serde_json::from_str(&mark("MZ\"1\\", "a\nb")).unwrap();
    assert_eq!(sent["streamSid"], "MZ\"1\\");
    assert_eq!(sent["mark"]["name"], "a\nb");
}

#[test]
fn it_should_read_back_what_a_fake_twilio_would_send_for_our_own_messages() {
    // Twilio echoes our mark with its own envelope; the name round-trips.
    let ours: Value = serde_json::from_str(&mark("MZ11", "m-1")).unwrap();
    let echoed = json!({"event":"mark","sequenceNumber":"4","streamSid":ours["streamSid"],"mark":ours["mark"]});
    assert_eq!(
        parse(&echoed.to_string()).unwrap(),
        StreamEvent::Mark {
            stream_sid: "MZ11".to_owned(),
            name: "m-1".to_owned()
        }
    );
}

proptest! {
    #[test]
    fn it_should_never_panic_on_arbitrary_text(text in ".*") {
        let _ = parse(&text);
    }

    #[test]
    fn it_should_never_panic_on_damaged_messages(
        base in prop::sample::select(vec![START, MEDIA]),
        cut in 0usize..400,
        insert in "[\\[\\]{}\",:0-9a-z\\\\]{0,4}",
    ) {
        let cut = cut.min(base.len());
        let cut = (0..=cut).rev().find(|at| base.is_char_boundary(*at)).unwrap_or(0);
        let damaged = format!("{}{}{}", &base[..cut], insert, &base[cut..]);
        let _ = parse(&damaged);
        let _ = parse(&base[..cut]);
    }

    #[test]
    fn it_should_read_any_frame_it_could_be_sent(
        sid in "MZ[0-9a-f]{0,32}",
        chunk in any::<u64>(),
        timestamp in any::<u64>(),
        payload in "[A-Za-z0-9+/=]{0,400}",
    ) {
        let text = json!({
            "event": "media", "sequenceNumber": "7", "streamSid": sid,
            "media": {"track": "inbound", "chunk": chunk.to_string(),
                      "timestamp": timestamp.to_string(), "payload": payload},
        }).to_string();
        let StreamEvent::Media(frame) = parse(&text).unwrap() else { panic!("not media") };
        prop_assert_eq!(frame.chunk, chunk);
        prop_assert_eq!(frame.timestamp_ms, timestamp);
        prop_assert_eq!(frame.payload, payload);
        prop_assert_eq!(frame.stream_sid, sid);
    }
}

//! The expected shapes below (element names, attribute names and values, nesting) were checked
//! against Twilio's own builder, Python `twilio.twiml.voice_response.VoiceResponse`, by parsing
//! both outputs and comparing the trees (its attributes come sorted, ours in the order of
//! PROTOCOLS.md §3, so bytes differ). These tests do not call Python.

use super::*;
use quick_xml::events::Event;
use quick_xml::Reader;

const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
const NASTY: &str = r#"Tom & Jerry's <Diner> "Best""#;

fn doc(body: &str) -> String {
    format!("{DECL}<Response>{body}</Response>")
}

/// An element read back with quick-xml: name, unescaped attributes, unescaped text, children.
#[derive(Debug, Default, PartialEq)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

fn node(e: &quick_xml::events::BytesStart<'_>) -> Node {
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.unwrap();
            let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
            (key, a.unescape_value().unwrap().into_owned())
        })
        .collect();
    Node {
        name: String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
        attrs,
        ..Node::default()
    }
}

/// Parses a whole document back into its `<Response>` node.
fn parse(xml: &str) -> Node {
    let mut reader = Reader::from_str(xml);
    let mut stack = vec![Node::default()];
    loop {
        match reader.read_event().unwrap() {
            Event::Decl(_) => {}
            Event::Start(e) => stack.push(node(&e)),
            Event::Empty(e) => stack.last_mut().unwrap().children.push(node(&e)),
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Text(t) => stack
                .last_mut()
                .unwrap()
                .text
                .push_str(&t.decode().unwrap()),
            // quick-xml 0.38 reports `&amp;` and friends in text as separate references.
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r.decode().unwrap())
                        .unwrap()
                        .to_owned(),
                };
                stack.last_mut().unwrap().text.push_str(&resolved);
            }
            Event::Eof => break,
            other => panic!("unexpected event {other:?}"),
        }
    }
    let mut root = stack.pop().unwrap();
    assert_eq!(root.children.len(), 1);
    root.children.pop().unwrap()
}

fn attr<'a>(n: &'a Node, key: &str) -> &'a str {
    &n.attrs.iter().find(|(k, _)| k == key).unwrap().1
}

#[test]
fn it_should_answer_with_the_text_xml_content_type() {
    assert_eq!(CONTENT_TYPE, "text/xml; charset=utf-8");
}

#[test]
fn it_should_write_an_empty_response() {
    assert_eq!(Response::new().to_xml(), doc(""));
}

#[test]
fn it_should_write_say_with_voice_and_language_in_order() {
    let xml = Response::new()
        .say(Say::new("Hello").voice("Polly.Joanna").language("en-US"))
        .to_xml();
    assert_eq!(
        xml,
        doc(r#"<Say voice="Polly.Joanna" language="en-US">Hello</Say>"#)
    );
}

#[test]
fn it_should_write_say_without_optional_attributes() {
    assert_eq!(
        Response::new().say(Say::new("Hi")).to_xml(),
        doc("<Say>Hi</Say>")
    );
}

#[test]
fn it_should_write_pause_hangup_reject_and_redirect() {
    let xml = Response::new()
        .pause(1)
        .reject(RejectReason::Busy)
        .reject(RejectReason::Rejected)
        .redirect("https://h/next?a=1&b=2")
        .hangup()
        .to_xml();
    let expected = concat!(
        r#"<Pause length="1"/><Reject reason="busy"/><Reject reason="rejected"/>"#,
        r#"<Redirect method="POST">https://h/next?a=1&amp;b=2</Redirect><Hangup/>"#,
    );
    assert_eq!(xml, doc(expected));
}

#[test]
fn it_should_accept_verbs_through_push() {
    let xml = Response::new()
        .push(Verb::Pause { length: 2 })
        .push(Verb::Hangup)
        .to_xml();
    assert_eq!(xml, doc(r#"<Pause length="2"/><Hangup/>"#));
}

#[test]
fn it_should_write_a_bare_dial_with_its_defaults() {
    let xml = Response::new()
        .dial(Dial::new("+15557654321", "https://h/dial-result"))
        .to_xml();
    let expected = concat!(
        r#"<Dial timeout="20" action="https://h/dial-result" method="POST">"#,
        r#"<Number>+15557654321</Number></Dial>"#,
    );
    assert_eq!(xml, doc(expected));
}

#[test]
fn it_should_write_every_dial_attribute_in_order() {
    let dial = Dial::new("+15557654321", "https://h/dial-result")
        .timeout_secs(25)
        .caller_id("+15551230000")
        .answer_on_bridge(true)
        .time_limit_secs(600)
        .screen_url("https://h/screen")
        .number_status_callback("https://h/status");
    let expected = concat!(
        r#"<Dial timeout="25" action="https://h/dial-result" method="POST" callerId="+15551230000" "#,
        r#"answerOnBridge="true" timeLimit="600"><Number url="https://h/screen" "#,
        r#"statusCallback="https://h/status">+15557654321</Number></Dial>"#,
    );
    assert_eq!(Response::new().dial(dial).to_xml(), doc(expected));
}

#[test]
fn it_should_write_record_with_its_defaults() {
    let xml = Response::new()
        .record(Record::new("https://h/voicemail"))
        .to_xml();
    let expected = concat!(
        r#"<Record action="https://h/voicemail" method="POST" maxLength="120" playBeep="true" "#,
        r##"finishOnKey="#"/>"##,
    );
    assert_eq!(xml, doc(expected));
}

#[test]
fn it_should_write_record_with_every_attribute() {
    let record = Record::new("https://h/vm")
        .max_length_secs(60)
        .play_beep(false)
        .finish_on_key("*")
        .recording_status_callback("https://h/rec-status")
        .recording_status_callback_event("completed")
        .transcribe(true)
        .transcribe_callback("https://h/transcription?a=1&b=2");
    let expected = concat!(
        r#"<Record action="https://h/vm" method="POST" maxLength="60" playBeep="false" "#,
        r#"finishOnKey="*" recordingStatusCallback="https://h/rec-status" "#,
        r#"recordingStatusCallbackEvent="completed" transcribe="true" "#,
        r#"transcribeCallback="https://h/transcription?a=1&amp;b=2"/>"#,
    );
    assert_eq!(Response::new().record(record).to_xml(), doc(expected));
}

#[test]
fn it_should_write_gather_for_speech_with_a_nested_pause() {
    let gather = Gather::new(GatherInput::DtmfSpeech, "https://h/g")
        .pause(1)
        .say(Say::new("Go"));
    let expected = concat!(
        r#"<Gather input="dtmf speech" action="https://h/g" method="POST" timeout="5">"#,
        r#"<Pause length="1"/><Say>Go</Say></Gather>"#,
    );
    assert_eq!(Response::new().gather(gather).to_xml(), doc(expected));
}

#[test]
fn it_should_write_the_reject_apology_answer() {
    let xml = Response::new()
        .say(Say::new("Sorry, we cannot take your call right now. Goodbye.").voice("Polly.Joanna"))
        .hangup()
        .to_xml();
    let expected = concat!(
        r#"<Say voice="Polly.Joanna">Sorry, we cannot take your call right now. Goodbye.</Say>"#,
        "<Hangup/>",
    );
    assert_eq!(xml, doc(expected));
}

#[test]
fn it_should_write_the_dial_owner_answer() {
    let dial = Dial::new("+15557654321", "https://h/twilio/dial-result")
        .caller_id("+15551230000")
        .answer_on_bridge(true)
        .screen_url("https://h/twilio/screen");
    let expected = concat!(
        r#"<Dial timeout="20" action="https://h/twilio/dial-result" method="POST" "#,
        r#"callerId="+15551230000" answerOnBridge="true">"#,
        r#"<Number url="https://h/twilio/screen">+15557654321</Number></Dial>"#,
    );
    assert_eq!(Response::new().dial(dial).to_xml(), doc(expected));
}

#[test]
fn it_should_write_the_connect_stream_answer() {
    let stream = Stream::new("wss://h/twilio/media-stream")
        .parameter("call_sid", "CA0123456789abcdef0123456789abcdef")
        .parameter("business_id", "3f2b6c1e-0000-4000-8000-000000000001");
    let expected = concat!(
        r#"<Connect><Stream url="wss://h/twilio/media-stream">"#,
        r#"<Parameter name="call_sid" value="CA0123456789abcdef0123456789abcdef"/>"#,
        r#"<Parameter name="business_id" value="3f2b6c1e-0000-4000-8000-000000000001"/>"#,
        "</Stream></Connect>",
    );
    assert_eq!(Response::new().connect(stream).to_xml(), doc(expected));
}

#[test]
fn it_should_write_the_voicemail_answer() {
    let xml = Response::new()
        .say(Say::new(
            "You have reached Joe's Plumbing. Please leave a message after the beep.",
        ))
        .record(
            Record::new("https://h/twilio/voicemail")
                .recording_status_callback("https://h/twilio/recording-status")
                .recording_status_callback_event("completed")
                .transcribe(true)
                .transcribe_callback("https://h/twilio/voice/transcription"),
        )
        .to_xml();
    let expected = concat!(
        "<Say>You have reached Joe&apos;s Plumbing. Please leave a message after the beep.</Say>",
        r#"<Record action="https://h/twilio/voicemail" method="POST" maxLength="120" "#,
        r##"playBeep="true" finishOnKey="#" "##,
        r#"recordingStatusCallback="https://h/twilio/recording-status" "#,
        r#"recordingStatusCallbackEvent="completed" transcribe="true" "#,
        r#"transcribeCallback="https://h/twilio/voice/transcription"/>"#,
    );
    assert_eq!(xml, doc(expected));
}

#[test]
fn it_should_write_the_screening_gather_answer() {
    let xml = Response::new()
        .gather(
            Gather::new(GatherInput::Dtmf, "https://h/twilio/screen-result")
                .num_digits(1)
                .timeout_secs(5)
                .say(Say::new("Call for Joe's Plumbing. Press 1 to take it.")),
        )
        .hangup()
        .to_xml();
    let expected = concat!(
        r#"<Gather input="dtmf" numDigits="1" action="https://h/twilio/screen-result" "#,
        r#"method="POST" timeout="5"><Say>Call for Joe&apos;s Plumbing. Press 1 to take it.</Say>"#,
        "</Gather><Hangup/>",
    );
    assert_eq!(xml, doc(expected));
}

#[test]
fn it_should_escape_a_business_name_in_text_and_attributes() {
    let xml = Response::new().say(Say::new(NASTY).voice(NASTY)).to_xml();
    let escaped = "Tom &amp; Jerry&apos;s &lt;Diner&gt; &quot;Best&quot;";
    assert_eq!(
        xml,
        doc(&format!(r#"<Say voice="{escaped}">{escaped}</Say>"#))
    );
}

#[test]
fn it_should_escape_a_caller_id_carrying_a_script() {
    let hostile = r#"<script>alert("x")</script>"#;
    let xml = Response::new()
        .dial(Dial::new(hostile, "https://h/d").caller_id(hostile))
        .to_xml();
    assert!(!xml.contains("<script>"));
    let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";
    let expected = format!(
        r#"<Dial timeout="20" action="https://h/d" method="POST" callerId="{escaped}"><Number>{escaped}</Number></Dial>"#
    );
    assert_eq!(xml, doc(&expected));
}

#[test]
fn it_should_parse_back_to_the_original_strings() {
    let hostile = r#"+1<script>alert('x' & "y")</script>"#;
    let url = "https://h/screen?business=Tom%20%26%20Jerry&name=Tom & Jerry's <Diner>";
    let xml = Response::new()
        .say(Say::new(NASTY).voice(NASTY).language(hostile))
        .dial(Dial::new(hostile, url).caller_id(hostile).screen_url(url))
        .connect(Stream::new(url).parameter(NASTY, hostile))
        .gather(Gather::new(GatherInput::Dtmf, url).say(Say::new(hostile)))
        .redirect(url)
        .to_xml();

    let root = parse(&xml);

    assert_eq!(root.name, "Response");
    let [say, dial, connect, gather, redirect] = &root.children[..] else {
        panic!("five verbs expected: {root:?}");
    };
    assert_eq!(
        (say.text.as_str(), attr(say, "voice"), attr(say, "language")),
        (NASTY, NASTY, hostile)
    );
    assert_eq!(
        (attr(dial, "action"), attr(dial, "callerId")),
        (url, hostile)
    );
    assert_eq!(
        (
            dial.children[0].text.as_str(),
            attr(&dial.children[0], "url")
        ),
        (hostile, url)
    );
    let stream = &connect.children[0];
    assert_eq!(attr(stream, "url"), url);
    assert_eq!(
        (
            attr(&stream.children[0], "name"),
            attr(&stream.children[0], "value")
        ),
        (NASTY, hostile)
    );
    assert_eq!(
        (attr(gather, "action"), gather.children[0].text.as_str()),
        (url, hostile)
    );
    assert_eq!(redirect.text, url);
}

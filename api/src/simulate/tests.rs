// Test code: a panic is a failed assertion with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn simulation(server: &str) -> Simulation {
    Simulation {
        server: server.to_owned(),
        public_base: "https://calls.example.com".to_owned(),
        account_sid: "AC1".to_owned(),
        auth_token: SecretString::from("token"),
        to: "+15555550100".to_owned(),
        from: "+14155550111".to_owned(),
        owner: OwnerBehaviour::NoAnswer,
        ai_seconds: 20,
        database_url: None,
    }
}

#[test]
fn it_should_read_the_stream_and_its_parameters_and_the_verbs_after_it() {
    let twiml = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://calls.example.com/twilio/media-stream"><Parameter name="call_sid" value="CA1"/><Parameter name="business_id" value="b&amp;1"/></Stream></Connect><Say>Leave a message.</Say><Record action="https://calls.example.com/twilio/voice/voicemail" recordingStatusCallback="https://calls.example.com/twilio/voice/recording" transcribe="true" transcribeCallback="https://calls.example.com/twilio/voice/transcription"/></Response>"#;

    let steps = steps(twiml).unwrap();

    assert_eq!(
        steps,
        [
            Step::Stream {
                url: "wss://calls.example.com/twilio/media-stream".into(),
                parameters: vec![
                    ("call_sid".into(), "CA1".into()),
                    ("business_id".into(), "b&1".into()),
                ],
            },
            Step::Record {
                action: "https://calls.example.com/twilio/voice/voicemail".into(),
                status_callback: Some("https://calls.example.com/twilio/voice/recording".into()),
                transcribe_callback: Some(
                    "https://calls.example.com/twilio/voice/transcription".into()
                ),
            },
        ]
    );
}

#[test]
fn it_should_open_the_stream_on_the_server_it_talks_to() {
    let public = "wss://calls.example.com/twilio/media-stream";

    assert_eq!(
        simulation("http://127.0.0.1:8080/").ws_url(public),
        "ws://127.0.0.1:8080/twilio/media-stream"
    );
    assert_eq!(
        simulation("https://calls.example.com").ws_url(public),
        "wss://calls.example.com/twilio/media-stream"
    );
}

#[test]
fn it_should_not_expect_a_transcription_the_record_did_not_ask_for() {
    let twiml = r#"<Response><Record action="https://h/vm" transcribe="false" transcribeCallback="https://h/t"/></Response>"#;

    let steps = steps(twiml).unwrap();

    assert_eq!(
        steps,
        [Step::Record {
            action: "https://h/vm".into(),
            status_callback: None,
            transcribe_callback: None,
        }]
    );
}

#[test]
fn it_should_send_twilios_transcription_parameters_with_the_recording_they_transcribe() {
    let params = transcription::params("AC1", "RE1", "https://api.twilio.com/r/RE1");

    let value = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    assert_eq!(value("TranscriptionStatus"), Some("completed"));
    assert_eq!(value("TranscriptionText"), Some(transcription::TEXT));
    assert_eq!(value("RecordingSid"), Some("RE1"));
    assert_eq!(value("RecordingUrl"), Some("https://api.twilio.com/r/RE1"));
    let sid = value("TranscriptionSid").unwrap();
    assert!(sid.starts_with("TR") && sid.len() == 34, "{sid}");
    assert_eq!(
        value("TranscriptionUrl"),
        Some(
            format!("https://api.twilio.com/2010-04-01/Accounts/AC1/Transcriptions/{sid}").as_str()
        )
    );
}

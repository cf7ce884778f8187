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
    let twiml = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://calls.example.com/twilio/media-stream"><Parameter name="call_sid" value="CA1"/><Parameter name="business_id" value="b&amp;1"/></Stream></Connect><Say>Leave a message.</Say><Record action="https://calls.example.com/twilio/voice/voicemail" recordingStatusCallback="https://calls.example.com/twilio/voice/recording"/></Response>"#;

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

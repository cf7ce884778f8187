//! Voicemail transcriptions through the real server: the voicemail's `<Record>` asks Twilio for
//! one, Twilio posts it (signed) to `/twilio/voice/transcription` after the call ended, and the
//! call's audit history, timeline and detail page show what the caller said. A retried post
//! records it once; unsigned, malformed, unknown or hanging requests never half-write
//! ([`refused`]).

mod refused;

use reqwest::Method;
use serde_json::Value;
use support::{new_call_sid, seed, SeedBusiness, Seeded, TestApp};

const CALLER: &str = "+14155550111";
const TRANSCRIPTION_SID: &str = "TR0123456789abcdef0123456789abcdef";
const RECORDING_SID: &str = "RE0123456789abcdef0123456789abcdef";
const RECORDING_URL: &str = "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000001/Recordings/RE0123456789abcdef0123456789abcdef";
pub(super) const WORDS: &str =
    "Hi, this is Ann Baker. My kitchen sink leaks, please call me back today.";

pub(super) fn call<'a>(
    sid: &'a str,
    seeded: &'a Seeded,
    status: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CallSid", sid),
        ("AccountSid", support::TEST_ACCOUNT_SID),
        ("From", CALLER),
        ("To", &seeded.number),
        ("Caller", CALLER),
        ("Called", &seeded.number),
        ("CallStatus", status),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ]
}

/// Twilio's transcription callback for `sid`, as documented for `<Record transcribeCallback>`.
pub(super) fn transcription<'a>(
    sid: &'a str,
    seeded: &'a Seeded,
    status: &'a str,
    text: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut params = call(sid, seeded, "completed");
    params.extend([
        ("TranscriptionSid", TRANSCRIPTION_SID),
        ("TranscriptionText", text),
        ("TranscriptionStatus", status),
        (
            "TranscriptionUrl",
            "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000001/Transcriptions/TR0123456789abcdef0123456789abcdef",
        ),
        ("RecordingSid", RECORDING_SID),
        ("RecordingUrl", RECORDING_URL),
    ]);
    params
}

/// A business without an agent, whose owner is away: its calls go straight to voicemail.
pub(super) async fn app_with_voicemail_business() -> (TestApp, Seeded) {
    let app = TestApp::spawn().await;
    let seeded = seed(
        &app.stores(),
        SeedBusiness {
            owner_available: false,
            agent: false,
            ..SeedBusiness::default()
        },
    )
    .await;
    (app, seeded)
}

/// A call that went to voicemail, where the caller left a message and hung up; returns its
/// TwiML answer and its sid.
pub(super) async fn voicemail_left(app: &TestApp, seeded: &Seeded) -> (String, String) {
    let sid = new_call_sid();
    let incoming = app
        .post_twilio("/twilio/voice/incoming", &call(&sid, seeded, "ringing"))
        .await;
    assert_eq!(incoming.status(), 200);
    let twiml = incoming.text().await.unwrap();
    let mut recorded = call(&sid, seeded, "in-progress");
    recorded.extend([
        ("RecordingUrl", RECORDING_URL),
        ("RecordingDuration", "9"),
        ("Digits", "hangup"),
    ]);
    let voicemail = app.post_twilio("/twilio/voice/voicemail", &recorded).await;
    assert_eq!(voicemail.status(), 200);
    let mut ended = call(&sid, seeded, "completed");
    ended.push(("CallDuration", "21"));
    let status = app.post_twilio("/twilio/voice/status", &ended).await;
    assert_eq!(status.status(), 204);
    (twiml, sid)
}

async fn count(app: &TestApp, sid: &str, event_type: &str) -> usize {
    app.event_types_of(sid)
        .await
        .iter()
        .filter(|t| *t == event_type)
        .count()
}

#[tokio::test]
async fn it_should_ask_twilio_to_transcribe_the_voicemail() {
    let (app, seeded) = app_with_voicemail_business().await;

    let (twiml, _) = voicemail_left(&app, &seeded).await;

    let record = format!(
        r##"<Record action="{0}/twilio/voice/voicemail" method="POST" maxLength="120" playBeep="true" finishOnKey="#" recordingStatusCallback="{0}/twilio/voice/recording" recordingStatusCallbackEvent="completed" transcribe="true" transcribeCallback="{0}/twilio/voice/transcription"/>"##,
        app.address
    );
    assert!(twiml.contains(&record), "{twiml}");
}

#[tokio::test]
async fn it_should_show_the_voicemails_transcription_in_the_calls_history_timeline_and_detail() {
    let (app, seeded) = app_with_voicemail_business().await;
    let (_, sid) = voicemail_left(&app, &seeded).await;

    let response = app
        .post_twilio(
            "/twilio/voice/transcription",
            &transcription(&sid, &seeded, "completed", WORDS),
        )
        .await;

    assert_eq!(response.status(), 204);
    assert!(response.text().await.unwrap().is_empty());
    let admin = app.admin().await;
    let get = |path: String| {
        let (app, token) = (&app, admin.token.clone());
        async move {
            let response = app.api(Method::GET, &path, Some(&token), None).await;
            assert_eq!(response.status(), 200, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };
    let history = get(format!("/api/v1/calls/{sid}/history")).await;
    let entries = history["entries"].as_array().unwrap();
    let transcribed = entries
        .iter()
        .find(|e| e["event_type"] == "VoicemailTranscribed")
        .unwrap_or_else(|| panic!("no transcription in {history}"));
    let fields = &transcribed["event"]["VoicemailTranscribed"];
    assert_eq!(fields["text"], WORDS);
    assert_eq!(fields["transcription_sid"], TRANSCRIPTION_SID);
    assert_eq!(fields["recording_sid"], RECORDING_SID);
    assert_eq!(transcribed["actor"], "twilio");
    assert_eq!(
        transcribed["causation"],
        "webhook:/twilio/voice/transcription"
    );
    assert_eq!(
        transcribed["state_after"]["voicemail_transcriptions"],
        serde_json::json!([TRANSCRIPTION_SID])
    );
    let position = |kind: &str| entries.iter().position(|e| e["event_type"] == kind);
    assert!(position("CallEnded") < position("VoicemailTranscribed"));
    app.projections_caught_up().await;
    let timeline = get(format!("/api/v1/calls/{sid}/timeline")).await;
    let shown = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "VoicemailTranscribed")
        .unwrap_or_else(|| panic!("not in the timeline: {timeline}"));
    assert_eq!(shown["data"]["text"], WORDS);
    let detail = get(format!("/api/v1/calls/{sid}")).await;
    assert_eq!(detail["voicemail_transcript"], WORDS, "{detail}");
    assert_eq!(detail["handled_by"], "voicemail");
}

#[tokio::test]
async fn it_should_record_a_transcription_once_when_twilio_posts_it_again() {
    let (app, seeded) = app_with_voicemail_business().await;
    let (_, sid) = voicemail_left(&app, &seeded).await;
    let params = transcription(&sid, &seeded, "completed", WORDS);

    let first = app
        .post_twilio("/twilio/voice/transcription", &params)
        .await;
    let again = app
        .post_twilio("/twilio/voice/transcription", &params)
        .await;

    assert_eq!(first.status(), 204);
    assert_eq!(again.status(), 204);
    assert_eq!(count(&app, &sid, "VoicemailTranscribed").await, 1);
}

#[tokio::test]
async fn it_should_record_a_failed_or_empty_transcription_as_failed() {
    let (app, seeded) = app_with_voicemail_business().await;
    let (_, failed) = voicemail_left(&app, &seeded).await;
    let (_, empty) = voicemail_left(&app, &seeded).await;

    let response = app
        .post_twilio(
            "/twilio/voice/transcription",
            &transcription(&failed, &seeded, "failed", ""),
        )
        .await;
    let blank = app
        .post_twilio(
            "/twilio/voice/transcription",
            &transcription(&empty, &seeded, "completed", "   "),
        )
        .await;

    assert_eq!(response.status(), 204);
    assert_eq!(blank.status(), 204);
    for sid in [&failed, &empty] {
        assert_eq!(count(&app, sid, "VoicemailTranscriptionFailed").await, 1);
        assert_eq!(count(&app, sid, "VoicemailTranscribed").await, 0);
    }
}

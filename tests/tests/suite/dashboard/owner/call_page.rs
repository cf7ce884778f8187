//! A call's page: the facts, the summary, the message taken, the conversation as caller and
//! agent bubbles, the timeline, and an audio player whose source streams the recording from a
//! fake Twilio (wiremock) — to the owner of the call, and to nobody else.

use domain::call::{CallCommand, Speaker, Urgency};
use domain::{Actor, CommandMetadata};
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const RECORDING_SID: &str = "RE0123456789abcdef0123456789abcdef";

/// What the voice bridge and the summariser record of an AI call (through the write side).
async fn conversation(app: &TestApp, sid: &str) {
    let meta = CommandMetadata::new(
        sid,
        "test:dashboard",
        Actor::VoiceBridge,
        chrono::Utc::now(),
    );
    let stores = app.stores();
    for command in [
        CallCommand::StartAiSession {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
        },
        CallCommand::RecordTranscriptSegment {
            speaker: Speaker::Agent,
            text: "Ann's Bakery, how can I help?".into(),
            offset_ms: 0,
        },
        CallCommand::RecordTranscriptSegment {
            speaker: Speaker::Caller,
            text: "I'd like three dozen <croissants> for Saturday.".into(),
            offset_ms: 65_000,
        },
        CallCommand::TakeMessage {
            caller_name: Some("Carla Jones".into()),
            callback_number: Some("+14155550199".into()),
            message: "Three dozen croissants for Saturday morning.".into(),
            urgency: Urgency::High,
        },
        CallCommand::EndAiSession {
            reason: "caller hung up".into(),
        },
    ] {
        stores.calls.execute(sid, command, &meta).await.unwrap();
    }
}

async fn summarise(app: &TestApp, sid: &str) {
    let meta = CommandMetadata::new(sid, "test:dashboard", Actor::System, chrono::Utc::now());
    app.stores()
        .calls
        .execute(
            sid,
            CallCommand::RecordSummary {
                summary: "Carla wants three dozen croissants on Saturday.".into(),
            },
            &meta,
        )
        .await
        .unwrap();
}

/// Twilio's recording callback for `sid`.
async fn recording_available(app: &TestApp, sid: &str, number: &str) {
    let url = format!(
        "https://api.twilio.com/2010-04-01/Accounts/{}/Recordings/{RECORDING_SID}",
        support::TEST_ACCOUNT_SID
    );
    let extra = [
        ("RecordingSid", RECORDING_SID),
        ("RecordingUrl", url.as_str()),
        ("RecordingStatus", "completed"),
        ("RecordingDuration", "73"),
        ("RecordingChannels", "1"),
        ("RecordingSource", "RecordVerb"),
    ];
    post(
        app,
        "/twilio/voice/recording",
        &webhook(sid, number, &extra),
    )
    .await;
}

/// `GET path` as `browser`: status, content type and the body's bytes.
async fn fetch(app: &TestApp, browser: &PageClient, path: &str) -> (u16, String, Vec<u8>) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", app.address))
        .header(COOKIE, session_cookie(browser))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

#[tokio::test]
async fn it_should_show_a_call_s_summary_message_conversation_timeline_and_recording() {
    let twilio = MockServer::start().await;
    let app = TestApp::spawn_with(&[("TWILIO_API_BASE", &twilio.uri())]).await;
    let (ann, bob) = (app.owner().await, app.owner().await);
    let a = owned_business(&app, &ann, "Ann's Bakery", false, chrono_tz::UTC).await;
    owned_business(&app, &bob, "Bob's Garage", false, chrono_tz::UTC).await;
    let sid = incoming(&app, &a.number).await;
    conversation(&app, &sid).await;
    completed(&app, &sid, &a.number, "73").await;
    recording_available(&app, &sid, &a.number).await;
    summarise(&app, &sid).await;
    app.projections_caught_up().await;
    let audio = b"ID3\x04 the conversation ".repeat(500);
    Mock::given(method("GET"))
        .and(path(format!(
            "/2010-04-01/Accounts/{}/Recordings/{RECORDING_SID}.mp3",
            support::TEST_ACCOUNT_SID
        )))
        .and(basic_auth(
            support::TEST_ACCOUNT_SID,
            support::TEST_AUTH_TOKEN,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(audio.clone(), "audio/mpeg"))
        .expect(1)
        .mount(&twilio)
        .await;
    let (anns, bobs) = (browser_of(&app, &ann).await, browser_of(&app, &bob).await);

    let page = anns.get(&format!("/dashboard/calls/{sid}")).await;
    let source = attribute(
        &page.body,
        "<audio id=\"recording\" controls preload=\"none\" src",
    )
    .expect("an audio player for the recording");
    let (status, content_type, streamed) = fetch(&app, &anns, &source).await;
    let (bobs_status, _, _) = fetch(&app, &bobs, &source).await;
    let bobs_page = bobs.get(&format!("/dashboard/calls/{sid}")).await;

    let body = &page.body;
    assert_eq!(page.status, 200);
    assert!(
        body.contains(&format!(r#"id="call-caller">{CALLER}<"#)),
        "{body}"
    );
    assert!(body.contains(r#"<span class="badge ai">AI agent</span>"#));
    assert!(body.contains(r#"id="call-duration">1:13<"#));
    assert!(body.contains(r#"id="call-cost">0.0085 USD<"#));
    assert!(body.contains("Carla wants three dozen croissants on Saturday."));
    assert!(body.contains(r#"class="message-name">Carla Jones<"#));
    assert!(body.contains(r#"class="message-callback">+14155550199<"#));
    assert!(body.contains("Three dozen croissants for Saturday morning."));
    assert!(body.contains(r#"class="message-urgency">high<"#));
    assert!(body.contains(r#"<li class="agent"><span class="speaker">Agent</span>"#));
    assert!(body.contains(r#"<li class="caller"><span class="speaker">Caller</span> <span class="hint offset">1:05</span>"#));
    assert!(
        body.contains("three dozen &") && !body.contains("<croissants>"),
        "escaped"
    );
    assert!(body.contains(r#"<strong class="event-name">Call received</strong>"#));
    assert!(body.contains(r#"<strong class="event-name">Message taken</strong>"#));
    assert_eq!(source, format!("/dashboard/calls/{sid}/recording"));
    assert_eq!((status, content_type.as_str()), (200, "audio/mpeg"));
    assert_eq!(streamed, audio);
    assert_eq!(bobs_status, 404, "another owner's recording is not found");
    assert_eq!(bobs_page.status, 404);
}

#[tokio::test]
async fn it_should_answer_404_for_the_audio_of_a_call_without_any() {
    let app = TestApp::spawn().await;
    let ann = app.owner().await;
    let a = owned_business(&app, &ann, "Ann's Bakery", true, chrono_tz::UTC).await;
    let sid = incoming(&app, &a.number).await;
    app.projections_caught_up().await;
    let browser = browser_of(&app, &ann).await;

    let page = browser.get(&format!("/dashboard/calls/{sid}")).await;
    let recording = browser
        .get(&format!("/dashboard/calls/{sid}/recording"))
        .await;
    let voicemail = browser
        .get(&format!("/dashboard/calls/{sid}/voicemail"))
        .await;

    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<audio"));
    assert!(page.body.contains("No summary yet."));
    assert_eq!(recording.status, 404);
    assert_eq!(voicemail.status, 404);
}

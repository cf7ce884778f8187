//! A call's recording and voicemail streamed through us: to whom, and from where.

use reqwest::Method;
use support::expect_problem;
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

use super::*;

/// A call to `number` that went to voicemail, with the voicemail (its URL naming
/// [`VOICEMAIL_SID`] on a foreign host) and, when `recorded`, a recording ([`RECORDING_SID`]).
async fn voicemail_call(app: &TestApp, number: &str, recorded: bool) -> String {
    let sid = new_call_sid();
    let incoming: Vec<(&str, &str)> = vec![
        ("CallSid", &sid),
        ("AccountSid", TEST_ACCOUNT_SID),
        ("From", CALLER),
        ("To", number),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ];
    let answered = app.post_twilio("/twilio/voice/incoming", &incoming).await;
    assert_eq!(answered.status(), 200);
    if recorded {
        let voicemail_url = format!("https://evil.example/steal/{VOICEMAIL_SID}");
        let mut voicemail = incoming.clone();
        voicemail.extend([
            ("RecordingUrl", voicemail_url.as_str()),
            ("RecordingDuration", "9"),
            ("Digits", "hangup"),
        ]);
        let left = app.post_twilio("/twilio/voice/voicemail", &voicemail).await;
        assert_eq!(left.status(), 200);
        let recording_url = format!(
            "https://api.twilio.com/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Recordings/{RECORDING_SID}"
        );
        let mut recording = incoming.clone();
        recording.extend([
            ("RecordingSid", RECORDING_SID),
            ("RecordingUrl", recording_url.as_str()),
            ("RecordingStatus", "completed"),
            ("RecordingDuration", "12"),
            ("RecordingChannels", "1"),
            ("RecordingSource", "RecordVerb"),
        ]);
        let stored = app.post_twilio("/twilio/voice/recording", &recording).await;
        assert_eq!(stored.status(), 204);
    }
    app.projections_caught_up().await;
    sid
}

/// Twilio serves `recording`'s MP3 to the account's credentials.
async fn serve_mp3(twilio_api: &MockServer, recording: &str, audio: &[u8]) {
    twilio("GET", &format!("Recordings/{recording}.mp3"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(audio.to_vec(), "audio/mpeg"))
        .mount(twilio_api)
        .await;
}

#[tokio::test]
async fn it_should_stream_a_call_recording_to_the_owner_of_its_business_and_to_an_admin() {
    let (app, twilio_api) = spawn().await;
    let (owner, admin) = (app.owner().await, app.admin().await);
    let (number, _) = held_number(&app, Some(business_of(&app, Some(&owner)).await)).await;
    let call = voicemail_call(&app, &number, true).await;
    let audio = b"ID3\x04 recorded conversation ".repeat(2000);
    serve_mp3(&twilio_api, RECORDING_SID, &audio).await;

    for user in [&owner, &admin] {
        let response = app
            .api(
                Method::GET,
                &format!("/api/v1/calls/{call}/recording"),
                Some(&user.token),
                None,
            )
            .await;

        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "audio/mpeg");
        assert_eq!(response.headers()["cache-control"], "private, no-store");
        assert_eq!(response.bytes().await.unwrap().as_ref(), audio.as_slice());
    }
}

#[tokio::test]
async fn it_should_stream_a_voicemail_by_the_sid_in_its_url_and_never_fetch_the_url_itself() {
    let (app, twilio_api) = spawn().await;
    let owner = app.owner().await;
    let (number, _) = held_number(&app, Some(business_of(&app, Some(&owner)).await)).await;
    let call = voicemail_call(&app, &number, true).await;
    serve_mp3(&twilio_api, VOICEMAIL_SID, b"the voicemail").await;

    let response = app
        .api(
            Method::GET,
            &format!("/api/v1/calls/{call}/voicemail"),
            Some(&owner.token),
            None,
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"the voicemail");
    let fetched: Vec<String> = twilio_api
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        fetched,
        [account_path(&format!("Recordings/{VOICEMAIL_SID}.mp3"))]
    );
}

#[tokio::test]
async fn it_should_hide_a_call_recording_from_another_owner() {
    let (app, twilio_api) = spawn().await;
    let (owner, stranger) = (app.owner().await, app.owner().await);
    let _strangers = business_of(&app, Some(&stranger)).await;
    let (number, _) = held_number(&app, Some(business_of(&app, Some(&owner)).await)).await;
    let call = voicemail_call(&app, &number, true).await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&twilio_api)
        .await;

    for audio in ["recording", "voicemail"] {
        let response = app
            .api(
                Method::GET,
                &format!("/api/v1/calls/{call}/{audio}"),
                Some(&stranger.token),
                None,
            )
            .await;
        expect_problem(response, 404, "call_not_found").await;
    }
}

#[tokio::test]
async fn it_should_answer_404_for_a_call_without_a_recording_or_an_unknown_call() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let (number, _) = held_number(&app, Some(business_of(&app, None).await)).await;
    let call = voicemail_call(&app, &number, false).await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&twilio_api)
        .await;
    let get = |path: String| {
        let (app, token) = (&app, admin.token.clone());
        async move { app.api(Method::GET, &path, Some(&token), None).await }
    };

    let no_recording = get(format!("/api/v1/calls/{call}/recording")).await;
    let no_voicemail = get(format!("/api/v1/calls/{call}/voicemail")).await;
    let unknown = get(format!("/api/v1/calls/{}/recording", new_call_sid())).await;
    let malformed = get("/api/v1/calls/not-a-sid/voicemail".to_owned()).await;

    expect_problem(no_recording, 404, "recording_not_found").await;
    expect_problem(no_voicemail, 404, "recording_not_found").await;
    expect_problem(unknown, 404, "call_not_found").await;
    expect_problem(malformed, 404, "call_not_found").await;
}

#[tokio::test]
async fn it_should_answer_404_when_twilio_no_longer_has_the_recording_and_502_when_it_fails() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let (number, _) = held_number(&app, Some(business_of(&app, None).await)).await;
    let call = voicemail_call(&app, &number, true).await;
    twilio("GET", &format!("Recordings/{RECORDING_SID}.mp3"))
        .respond_with(twilio_error(
            404,
            20404,
            "The requested resource was not found",
        ))
        .mount(&twilio_api)
        .await;
    twilio("GET", &format!("Recordings/{VOICEMAIL_SID}.mp3"))
        .respond_with(twilio_error(403, 20003, "Authenticate"))
        .mount(&twilio_api)
        .await;
    let get = |audio: &str| {
        let (app, token) = (&app, admin.token.clone());
        let path = format!("/api/v1/calls/{call}/{audio}");
        async move { app.api(Method::GET, &path, Some(&token), None).await }
    };

    let gone = get("recording").await;
    let refused = get("voicemail").await;

    expect_problem(gone, 404, "recording_not_found").await;
    let refused = expect_problem(refused, 502, "twilio_error").await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("Authenticate") && detail.contains("20003"),
        "{detail}"
    );
    assert!(
        !detail.contains("twilio.com") && !detail.contains(TEST_AUTH_TOKEN),
        "{detail}"
    );
}

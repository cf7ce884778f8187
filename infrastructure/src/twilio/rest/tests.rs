//! A fake Twilio (wiremock) that answers the documented JSON shapes and checks what we send.

use std::time::Duration;

use domain::values::{CallSid, E164};
use secrecy::SecretString;
use serde_json::{json, Value};
use wiremock::matchers::{basic_auth, body_string_contains, header, method, path, query_param};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

use futures::TryStreamExt;

use super::{
    AvailableNumber, CallInfo, IncomingNumber, RecordingMedia, RecordingSid, TwilioClient,
    TwilioError,
};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "not-a-real-token";
const CALL: &str = "CA00112233445566778899aabbccddeeff";
const NUMBER_SID: &str = "PN00112233445566778899aabbccddeeff";

/// Matches a form-encoded body holding exactly these fields (in any order).
struct FormIs(Vec<(String, String)>);

fn form_is(fields: &[(&str, &str)]) -> FormIs {
    let mut fields: Vec<_> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    fields.sort();
    FormIs(fields)
}

impl Match for FormIs {
    fn matches(&self, request: &Request) -> bool {
        let mut got: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        got.sort();
        got == self.0
    }
}

fn account_path(rest: &str) -> String {
    format!("/2010-04-01/Accounts/{ACCOUNT}/{rest}")
}

fn client_with_timeout(server: &MockServer, timeout: Duration) -> TwilioClient {
    let base = url::Url::parse(&server.uri()).unwrap();
    TwilioClient::new(&base, ACCOUNT, SecretString::from(TOKEN), timeout).unwrap()
}

fn client(server: &MockServer) -> TwilioClient {
    client_with_timeout(server, Duration::from_secs(5))
}

fn call_sid() -> CallSid {
    CallSid::parse(CALL).unwrap()
}

fn number() -> E164 {
    E164::parse("+14155550100").unwrap()
}

/// A call resource as Twilio sends it, with more fields than we read.
fn call_json(status: &str, duration: Value, price: Value) -> Value {
    json!({
        "sid": CALL, "account_sid": ACCOUNT, "status": status, "duration": duration,
        "price": price, "price_unit": "USD", "direction": "inbound", "from": "+15005550006",
        "to": "+14155550100", "answered_by": null, "uri": format!("{}.json", account_path(&format!("Calls/{CALL}"))),
        "subresource_uris": {"recordings": "/…/Recordings.json"}
    })
}

fn incoming_json(voice_url: &str) -> Value {
    json!({
        "sid": NUMBER_SID, "account_sid": ACCOUNT, "phone_number": "+14155550100",
        "friendly_name": "(415) 555-0100", "voice_url": voice_url, "voice_method": "POST",
        "status_callback": "https://example.test/twilio/status", "sms_url": null,
        "capabilities": {"voice": true, "sms": true}
    })
}

fn in_progress() -> CallInfo {
    CallInfo {
        sid: CALL.into(),
        status: "in-progress".into(),
        duration_secs: None,
        price: None,
        price_unit: Some("USD".into()),
    }
}

#[tokio::test]
async fn it_should_buy_a_number_pointed_at_our_webhooks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path("IncomingPhoneNumbers.json")))
        .and(basic_auth(ACCOUNT, TOKEN))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(form_is(&[
            ("PhoneNumber", "+14155550100"),
            ("VoiceUrl", "https://example.test/twilio/voice"),
            ("VoiceMethod", "POST"),
            ("StatusCallback", "https://example.test/twilio/status"),
            ("StatusCallbackMethod", "POST"),
        ]))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(incoming_json("https://example.test/twilio/voice")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let bought = client(&server)
        .buy_number(
            &number(),
            "https://example.test/twilio/voice",
            "https://example.test/twilio/status",
        )
        .await
        .unwrap();

    assert_eq!(
        bought,
        IncomingNumber {
            sid: NUMBER_SID.into(),
            phone_number: "+14155550100".into(),
            voice_url: Some("https://example.test/twilio/voice".into()),
            status_callback: Some("https://example.test/twilio/status".into()),
        }
    );
}

#[tokio::test]
async fn it_should_search_local_numbers_by_area_code() {
    let server = MockServer::start().await;
    let answer = json!({
        "uri": "/…/Local.json?AreaCode=415", "end": 1,
        "available_phone_numbers": [
            {"phone_number": "+14155550101", "friendly_name": "(415) 555-0101", "locality": "San Francisco",
             "region": "CA", "iso_country": "US", "lata": "722", "capabilities": {"voice": true}},
            {"phone_number": "+14155550102", "friendly_name": null, "locality": null, "region": null,
             "iso_country": "US"}
        ]
    });
    Mock::given(method("GET"))
        .and(path(account_path("AvailablePhoneNumbers/US/Local.json")))
        .and(query_param("AreaCode", "415"))
        .and(basic_auth(ACCOUNT, TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;

    let numbers = client(&server)
        .available_local_numbers("US", Some("415"))
        .await
        .unwrap();

    assert_eq!(
        numbers,
        vec![
            AvailableNumber {
                phone_number: "+14155550101".into(),
                friendly_name: Some("(415) 555-0101".into()),
                locality: Some("San Francisco".into()),
                region: Some("CA".into()),
                iso_country: Some("US".into()),
            },
            AvailableNumber {
                phone_number: "+14155550102".into(),
                friendly_name: None,
                locality: None,
                region: None,
                iso_country: Some("US".into()),
            },
        ]
    );
}

#[tokio::test]
async fn it_should_find_a_number_we_hold() {
    let server = MockServer::start().await;
    let mut partial_match = incoming_json("https://elsewhere.test/voice");
    partial_match["phone_number"] = json!("+141555501009");
    Mock::given(method("GET"))
        .and(path(account_path("IncomingPhoneNumbers.json")))
        .and(query_param("PhoneNumber", "+14155550100"))
        .and(basic_auth(ACCOUNT, TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "incoming_phone_numbers": [partial_match, incoming_json("https://example.test/twilio/voice")],
            "page": 0
        })))
        .expect(1)
        .mount(&server)
        .await;

    let found = client(&server)
        .find_incoming_number(&number())
        .await
        .unwrap()
        .unwrap();

    assert_eq!(found.sid, NUMBER_SID);
    assert_eq!(found.phone_number, "+14155550100");
    assert_eq!(
        found.voice_url.as_deref(),
        Some("https://example.test/twilio/voice")
    );
}

#[tokio::test]
async fn it_should_find_nothing_when_we_do_not_hold_the_number() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(account_path("IncomingPhoneNumbers.json")))
        .and(query_param("PhoneNumber", "+14155550100"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"incoming_phone_numbers": [], "page": 0})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let found = client(&server)
        .find_incoming_number(&number())
        .await
        .unwrap();

    assert_eq!(found, None);
}

#[tokio::test]
async fn it_should_point_a_held_number_at_our_webhooks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path(&format!(
            "IncomingPhoneNumbers/{NUMBER_SID}.json"
        ))))
        .and(basic_auth(ACCOUNT, TOKEN))
        .and(form_is(&[
            ("VoiceUrl", "https://example.test/twilio/voice"),
            ("VoiceMethod", "POST"),
            ("StatusCallback", "https://example.test/twilio/status"),
            ("StatusCallbackMethod", "POST"),
        ]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(incoming_json("https://example.test/twilio/voice")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let updated = client(&server)
        .update_number_webhooks(
            NUMBER_SID,
            "https://example.test/twilio/voice",
            "https://example.test/twilio/status",
        )
        .await
        .unwrap();

    assert_eq!(
        updated.voice_url.as_deref(),
        Some("https://example.test/twilio/voice")
    );
}

#[tokio::test]
async fn it_should_release_a_number() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(account_path(&format!(
            "IncomingPhoneNumbers/{NUMBER_SID}.json"
        ))))
        .and(basic_auth(ACCOUNT, TOKEN))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    client(&server).release_number(NUMBER_SID).await.unwrap();
}

#[tokio::test]
async fn it_should_percent_encode_ids_in_the_path() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(account_path(
            "IncomingPhoneNumbers/PN1%2F..%2FCalls.json",
        )))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    client(&server)
        .release_number("PN1/../Calls")
        .await
        .unwrap();
}

#[tokio::test]
async fn it_should_send_new_twiml_to_a_live_call_form_encoded() {
    let server = MockServer::start().await;
    let twiml = "<Response><Say>Bye &amp; thanks</Say><Hangup/></Response>";
    Mock::given(method("POST"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .and(basic_auth(ACCOUNT, TOKEN))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains(
            "Twiml=%3CResponse%3E%3CSay%3EBye+%26amp%3B+thanks",
        ))
        .and(form_is(&[("Twiml", twiml)]))
        .respond_with(ResponseTemplate::new(200).set_body_json(call_json(
            "in-progress",
            Value::Null,
            Value::Null,
        )))
        .expect(1)
        .mount(&server)
        .await;

    let call = client(&server)
        .update_call_twiml(&call_sid(), twiml)
        .await
        .unwrap();

    assert_eq!(call, in_progress());
}

#[tokio::test]
async fn it_should_redirect_a_live_call_to_a_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .and(basic_auth(ACCOUNT, TOKEN))
        .and(form_is(&[
            ("Url", "https://example.test/twilio/voicemail?x=1&y=2"),
            ("Method", "POST"),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(call_json(
            "in-progress",
            Value::Null,
            Value::Null,
        )))
        .expect(1)
        .mount(&server)
        .await;

    let call = client(&server)
        .redirect_call(&call_sid(), "https://example.test/twilio/voicemail?x=1&y=2")
        .await
        .unwrap();

    assert_eq!(call, in_progress());
}

#[tokio::test]
async fn it_should_hang_up_with_status_completed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .and(basic_auth(ACCOUNT, TOKEN))
        .and(form_is(&[("Status", "completed")]))
        .respond_with(ResponseTemplate::new(200).set_body_json(call_json(
            "completed",
            json!("7"),
            Value::Null,
        )))
        .expect(1)
        .mount(&server)
        .await;

    let call = client(&server).hang_up(&call_sid()).await.unwrap();

    assert_eq!(call.status, "completed");
    assert_eq!(call.duration_secs, Some(7));
}

#[tokio::test]
async fn it_should_read_the_duration_and_price_of_a_call() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .and(basic_auth(ACCOUNT, TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(call_json(
            "completed",
            json!("42"),
            json!("-0.0085"),
        )))
        .expect(1)
        .mount(&server)
        .await;

    let call = client(&server).fetch_call(&call_sid()).await.unwrap();

    assert_eq!(
        call,
        CallInfo {
            sid: CALL.into(),
            status: "completed".into(),
            duration_secs: Some(42),
            price: Some("-0.0085".into()),
            price_unit: Some("USD".into()),
        }
    );
}

#[tokio::test]
async fn it_should_read_a_call_whose_price_is_not_known_yet() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(call_json(
            "completed",
            json!("42"),
            Value::Null,
        )))
        .mount(&server)
        .await;

    let call = client(&server).fetch_call(&call_sid()).await.unwrap();

    assert_eq!(call.duration_secs, Some(42));
    assert_eq!(call.price, None);
}

#[tokio::test]
async fn it_should_turn_a_404_into_an_api_error_that_is_not_found() {
    let server = MockServer::start().await;
    let body = json!({
        "code": 20404, "message": "The requested resource was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404
    });
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .respond_with(ResponseTemplate::new(404).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server).fetch_call(&call_sid()).await.unwrap_err();

    assert!(error.is_not_found());
    match error {
        TwilioError::Api {
            status,
            code,
            message,
            more_info,
        } => {
            assert_eq!(status, 404);
            assert_eq!(code, Some(20404));
            assert_eq!(message, "The requested resource was not found");
            assert_eq!(
                more_info.as_deref(),
                Some("https://www.twilio.com/docs/errors/20404")
            );
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn it_should_retry_after_a_429_and_succeed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "0")
                .set_body_json(json!({
                    "code": 20429, "message": "Too Many Requests", "status": 429
                })),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .and(form_is(&[("Status", "completed")]))
        .respond_with(ResponseTemplate::new(200).set_body_json(call_json(
            "completed",
            json!("3"),
            Value::Null,
        )))
        .mount(&server)
        .await;

    let call = client(&server).hang_up(&call_sid()).await.unwrap();

    assert_eq!(call.status, "completed");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn it_should_give_up_after_three_retries_of_a_429() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .expect(4)
        .mount(&server)
        .await;

    let error = client(&server).hang_up(&call_sid()).await.unwrap_err();

    assert!(matches!(error, TwilioError::RateLimited), "got {error:?}");
}

#[tokio::test]
async fn it_should_not_retry_a_post_that_failed_with_500() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("Retry-After", "0")
                .set_body_json(json!({
                    "code": 20500, "message": "Internal Server Error", "status": 500
                })),
        )
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server).hang_up(&call_sid()).await.unwrap_err();

    assert!(
        matches!(
            error,
            TwilioError::Api {
                status: 500,
                code: Some(20500),
                ..
            }
        ),
        "got {error:?}"
    );
    assert!(!error.is_not_found());
}

#[tokio::test]
async fn it_should_retry_a_get_that_failed_with_a_5xx() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("Retry-After", "0")
                .set_body_string("busy"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(call_json(
            "completed",
            json!("42"),
            Value::Null,
        )))
        .expect(1)
        .mount(&server)
        .await;

    let call = client(&server).fetch_call(&call_sid()).await.unwrap();

    assert_eq!(call.duration_secs, Some(42));
}

#[tokio::test]
async fn it_should_keep_a_non_json_error_body_as_the_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server).hang_up(&call_sid()).await.unwrap_err();

    assert!(
        matches!(&error, TwilioError::Api { status: 502, code: None, message, .. } if message == "<html>Bad Gateway</html>"),
        "got {error:?}"
    );
}

#[tokio::test]
async fn it_should_report_a_server_that_does_not_answer_in_time_as_unreachable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(call_json("completed", Value::Null, Value::Null))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;

    let started = std::time::Instant::now();
    let error = client_with_timeout(&server, Duration::from_millis(200))
        .hang_up(&call_sid())
        .await
        .unwrap_err();

    assert!(
        matches!(&error, TwilioError::Unreachable(e) if e.is_timeout()),
        "got {error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn it_should_report_a_non_json_success_as_unexpected() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;

    let error = client(&server).fetch_call(&call_sid()).await.unwrap_err();

    assert!(
        matches!(error, TwilioError::UnexpectedAnswer(_)),
        "got {error:?}"
    );
}

#[tokio::test]
async fn it_should_report_a_duration_that_is_not_seconds_as_unexpected() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Calls/{CALL}.json"))))
        .respond_with(ResponseTemplate::new(200).set_body_json(call_json(
            "completed",
            json!("soon"),
            Value::Null,
        )))
        .mount(&server)
        .await;

    let error = client(&server).fetch_call(&call_sid()).await.unwrap_err();

    assert!(
        matches!(error, TwilioError::UnexpectedAnswer(_)),
        "got {error:?}"
    );
}

#[test]
fn it_should_refuse_a_base_url_that_cannot_carry_a_path() {
    let base = url::Url::parse("mailto:ops@example.test").unwrap();

    let error = TwilioClient::new(
        &base,
        ACCOUNT,
        SecretString::from(TOKEN),
        Duration::from_secs(1),
    )
    .unwrap_err();

    assert!(matches!(error, TwilioError::BadConfig(_)), "got {error:?}");
}

#[test]
fn it_should_not_show_the_auth_token_in_debug_output() {
    let base = url::Url::parse("https://api.twilio.com").unwrap();

    let client = TwilioClient::new(
        &base,
        ACCOUNT,
        SecretString::from(TOKEN),
        Duration::from_secs(1),
    )
    .unwrap();

    assert!(!format!("{client:?}").contains(TOKEN));
}

// ---------------------------------------------------------------------------------------------
// Recordings
// ---------------------------------------------------------------------------------------------

const RECORDING: &str = "RE00112233445566778899aabbccddeeff";

fn recording_sid() -> RecordingSid {
    RecordingSid::parse(RECORDING).unwrap()
}

async fn collect(media: RecordingMedia) -> Result<Vec<u8>, TwilioError> {
    let chunks: Vec<Vec<u8>> = media.into_stream().try_collect().await?;
    Ok(chunks.concat())
}

#[tokio::test]
async fn it_should_fetch_a_recording_as_mp3_by_its_sid_with_the_account_credentials() {
    let server = MockServer::start().await;
    let audio = b"ID3\x04fake mp3 frames".repeat(1000);
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Recordings/{RECORDING}.mp3"))))
        .and(basic_auth(ACCOUNT, TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_raw(audio.clone(), "audio/mpeg"))
        .expect(1)
        .mount(&server)
        .await;

    let media = client(&server)
        .fetch_recording(&recording_sid())
        .await
        .unwrap();

    assert_eq!(media.content_type(), "audio/mpeg");
    assert_eq!(media.content_length(), Some(audio.len() as u64));
    assert_eq!(collect(media).await.unwrap(), audio);
}

#[tokio::test]
async fn it_should_report_a_recording_twilio_does_not_have_as_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Recordings/{RECORDING}.mp3"))))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "code": 20404, "message": "The requested resource was not found",
            "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404
        })))
        .mount(&server)
        .await;

    let error = client(&server)
        .fetch_recording(&recording_sid())
        .await
        .unwrap_err();

    assert!(error.is_not_found(), "got {error:?}");
}

#[tokio::test]
async fn it_should_follow_twilio_redirecting_a_recording_to_its_storage() {
    let server = MockServer::start().await;
    let storage = format!("{}/storage/{RECORDING}", server.uri());
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Recordings/{RECORDING}.mp3"))))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", storage.as_str()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/storage/{RECORDING}")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(b"mp3".to_vec(), "audio/mpeg"))
        .expect(1)
        .mount(&server)
        .await;

    let media = client(&server)
        .fetch_recording(&recording_sid())
        .await
        .unwrap();

    assert_eq!(collect(media).await.unwrap(), b"mp3");
}

#[tokio::test]
async fn it_should_not_follow_a_redirect_to_plain_http_elsewhere() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Recordings/{RECORDING}.mp3"))))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", "http://169.254.169.254/latest"),
        )
        .mount(&server)
        .await;

    let error = client(&server)
        .fetch_recording(&recording_sid())
        .await
        .unwrap_err();

    assert!(
        matches!(error, TwilioError::Api { status: 302, .. }),
        "got {error:?}"
    );
}

#[tokio::test]
async fn it_should_report_a_recording_that_is_not_audio_as_unexpected() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(account_path(&format!("Recordings/{RECORDING}.mp3"))))
        .respond_with(ResponseTemplate::new(200).set_body_raw(b"<html/>".to_vec(), "text/html"))
        .mount(&server)
        .await;

    let error = client(&server)
        .fetch_recording(&recording_sid())
        .await
        .unwrap_err();

    assert!(
        matches!(error, TwilioError::UnexpectedAnswer(_)),
        "got {error:?}"
    );
}

#[test]
fn it_should_accept_only_re_and_32_hex_digits_as_a_recording_sid() {
    assert!(RecordingSid::parse(RECORDING).is_some());
    for bad in [
        "",
        "RE",
        "CA00112233445566778899aabbccddeeff",
        "RE00112233445566778899aabbccddeefg",
        "RE00112233445566778899aabbccddeeff0",
        "RE0011/../../Calls/CA1",
    ] {
        assert!(RecordingSid::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn it_should_take_only_the_sid_out_of_a_stored_recording_url() {
    let from = |url: &str| RecordingSid::from_recording_url(url).map(|sid| sid.to_string());

    let expected = Some(RECORDING.to_owned());
    let twilio =
        format!("https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING}");
    assert_eq!(from(&twilio), expected);
    assert_eq!(from(&format!("{twilio}.mp3")), expected);
    assert_eq!(from(&format!("{twilio}.wav?Download=true")), expected);
    assert_eq!(from(&format!("https://evil.test/{RECORDING}")), expected);
    assert_eq!(from("https://api.twilio.com/Recordings/RE1"), None);
    assert_eq!(from("https://evil.test/steal"), None);
    assert_eq!(from(""), None);
}

#[tokio::test]
async fn it_should_not_repeat_the_auth_token_or_the_account_in_an_error_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path("IncomingPhoneNumbers.json")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 21452, "status": 400, "more_info": "https://www.twilio.com/docs/errors/21452",
            "message": format!("Account {ACCOUNT} with token {TOKEN} cannot buy this number")
        })))
        .mount(&server)
        .await;

    let error = client(&server)
        .buy_number(
            &number(),
            "https://example.test/v",
            "https://example.test/s",
        )
        .await
        .unwrap_err();

    let TwilioError::Api { message, code, .. } = &error else {
        panic!("got {error:?}");
    };
    assert_eq!(*code, Some(21452));
    assert!(!message.contains(TOKEN), "{message}");
    assert!(!message.contains(ACCOUNT), "{message}");
    assert!(message.contains("cannot buy this number"), "{message}");
}

/// A message resource as Twilio answers a new one (201), with more fields than we read.
fn message_json(body: &str) -> Value {
    json!({
        "sid": "SM00112233445566778899aabbccddeeff", "account_sid": ACCOUNT,
        "from": "+14155550100", "to": "+14155550199", "body": body, "status": "queued",
        "num_segments": "1", "direction": "outbound-api", "price": null, "error_code": null,
        "uri": format!("{}.json", account_path("Messages/SM00112233445566778899aabbccddeeff"))
    })
}

#[tokio::test]
async fn it_should_send_a_text_message_form_encoded() {
    let server = MockServer::start().await;
    let body = "New message from Ann: call back about the leak & the bill";
    Mock::given(method("POST"))
        .and(path(account_path("Messages.json")))
        .and(basic_auth(ACCOUNT, TOKEN))
        .and(form_is(&[
            ("To", "+14155550199"),
            ("From", "+14155550100"),
            ("Body", body),
        ]))
        .respond_with(ResponseTemplate::new(201).set_body_json(message_json(body)))
        .expect(1)
        .mount(&server)
        .await;

    let to = E164::parse("+14155550199").unwrap();
    let sid = client(&server)
        .send_sms("+14155550100", &to, body)
        .await
        .unwrap();

    assert_eq!(sid, "SM00112233445566778899aabbccddeeff");
}

#[tokio::test]
async fn it_should_report_twilios_refusal_of_a_text_message_with_its_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path("Messages.json")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 21211, "message": "The 'To' number +1415555019 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400
        })))
        .expect(1)
        .mount(&server)
        .await;

    let to = E164::parse("+14155550199").unwrap();
    let err = client(&server)
        .send_sms("+14155550100", &to, "hello")
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            TwilioError::Api {
                status: 400,
                code: Some(21211),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn it_should_not_send_a_text_message_twice_when_twilio_fails_with_a_server_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(account_path("Messages.json")))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;

    let to = E164::parse("+14155550199").unwrap();
    let err = client(&server)
        .send_sms("+14155550100", &to, "hello")
        .await
        .unwrap_err();

    assert!(
        matches!(err, TwilioError::Api { status: 503, .. }),
        "{err:?}"
    );
}

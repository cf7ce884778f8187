//! Phone numbers and recordings through the real server, with a fake Twilio (wiremock) that
//! speaks its documented wire format: Basic auth `AccountSid:AuthToken` (asserted on every
//! request), form bodies, JSON answers and `{"code", "message", "more_info", "status"}` errors.
//!
//! Admins buy, register, assign, suspend, reactivate and release numbers; owners may only read
//! the numbers of their own businesses; a call's recording and voicemail stream through us to
//! the owner of its business or an admin, fetched by SID, never by a stored URL.

use domain::business::{BusinessCommand, RegisterBusiness};
use domain::phone_number::{PhoneNumberCommand, ProvisionNumber};
use domain::values::{BusinessId, Money, E164};
use serde_json::{json, Value};
use support::{new_call_sid, TestApp, User, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN};
use wiremock::matchers::{basic_auth, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

mod access;
mod acquiring;
mod changing;
mod recordings;

const CALLER: &str = "+14155550111";
const RECORDING_SID: &str = "RE0123456789abcdef0123456789abcdef";
const VOICEMAIL_SID: &str = "RE99999999999999999999999999999999";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The server, pointed at a fake Twilio.
pub(crate) async fn spawn() -> (TestApp, MockServer) {
    let twilio = MockServer::start().await;
    let app = TestApp::spawn_with(&[("TWILIO_API_BASE", &twilio.uri())]).await;
    (app, twilio)
}

/// A path under the test account, as Twilio's REST API lays them out.
fn account_path(rest: &str) -> String {
    format!("/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/{rest}")
}

/// A Twilio request with the account's credentials.
pub(crate) fn twilio(http_method: &str, rest: &str) -> wiremock::MockBuilder {
    Mock::given(method(http_method))
        .and(path(account_path(rest)))
        .and(basic_auth(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN))
}

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
        let body = String::from_utf8_lossy(&request.body);
        let mut got: Vec<(String, String)> = body
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (form_decode(key), form_decode(value))
            })
            .collect();
        got.sort();
        got == self.0
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space, `%XX` a byte).
fn form_decode(encoded: &str) -> String {
    let mut bytes = Vec::new();
    let mut input = encoded.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex: String = input.by_ref().take(2).map(char::from).collect();
                bytes.push(u8::from_str_radix(&hex, 16).unwrap());
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// An incoming phone number resource as Twilio answers it.
pub(crate) fn incoming_number(sid: &str, number: &str, voice_url: &str) -> Value {
    json!({
        "sid": sid, "account_sid": TEST_ACCOUNT_SID, "phone_number": number,
        "friendly_name": "(415) 555-0100", "voice_url": voice_url, "voice_method": "POST",
        "status_callback": "", "sms_url": null, "capabilities": {"voice": true, "sms": true}
    })
}

/// Twilio's error body.
pub(crate) fn twilio_error(status: u16, code: i64, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "code": code, "message": message, "status": status,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}")
    }))
}

/// A fresh number in the fictional 555 range.
pub(crate) fn fresh_number() -> String {
    format!("+1555{:07}", uuid::Uuid::new_v4().as_u128() % 10_000_000)
}

/// The number as a path segment, its `+` percent-encoded as clients send it.
pub(crate) fn in_path(number: &str) -> String {
    number.replace('+', "%2B")
}

fn meta() -> domain::CommandMetadata {
    domain::CommandMetadata::new("t", "test:seed", domain::Actor::Cli, chrono::Utc::now())
}

/// A business registered for `owner` (none: nobody's), owner unavailable and no agent, so its
/// calls go to voicemail.
pub(crate) async fn business_of(app: &TestApp, owner: Option<&User>) -> BusinessId {
    let business = BusinessId(uuid::Uuid::new_v4());
    let id = business.to_string();
    let stores = app.stores();
    for command in [
        BusinessCommand::Register(RegisterBusiness {
            id: business,
            name: "Ann's Bakery".into(),
            description: String::new(),
            owner_user_id: owner.map(|o| o.id),
            owner_phone: Some(E164::parse("+14155550123").unwrap()),
            timezone: chrono_tz::UTC,
        }),
        BusinessCommand::SetOwnerAvailability { available: false },
    ] {
        stores
            .businesses
            .execute(&id, command, &meta())
            .await
            .unwrap();
    }
    business
}

/// A number we hold (Twilio sid returned), assigned to `business` when given.
pub(crate) async fn held_number(app: &TestApp, business: Option<BusinessId>) -> (String, String) {
    let number = fresh_number();
    let twilio_sid = format!("PN{}", uuid::Uuid::new_v4().simple());
    let stores = app.stores();
    let mut commands = vec![PhoneNumberCommand::Provision(ProvisionNumber {
        number: E164::parse(&number).unwrap(),
        twilio_sid: twilio_sid.clone(),
        country: "US".into(),
        area_code: Some("555".into()),
        monthly_cost: Money::new("1.15".parse().unwrap(), "USD").unwrap(),
    })];
    commands.extend(business.map(PhoneNumberCommand::AssignToBusiness));
    for command in commands {
        stores
            .numbers
            .execute(&number, command, &meta())
            .await
            .unwrap();
    }
    (number, twilio_sid)
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(actual, status, "{body}");
    body
}

/// Every event of the number was appended by `admin` through the REST API.
async fn assert_acted_by(app: &TestApp, number: &str, admin: &User, expected: &[&str]) {
    let events = app.events_of(number).await;
    let recent = &events[events.len() - expected.len()..];
    let types: Vec<&str> = recent.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(types, expected);
    for (event_type, _, metadata) in recent {
        assert_eq!(
            metadata["actor"],
            format!("user:{}", admin.id),
            "{event_type}"
        );
        let causation = metadata["causation"].as_str().unwrap();
        assert!(
            causation.starts_with("rest:") && causation.contains("/api/v1/phone-numbers"),
            "{causation}"
        );
    }
}

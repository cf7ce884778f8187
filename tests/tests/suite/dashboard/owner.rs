//! The business owner's dashboard over HTTP: today's numbers and the calls table (filters,
//! paging, htmx fragments), the live stream ([`live`]) and a call's page with its audio
//! ([`call_page`]) — with calls made through signed Twilio webhooks for two owners, so that every
//! answer is also a check that one owner never sees the other's calls.

mod call_page;
mod live;
mod table;

use std::time::Duration;

use reqwest::header::COOKIE;
use support::pages::{Page, PageClient};
use support::{new_call_sid, TestApp, User, TEST_PASSWORD};

const CALLER: &str = "+14155550111";

/// A business registered for `owner` (agent configured) with a number.
struct Owned {
    business_id: String,
    number: String,
}

/// Registers a business named `name` for `owner` in `timezone`; the owner takes calls when
/// `available`.
async fn owned_business(
    app: &TestApp,
    owner: &User,
    name: &str,
    available: bool,
    timezone: chrono_tz::Tz,
) -> Owned {
    use domain::business::{AgentSettings, BusinessCommand, RegisterBusiness, SealedSecret};
    use domain::phone_number::{PhoneNumberCommand, ProvisionNumber};
    use domain::values::{BusinessId, Money, E164};

    let stores = app.stores();
    let meta =
        || domain::CommandMetadata::new("t", "test:seed", domain::Actor::Cli, chrono::Utc::now());
    let business = BusinessId(uuid::Uuid::new_v4());
    let id = business.to_string();
    let commands = [
        BusinessCommand::Register(RegisterBusiness {
            id: business,
            name: name.into(),
            description: String::new(),
            owner_user_id: Some(owner.id),
            owner_phone: Some(E164::parse("+14155550123").unwrap()),
            timezone,
        }),
        BusinessCommand::SetOwnerAvailability { available },
        BusinessCommand::ConfigureAgent(AgentSettings {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
            instructions: "Take a message.".into(),
            api_key: Some(SealedSecret {
                key_id: "test".into(),
                ciphertext: "sealed".into(),
                last_four: "abcd".into(),
            }),
        }),
    ];
    for command in commands {
        stores
            .businesses
            .execute(&id, command, &meta())
            .await
            .unwrap();
    }
    let number = format!("+1555{:07}", uuid::Uuid::new_v4().as_u128() % 10_000_000);
    for command in [
        PhoneNumberCommand::Provision(ProvisionNumber {
            number: E164::parse(&number).unwrap(),
            twilio_sid: format!("PN{}", uuid::Uuid::new_v4().simple()),
            country: "US".into(),
            area_code: Some("555".into()),
            monthly_cost: Money::new("1.15".parse().unwrap(), "USD").unwrap(),
        }),
        PhoneNumberCommand::AssignToBusiness(business),
    ] {
        stores
            .numbers
            .execute(&number, command, &meta())
            .await
            .unwrap();
    }
    Owned {
        business_id: id,
        number,
    }
}

fn webhook<'a>(
    sid: &'a str,
    number: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("CallSid", sid),
        ("AccountSid", support::TEST_ACCOUNT_SID),
        ("From", CALLER),
        ("To", number),
        ("Caller", CALLER),
        ("Called", number),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ];
    if !extra.iter().any(|(key, _)| *key == "CallStatus") {
        params.push(("CallStatus", "ringing"));
    }
    params.extend_from_slice(extra);
    params
}

async fn post(app: &TestApp, path: &str, params: &[(&str, &str)]) {
    let response = app.post_twilio(path, params).await;
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

/// A call comes in; returns its CallSid.
async fn incoming(app: &TestApp, number: &str) -> String {
    let sid = new_call_sid();
    post(app, "/twilio/voice/incoming", &webhook(&sid, number, &[])).await;
    sid
}

/// The owner's phone rang out: the call goes to the AI agent.
async fn owner_missed(app: &TestApp, sid: &str, number: &str) {
    let extra = [
        ("DialCallStatus", "no-answer"),
        ("DialCallSid", "CAffffffffffffffffffffffffffffffff"),
        ("DialBridged", "false"),
    ];
    post(
        app,
        "/twilio/voice/dial-result",
        &webhook(sid, number, &extra),
    )
    .await;
}

/// Twilio's status callback: the call is over after `secs` seconds.
async fn completed(app: &TestApp, sid: &str, number: &str, secs: &str) {
    let extra = [
        ("CallStatus", "completed"),
        ("CallDuration", secs),
        ("Price", "-0.0085"),
        ("PriceUnit", "USD"),
    ];
    post(app, "/twilio/voice/status", &webhook(sid, number, &extra)).await;
}

/// A browser signed in as `user`.
async fn browser_of(app: &TestApp, user: &User) -> PageClient {
    let browser = PageClient::new(&app.address);
    browser.log_in(&user.email, TEST_PASSWORD).await;
    browser
}

/// `GET path` as `browser`, with extra headers (htmx's), returning the status and body.
async fn get_with(
    app: &TestApp,
    browser: &PageClient,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .get(format!("{}{path}", app.address))
        .timeout(Duration::from_secs(10))
        .header(COOKIE, session_cookie(browser));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The `Cookie` header of the browser's session.
fn session_cookie(browser: &PageClient) -> String {
    format!("ca_access={}", browser.cookie("ca_access").unwrap())
}

/// The value of the first `attribute="…"` in `html`, unescaped.
fn attribute(html: &str, attribute: &str) -> Option<String> {
    let start = html.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// The CallSids of the table's rows, in order.
fn rows(page: &str) -> Vec<String> {
    page.split("<tr id=\"call-")
        .skip(1)
        .map(|rest| rest[..34].to_owned())
        .collect()
}

/// The number shown in the numbers-at-a-glance box `id`.
fn number_in(page: &Page, id: &str) -> i64 {
    let at = page
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &page.body[at..];
    let start = rest.find("class=\"value\">").unwrap() + "class=\"value\">".len();
    let end = start + rest[start..].find('<').unwrap();
    rest[start..end].parse().unwrap()
}

//! Owner notifications, end to end: calls driven through the real server (signed webhooks; the
//! agent's message appended as the voice bridge appends it), Twilio's Messages API faked with
//! wiremock, a fake SMTP server for email, and the outcomes read back from the event store.
//! Settings through the REST API in [`settings`]; RabbitMQ as the source in [`rabbitmq`];
//! failures, retries and quiet hours in [`failures`].

mod failures;
mod history;
mod rabbitmq;
mod settings;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::call::{CallCommand, Urgency};
use domain::{Actor, CommandMetadata};
use infrastructure::notifications::{Notifier, NotifyPolicy};
use serde_json::{json, Value};
use support::calls::{self, owned_business, Owned, CALLER};
use support::fake_smtp::FakeSmtp;
use support::{TestApp, User, TEST_ACCOUNT_SID};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The owner's phone of every business of [`owned_business`].
const OWNER_PHONE: &str = "+14155550123";
const MESSAGE: &str = "The kitchen sink leaks onto the floor, please come today.";

/// Retries in milliseconds, missed calls judged after 300 ms, given up after 3 attempts.
fn fast() -> NotifyPolicy {
    NotifyPolicy {
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(200),
        give_up_after_attempts: 3,
        give_up_after: Duration::ZERO,
        missed_call_grace: Duration::from_millis(300),
        max_age: Duration::from_secs(24 * 3600),
    }
}

/// A notifying server, its fakes, and an owner with a business (owner available, agent set).
struct Harness {
    app: TestApp,
    twilio: MockServer,
    smtp: FakeSmtp,
    owner: User,
    business: Owned,
    /// Added to the notifier's clock, in seconds.
    clock_offset: Arc<AtomicI64>,
}

async fn harness(extra: &[(&str, &str)]) -> Harness {
    let twilio = MockServer::start().await;
    let smtp = FakeSmtp::start().await;
    let (base, smtp_url) = (twilio.uri(), smtp.url());
    let mut settings = vec![
        ("TWILIO_API_BASE", base.as_str()),
        ("SMTP_URL", smtp_url.as_str()),
        ("SMTP_FROM", "Call Assistant <calls@callassist.test>"),
    ];
    settings.extend_from_slice(extra);
    let clock_offset = Arc::new(AtomicI64::new(0));
    let offset = clock_offset.clone();
    let app = TestApp::spawn_notifying(&settings, move |notifier: Notifier| {
        notifier.with_policy(fast()).with_clock(Arc::new(move || {
            Utc::now() + chrono::Duration::seconds(offset.load(Ordering::SeqCst))
        }))
    })
    .await;
    let owner = app.owner().await;
    let business = owned_business(&app, &owner, "Ann's Plumbing", true, chrono_tz::UTC).await;
    Harness {
        app,
        twilio,
        smtp,
        owner,
        business,
        clock_offset,
    }
}

/// Twilio's answer to a new message.
fn queued(sid: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({
        "sid": sid, "account_sid": TEST_ACCOUNT_SID, "status": "queued",
        "from": "+14155550100", "to": OWNER_PHONE, "body": "…", "num_segments": "1",
        "direction": "outbound-api", "price": null, "error_code": null
    }))
}

fn messages_path() -> String {
    format!("/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Messages.json")
}

/// Twilio accepts every message.
async fn twilio_accepts(twilio: &MockServer) {
    Mock::given(method("POST"))
        .and(path(messages_path()))
        .respond_with(queued("SM00000000000000000000000000000001"))
        .mount(twilio)
        .await;
}

/// The forms of the messages Twilio was asked to send.
async fn texts(twilio: &MockServer) -> Vec<Vec<(String, String)>> {
    twilio
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|request| request.url.path() == messages_path())
        .map(|request| {
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect()
        })
        .collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .unwrap_or_default()
}

/// Waits (up to 15 s) until the call has `count` events of type `event_type`; returns their
/// payloads.
async fn wait_for_events(app: &TestApp, sid: &str, event_type: &str, count: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let found: Vec<Value> = app
            .events_of(sid)
            .await
            .into_iter()
            .filter(|(kind, _, _)| kind == event_type)
            .map(|(kind, payload, _)| payload[kind.as_str()].clone())
            .collect();
        if found.len() >= count {
            return found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{sid} has {} {event_type} events, waited for {count}: {:?}",
            found.len(),
            app.event_types_of(sid).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The notification events of a call, as (type, payload).
async fn notification_events(app: &TestApp, sid: &str) -> Vec<(String, Value)> {
    app.events_of(sid)
        .await
        .into_iter()
        .filter(|(kind, _, _)| kind.starts_with("OwnerNotif"))
        .map(|(kind, payload, _)| {
            let fields = payload[kind.as_str()].clone();
            (kind, fields)
        })
        .collect()
}

/// A call the owner misses, which the agent takes: ends with the agent's session open and a
/// message taken (`urgency`), as the voice bridge records it.
async fn message_taken(h: &Harness, urgency: Urgency) -> String {
    let sid = calls::incoming(&h.app, &h.business.number).await;
    calls::dial_result(&h.app, &sid, &h.business.number, "no-answer", "false").await;
    let stores = h.app.stores();
    let meta = CommandMetadata::new(sid.clone(), "test:bridge", Actor::VoiceBridge, Utc::now());
    let commands = CallCommand::Batch(vec![
        CallCommand::StartAiSession {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
        },
        CallCommand::TakeMessage {
            caller_name: Some("Bob Baker".into()),
            callback_number: Some("+14155550177".into()),
            message: MESSAGE.into(),
            urgency,
        },
    ]);
    stores.calls.execute(&sid, commands, &meta).await.unwrap();
    sid
}

/// A call nobody takes: the owner does not answer and the caller hangs up before the agent's
/// session opens.
async fn missed_call(h: &Harness) -> String {
    let sid = calls::incoming(&h.app, &h.business.number).await;
    calls::dial_result(&h.app, &sid, &h.business.number, "no-answer", "false").await;
    calls::completed(&h.app, &sid, &h.business.number, "14").await;
    sid
}

#[tokio::test]
async fn it_should_text_and_email_the_owner_when_the_agent_takes_a_message() {
    let h = harness(&[]).await;
    twilio_accepts(&h.twilio).await;

    let sid = message_taken(&h, Urgency::High).await;

    let sent = wait_for_events(&h.app, &sid, "OwnerNotified", 2).await;
    let texts = texts(&h.twilio).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    let text = &texts[0];
    assert_eq!(field(text, "To"), OWNER_PHONE);
    assert_eq!(
        field(text, "From"),
        h.business.number,
        "sent from the number called"
    );
    let body = field(text, "Body");
    assert!(
        body.starts_with("Ann's Plumbing: URGENT message from Bob Baker:"),
        "{body}"
    );
    assert!(body.contains(MESSAGE), "{body}");
    assert!(body.contains("Call back: +14155550177."), "{body}");
    assert!(
        body.ends_with(&format!("{}/dashboard/calls/{sid}", h.app.address)),
        "{body}"
    );

    let emails = h.smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, vec![h.owner.email.clone()]);
    assert_eq!(emails[0].from, "calls@callassist.test");
    assert!(
        emails[0]
            .data
            .contains("Subject: [Ann's Plumbing] Urgent message from"),
        "{}",
        emails[0].data
    );

    let sms = sent.iter().find(|p| p["channel"] == "sms").unwrap();
    assert_eq!(sms["trigger"], "message_taken");
    assert_eq!(sms["to"], OWNER_PHONE);
    assert_eq!(sms["provider_id"], "SM00000000000000000000000000000001");
    let email = sent.iter().find(|p| p["channel"] == "email").unwrap();
    assert_eq!(email["to"], h.owner.email.as_str());
    assert_eq!(email["provider_id"], Value::Null);
    assert_ne!(sms["notification_id"], email["notification_id"]);

    // The outcome is in the call's timeline, as every event is.
    h.app.projections_caught_up().await;
    let timeline: Value = h
        .app
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/calls/{sid}/timeline"),
            Some(&h.owner.token),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let types: Vec<&str> = timeline["entries"]
        .as_array()
        .expect("a list of events")
        .iter()
        .filter_map(|entry| entry["event_type"].as_str())
        .collect();
    assert_eq!(
        types.iter().filter(|t| **t == "OwnerNotified").count(),
        2,
        "{types:?}"
    );
}

#[tokio::test]
async fn it_should_tell_the_owner_of_a_missed_call_once_and_of_an_answered_one_never() {
    let h = harness(&[]).await;
    twilio_accepts(&h.twilio).await;

    let answered = calls::incoming(&h.app, &h.business.number).await;
    calls::dial_result(&h.app, &answered, &h.business.number, "completed", "true").await;
    calls::completed(&h.app, &answered, &h.business.number, "60").await;
    let missed = missed_call(&h).await;
    // Twilio repeats the status callback: still one happening.
    calls::completed(&h.app, &missed, &h.business.number, "14").await;

    let sent = wait_for_events(&h.app, &missed, "OwnerNotified", 2).await;
    assert!(
        sent.iter().all(|p| p["trigger"] == "missed_call"),
        "{sent:?}"
    );
    let texts = texts(&h.twilio).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    let body = field(&texts[0], "Body");
    assert!(
        body.starts_with(&format!("Ann's Plumbing: missed call from {CALLER} at ")),
        "{body}"
    );
    // The answered call's end was judged too (after the same grace): nothing for it.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(notification_events(&h.app, &answered).await.is_empty());
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_jobs")
        .fetch_one(&h.app.db.pool)
        .await
        .unwrap();
    assert_eq!(pending, 0, "every job is done");
    assert_eq!(h.smtp.received().len(), 1);
}

#[tokio::test]
async fn it_should_text_the_owner_when_a_caller_leaves_a_voicemail() {
    let h = harness(&[]).await;
    twilio_accepts(&h.twilio).await;
    let meta = CommandMetadata::new("t", "test:seed", Actor::Cli, Utc::now());
    h.app
        .stores()
        .businesses
        .execute(
            &h.business.business_id,
            domain::business::BusinessCommand::DisableAgent,
            &meta,
        )
        .await
        .unwrap();

    let sid = calls::incoming(&h.app, &h.business.number).await;
    calls::dial_result(&h.app, &sid, &h.business.number, "no-answer", "false").await;
    let mut recorded = calls::webhook(&sid, &h.business.number, &[("CallStatus", "in-progress")]);
    recorded.extend([
        ("RecordingUrl", "https://api.twilio.com/Recordings/RE1"),
        ("RecordingDuration", "23"),
        ("Digits", "hangup"),
    ]);
    calls::post(&h.app, "/twilio/voice/voicemail", &recorded).await;
    calls::completed(&h.app, &sid, &h.business.number, "40").await;

    let sent = wait_for_events(&h.app, &sid, "OwnerNotified", 2).await;
    assert!(
        sent.iter().all(|p| p["trigger"] == "voicemail_recorded"),
        "a voicemail is not also a missed call: {sent:?}"
    );
    let texts = texts(&h.twilio).await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        field(&texts[0], "Body").starts_with(&format!(
            "Ann's Plumbing: new voicemail (23 s) from {CALLER}."
        )),
        "{:?}",
        texts[0]
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(notification_events(&h.app, &sid).await.len(), 2);
}

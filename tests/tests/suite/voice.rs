//! The voice bridge end to end: the real server, a signed incoming call routed to the AI agent,
//! Twilio's media stream played by `MediaStreamClient`, OpenAI played by `FakeRealtime`, and
//! Twilio's REST API by wiremock (hang-ups and redirects land there).

mod call;
mod failures;
mod handshake;
mod many;
mod variants;

use std::time::{Duration, Instant};

use api::voice::VoiceSessions;
use api::Application;
use domain::business::{AgentSettings, BusinessCommand};
use domain::{Actor, CommandMetadata};
use infrastructure::vault::Vault;
use serde_json::{json, Value};
use support::fake_openai::{Behaviour, FakeRealtime, FAKE_OPENAI_KEY};
use support::fake_twilio_media::{MediaStreamClient, MediaStreamOptions};
use support::{new_call_sid, seed, SeedBusiness, Seeded, TestApp, TestDatabase};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Long enough for anything a test waits for; failures say what was missing.
const WAIT: Duration = Duration::from_secs(10);
const CALLER: &str = "+14155550111";
/// The test server's `ENCRYPTION_KEY`, decoded.
const ENCRYPTION_KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

/// The server with its fakes, and a business whose agent holds the fake's key.
struct Rig {
    app: TestApp,
    sessions: VoiceSessions,
    openai: FakeRealtime,
    twilio: MockServer,
    seeded: Seeded,
}

impl Rig {
    async fn start(behaviour: Behaviour) -> Self {
        Self::start_with(behaviour, &[]).await
    }

    async fn start_with(behaviour: Behaviour, extra: &[(&str, &str)]) -> Self {
        let openai = FakeRealtime::start(behaviour).await;
        let twilio = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex(
                r"^/2010-04-01/Accounts/AC[0-9a-f]{32}/Calls/CA[0-9a-f]{32}\.json$",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"sid": "CA00000000000000000000000000000000", "status": "in-progress"}),
            ))
            .mount(&twilio)
            .await;
        let openai_url = openai.url();
        let twilio_url = twilio.uri();
        let mut settings = vec![
            ("OPENAI_REALTIME_URL", openai_url.as_str()),
            ("TWILIO_API_BASE", twilio_url.as_str()),
        ];
        settings.extend_from_slice(extra);
        let db = TestDatabase::fresh().await;
        let app = Application::build(support::test_settings(&db.url, &settings))
            .await
            .expect("application builds")
            .with_summaries(false);
        let sessions = app.voice_sessions();
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder().timeout(WAIT).build().unwrap();
        let app = TestApp {
            address,
            db,
            client,
        };
        let seeded = seed(
            &app.stores(),
            SeedBusiness {
                owner_available: false,
                ..SeedBusiness::default()
            },
        )
        .await;
        let sealed = Vault::new(ENCRYPTION_KEY, [])
            .seal(seeded.business_id, FAKE_OPENAI_KEY)
            .unwrap();
        let agent = AgentSettings {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
            instructions: "You are the receptionist of Joe's Plumbing. Take a message.".into(),
            api_key: Some(sealed),
        };
        let meta = CommandMetadata::new("test", "test:voice", Actor::Cli, chrono::Utc::now());
        app.stores()
            .businesses
            .execute(
                &seeded.business_id.to_string(),
                BusinessCommand::ConfigureAgent(agent),
                &meta,
            )
            .await
            .unwrap();
        Self {
            app,
            sessions,
            openai,
            twilio,
            seeded,
        }
    }

    /// A call comes in (owner unavailable: the agent answers); returns its sid and the
    /// `<Stream>` URL and parameters of the TwiML.
    async fn incoming_call(&self) -> (String, String, Vec<(String, String)>) {
        let sid = new_call_sid();
        let params = [
            ("CallSid", sid.as_str()),
            ("AccountSid", support::TEST_ACCOUNT_SID),
            ("From", CALLER),
            ("To", &self.seeded.number),
            ("CallStatus", "ringing"),
            ("Direction", "inbound"),
            ("ApiVersion", "2010-04-01"),
        ];
        let response = self
            .app
            .post_twilio("/twilio/voice/incoming", &params)
            .await;
        assert_eq!(response.status(), 200);
        let twiml = response.text().await.unwrap();
        let url = between(&twiml, r#"<Stream url=""#, r#"""#)
            .unwrap_or_else(|| panic!("no stream in {twiml}"));
        let mut parameters = Vec::new();
        let mut rest = twiml.as_str();
        while let Some(at) = rest.find("<Parameter ") {
            rest = &rest[at..];
            let name = between(rest, r#"name=""#, r#"""#).unwrap();
            let value = between(rest, r#"value=""#, r#"""#).unwrap();
            parameters.push((name, value));
            rest = &rest[1..];
        }
        (sid, url, parameters)
    }

    /// A call to the agent whose media stream is open, as Twilio opens it.
    async fn call(&self) -> (String, MediaStreamClient) {
        let (sid, url, parameters) = self.incoming_call().await;
        let parameters: Vec<(&str, &str)> = parameters
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let stream =
            MediaStreamClient::connect(&url, &url, support::TEST_AUTH_TOKEN, &sid, &parameters)
                .await
                .expect("the media stream opens");
        (sid, stream)
    }

    /// Options for a stream of `sid` to this server.
    fn stream_options(&self, sid: &str) -> MediaStreamOptions {
        let url = format!(
            "{}/twilio/media-stream",
            self.app.address.replacen("http", "ws", 1)
        );
        let mut options = MediaStreamOptions::new(&url, &url, support::TEST_AUTH_TOKEN, sid);
        options.custom_parameters = vec![("call_sid".into(), sid.into())];
        options
    }

    /// The forms posted to Twilio's `Calls/{sid}.json`, in order.
    async fn call_updates(&self, sid: &str) -> Vec<Vec<(String, String)>> {
        let suffix = format!("/Calls/{sid}.json");
        self.twilio
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|request| request.url.path().ends_with(&suffix))
            .map(|request| {
                let body = String::from_utf8_lossy(&request.body).into_owned();
                reqwest::Url::parse(&format!("http://form/?{body}"))
                    .unwrap()
                    .query_pairs()
                    .map(|(name, value)| (name.into_owned(), value.into_owned()))
                    .collect()
            })
            .collect()
    }

    /// Waits for a call update whose form has `name` with a value containing `part`.
    async fn wait_call_update(&self, sid: &str, name: &str, part: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let updates = self.call_updates(sid).await;
            let found = updates.iter().flatten().find_map(|(key, value)| {
                (key == name && value.contains(part)).then(|| value.clone())
            });
            if let Some(value) = found {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "no {name} containing {part:?} posted for {sid}; updates: {updates:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the call has an event of `event_type`; returns every event.
    async fn wait_event(&self, sid: &str, event_type: &str) -> Vec<(String, Value, Value)> {
        let deadline = Instant::now() + WAIT;
        loop {
            let events = self.app.events_of(sid).await;
            if events.iter().any(|(kind, _, _)| kind == event_type) {
                return events;
            }
            let kinds: Vec<&String> = events.iter().map(|(kind, _, _)| kind).collect();
            assert!(
                Instant::now() < deadline,
                "no {event_type} for {sid}; events: {kinds:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until no media stream is served any more.
    async fn wait_no_live_sessions(&self) {
        let deadline = Instant::now() + WAIT;
        while self.sessions.live() > 0 {
            assert!(
                Instant::now() < deadline,
                "{} voice sessions still live",
                self.sessions.live()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The text between `start` and the next `end` in `text`.
fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_owned())
}

/// The fields of the call's first event of `event_type` (payloads are tagged with the type).
fn payload_of<'a>(events: &'a [(String, Value, Value)], event_type: &str) -> &'a Value {
    events
        .iter()
        .find(|(kind, _, _)| kind == event_type)
        .map(|(_, payload, _)| &payload[event_type])
        .unwrap_or_else(|| panic!("no {event_type}"))
}

/// The metadata of the call's first event of `event_type`.
fn metadata_of<'a>(events: &'a [(String, Value, Value)], event_type: &str) -> &'a Value {
    events
        .iter()
        .find(|(kind, _, _)| kind == event_type)
        .map(|(_, _, metadata)| metadata)
        .unwrap_or_else(|| panic!("no {event_type}"))
}

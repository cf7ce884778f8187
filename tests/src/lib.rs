//! Support for the end-to-end and database tests: a fresh PostgreSQL database per test, and the
//! real application spawned on a free port.
//!
//! Tests need a PostgreSQL server: `DATABASE_URL` names it (`./scripts/test` sets it up). When
//! it is missing or unreachable the tests fail loudly; none is skipped.
// Test support: a panic here is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod calls;
pub mod fake_openai;
pub mod fake_smtp;
pub mod fake_twilio_media;
pub mod pages;

use std::collections::HashMap;
use std::time::Duration;

use api::Application;
use infrastructure::config::Settings;
use infrastructure::db;
use infrastructure::event_store::{AppendSignal, Stores};
use infrastructure::twilio::signature::{Algorithm, Body, Signer};
use sqlx::PgPool;

/// The Twilio account the test server answers for.
pub const TEST_ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
/// Its auth token: the tests sign their webhooks with it, as Twilio would.
pub const TEST_AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";

/// Prefix of every database the tests create; `./scripts/test` drops leftovers.
pub const TEST_DATABASE_PREFIX: &str = "callassist_test_";

/// The server the tests run against, from `DATABASE_URL`.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL is not set: the tests need a PostgreSQL server. Run ./scripts/test, \
         which finds or starts one.",
    )
}

/// A database of its own for one test, migrated.
pub struct TestDatabase {
    /// Its connection string.
    pub url: String,
    /// Its name.
    pub name: String,
    /// A pool on it.
    pub pool: PgPool,
    scratch: db::ScratchDatabase,
}

impl TestDatabase {
    /// Creates and migrates a fresh database named `callassist_test_<uuid>`.
    pub async fn fresh() -> Self {
        let scratch = db::ScratchDatabase::create(&server_url(), TEST_DATABASE_PREFIX)
            .await
            .unwrap_or_else(|err| panic!("cannot create a test database at DATABASE_URL: {err:#}"));
        let pool = db::connect_and_migrate(&scratch.url)
            .await
            .expect("cannot migrate the test database");
        Self {
            url: scratch.url.clone(),
            name: scratch.name.clone(),
            pool,
            scratch,
        }
    }

    /// A second, independent pool on the same database (another node).
    pub async fn another_pool(&self) -> PgPool {
        db::connect(&self.url)
            .await
            .expect("cannot open a second pool")
    }

    /// Loses the database: it refuses connections from now on and the open ones are ended, as
    /// if it were gone. Not a `DROP DATABASE`, which would hold back the gap-safe readers of
    /// every other test on the server while it waits for a checkpoint ([`db::ScratchDatabase::shut_out`]).
    pub async fn lose(&self) {
        self.scratch
            .shut_out()
            .await
            .expect("cannot shut the test database out");
    }
}

/// The `ENCRYPTION_KEY` of every test server (32 bytes: `0123456789abcdef` twice).
pub const TEST_ENCRYPTION_KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

/// Opens the personal data a test server sealed in the event store `pool`.
pub fn personal_data(pool: &sqlx::PgPool) -> infrastructure::privacy::PersonalData {
    infrastructure::privacy::PersonalData::new(pool.clone(), TEST_ENCRYPTION_KEY, [])
}

/// The stored events of one aggregate: `(event_type, payload, metadata)`, in order, with the
/// calls' personal fields opened with the test servers' `ENCRYPTION_KEY`.
pub async fn opened_events_of(
    pool: &sqlx::PgPool,
    aggregate_id: &str,
) -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let stored: Vec<(String, String, i64, String, serde_json::Value, serde_json::Value)> =
        sqlx::query_as("SELECT aggregate_type, aggregate_id, sequence, event_type, payload, metadata FROM events WHERE aggregate_id = $1 ORDER BY sequence")
            .bind(aggregate_id)
            .fetch_all(pool)
            .await
            .unwrap();
    let mut events: Vec<infrastructure::event_store::RecordedEvent> = stored
        .into_iter()
        .map(
            |(aggregate_type, aggregate_id, sequence, event_type, payload, metadata)| {
                infrastructure::event_store::RecordedEvent {
                    position: infrastructure::event_store::Position::START,
                    aggregate_type,
                    aggregate_id,
                    sequence,
                    event_type,
                    event_version: String::new(),
                    payload,
                    metadata,
                }
            },
        )
        .collect();
    personal_data(pool).open(&mut events).await.unwrap();
    events
        .into_iter()
        .map(|event| (event.event_type, event.payload, event.metadata))
        .collect()
}

/// Settings for a test server on a free port over `database_url`.
pub fn test_settings(database_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", database_url),
        ("BIND", "127.0.0.1:0"),
        ("JWT_SECRET", "test-secret-test-secret-test-secret-0123"),
        (
            "ENCRYPTION_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ),
        ("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID),
        ("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN),
        // Fast hashes in tests; production keeps the default (12).
        ("BCRYPT_COST", "4"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    Settings::from_lookup(|name| vars.get(name).cloned()).expect("test settings are valid")
}

/// The real application, running on a free port over a fresh database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// Its database.
    pub db: TestDatabase,
    /// An HTTP client.
    pub client: reqwest::Client,
}

impl TestApp {
    /// Builds the application over a fresh database and runs it in the background.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// As [`TestApp::spawn`], with extra settings. Owner notifications are off (they would
    /// add events to the calls of tests about other things): see [`TestApp::spawn_notifying`].
    pub async fn spawn_with(extra: &[(&str, &str)]) -> Self {
        Self::spawn_adjusted(extra, |app| app.with_notifications(false)).await
    }

    /// As [`TestApp::spawn_with`], with owner notifications on, the notifier adjusted by
    /// `adjust` (a shorter retry policy, a fixed clock).
    pub async fn spawn_notifying(
        extra: &[(&str, &str)],
        adjust: impl FnOnce(
            infrastructure::notifications::Notifier,
        ) -> infrastructure::notifications::Notifier,
    ) -> Self {
        Self::spawn_adjusted(extra, |app| app.with_notifier(adjust)).await
    }

    /// Builds the application with extra settings, adjusts it, and runs it.
    pub async fn spawn_adjusted(
        extra: &[(&str, &str)],
        adjust: impl FnOnce(Application) -> Application,
    ) -> Self {
        let db = TestDatabase::fresh().await;
        let app = Application::build(test_settings(&db.url, extra))
            .await
            .expect("application builds");
        let app = adjust(app);
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Self {
            address,
            db,
            client,
        }
    }

    /// The write side over the test database, as another node would see it.
    pub fn stores(&self) -> Stores {
        Stores::new(&self.db.pool, AppendSignal::new()).with_privacy(personal_data(&self.db.pool))
    }

    /// `POST path` with a form signed as Twilio signs it (HMAC-SHA1 with the test auth token,
    /// over our public URL).
    pub async fn post_twilio(&self, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let url = format!("{}{path}", self.address);
        let signature = Signer::new(TEST_AUTH_TOKEN.to_owned().into()).sign(
            Algorithm::HmacSha1,
            &url,
            &Body::Form(&owned),
        );
        self.client
            .post(&url)
            .header("X-Twilio-Signature", signature)
            .form(&owned)
            .send()
            .await
            .expect("request reaches the server")
    }

    /// `POST path` with a form and no signature.
    pub async fn post_unsigned(
        &self,
        path: &str,
        params: &[(&str, &str)],
        signature: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .form(params);
        if let Some(signature) = signature {
            request = request.header("X-Twilio-Signature", signature);
        }
        request.send().await.expect("request reaches the server")
    }

    /// The stored events of one aggregate: `(event_type, payload, metadata)`, in order, with
    /// the calls' personal fields opened (see [`TestApp::raw_events_of`] for them as stored).
    pub async fn events_of(
        &self,
        aggregate_id: &str,
    ) -> Vec<(String, serde_json::Value, serde_json::Value)> {
        opened_events_of(&self.db.pool, aggregate_id).await
    }

    /// The events of one aggregate as the `events` table holds them: personal fields sealed.
    pub async fn raw_events_of(
        &self,
        aggregate_id: &str,
    ) -> Vec<(String, serde_json::Value, serde_json::Value)> {
        sqlx::query_as("SELECT event_type, payload, metadata FROM events WHERE aggregate_id = $1 ORDER BY sequence")
            .bind(aggregate_id)
            .fetch_all(&self.db.pool)
            .await
            .unwrap()
    }

    /// The event types of one aggregate, in order.
    pub async fn event_types_of(&self, aggregate_id: &str) -> Vec<String> {
        self.events_of(aggregate_id)
            .await
            .into_iter()
            .map(|(event_type, _, _)| event_type)
            .collect()
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request reaches the server")
    }
}

/// A signed-in user of the test server.
#[derive(Debug, Clone)]
pub struct User {
    /// Their id.
    pub id: uuid::Uuid,
    /// Their email.
    pub email: String,
    /// A valid access token.
    pub token: String,
}

/// The password every test user gets.
pub const TEST_PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Creates a user with `role` directly in the database (as `callassist admin create`
    /// does for admins) and signs them in over the API.
    pub async fn user(&self, role: infrastructure::accounts::Role) -> User {
        let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
        let id = infrastructure::accounts::create_user(
            &self.db.pool,
            infrastructure::accounts::NewUser {
                email: email.clone(),
                password: TEST_PASSWORD.into(),
                first_name: "Test".into(),
                last_name: "User".into(),
                role,
            },
            "test",
            4,
        )
        .await
        .expect("test user is created");
        let response = self
            .api(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({ "email": email, "password": TEST_PASSWORD })),
            )
            .await;
        assert_eq!(response.status(), 200, "test user signs in");
        let pair: serde_json::Value = response.json().await.unwrap();
        User {
            id,
            email,
            token: pair["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A signed-in admin.
    pub async fn admin(&self) -> User {
        self.user(infrastructure::accounts::Role::Admin).await
    }

    /// A signed-in business owner.
    pub async fn owner(&self) -> User {
        self.user(infrastructure::accounts::Role::BusinessOwner)
            .await
    }

    /// A JSON API request, with a Bearer token when `token` is given.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request reaches the server")
    }

    /// Waits (up to 60 s) until every projection has applied every event stored so far, so a
    /// query sees what the commands before it did.
    pub async fn projections_caught_up(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        for projection in projections::registry::all() {
            let name = projection.name();
            loop {
                let left: i64 = sqlx::query_scalar(
                    "SELECT CASE WHEN c.name IS NULL THEN (SELECT count(*) FROM events) ELSE \
                       (SELECT count(*) FROM events e \
                        WHERE (e.transaction_id::text::bigint, e.global_position) > (c.transaction_id, c.global_position)) END \
                     FROM (SELECT 1) AS one LEFT JOIN projection_checkpoints c ON c.name = $1",
                )
                .bind(name)
                .fetch_one(&self.db.pool)
                .await
                .unwrap();
                if left == 0 {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "projection {name} still has {left} events to apply"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Asserts a problem+json answer with `status` and `code`; returns its body.
pub async fn expect_problem(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert_eq!(actual, status, "{body}");
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(body["code"], code, "{body}");
    body
}

/// What a seeded business looks like.
pub struct SeedBusiness {
    /// Its name (strangers' input: tests put XML in it).
    pub name: &'static str,
    /// Whether the owner takes calls.
    pub owner_available: bool,
    /// Whether the AI agent is configured.
    pub agent: bool,
}

impl Default for SeedBusiness {
    fn default() -> Self {
        Self {
            name: "Joe's Plumbing",
            owner_available: true,
            agent: true,
        }
    }
}

/// A business (open around the clock, owner phone +14155550123) with one number ringing for it.
pub struct Seeded {
    /// The business.
    pub business_id: domain::values::BusinessId,
    /// Its number.
    pub number: String,
    /// The owner's phone.
    pub owner_phone: String,
}

/// Registers a business and provisions and assigns a fresh number to it.
pub async fn seed(stores: &Stores, seed: SeedBusiness) -> Seeded {
    use domain::business::{AgentSettings, BusinessCommand, RegisterBusiness, SealedSecret};
    use domain::values::{BusinessId, E164};

    let meta = || {
        domain::CommandMetadata::new("seed", "test:seed", domain::Actor::Cli, chrono::Utc::now())
    };
    let business_id = BusinessId(uuid::Uuid::new_v4());
    let id = business_id.to_string();
    let owner_phone = "+14155550123";
    stores
        .businesses
        .execute(
            &id,
            BusinessCommand::Register(RegisterBusiness {
                id: business_id,
                name: seed.name.into(),
                description: String::new(),
                owner_user_id: None,
                owner_phone: Some(E164::parse(owner_phone).unwrap()),
                timezone: chrono_tz::UTC,
            }),
            &meta(),
        )
        .await
        .unwrap();
    if !seed.owner_available {
        stores
            .businesses
            .execute(
                &id,
                BusinessCommand::SetOwnerAvailability { available: false },
                &meta(),
            )
            .await
            .unwrap();
    }
    if seed.agent {
        let agent = AgentSettings {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
            instructions: "Take a message.".into(),
            api_key: Some(SealedSecret {
                key_id: "test".into(),
                ciphertext: "sealed".into(),
                last_four: "abcd".into(),
            }),
        };
        stores
            .businesses
            .execute(&id, BusinessCommand::ConfigureAgent(agent), &meta())
            .await
            .unwrap();
    }
    let number = give_new_number(stores, business_id).await;
    Seeded {
        business_id,
        number,
        owner_phone: owner_phone.to_owned(),
    }
}

/// Provisions a new +1555 number (as Twilio would have sold it) and assigns it to `business_id`;
/// returns it.
pub async fn give_new_number(stores: &Stores, business_id: domain::values::BusinessId) -> String {
    use domain::phone_number::{PhoneNumberCommand, ProvisionNumber};
    use domain::values::{Money, E164};

    let meta = || {
        domain::CommandMetadata::new(
            "test",
            "test:number",
            domain::Actor::Cli,
            chrono::Utc::now(),
        )
    };
    let number = format!("+1555{:07}", uuid::Uuid::new_v4().as_u128() % 10_000_000);
    for command in [
        PhoneNumberCommand::Provision(ProvisionNumber {
            number: E164::parse(&number).unwrap(),
            twilio_sid: format!("PN{}", uuid::Uuid::new_v4().simple()),
            country: "US".into(),
            area_code: Some("555".into()),
            monthly_cost: Money::new("1.15".parse().unwrap(), "USD").unwrap(),
        }),
        PhoneNumberCommand::AssignToBusiness(business_id),
    ] {
        stores
            .numbers
            .execute(&number, command, &meta())
            .await
            .unwrap();
    }
    number
}

/// A fresh, well-formed CallSid.
pub fn new_call_sid() -> String {
    format!("CA{}", uuid::Uuid::new_v4().simple())
}

/// The RabbitMQ server the relay tests publish to, from `AMQP_URL`.
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .expect(
            "AMQP_URL is not set: the relay tests need a RabbitMQ server. Run ./scripts/test, \
             which finds or starts one, or set AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2f",
        )
}

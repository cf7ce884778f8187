//! Support for the end-to-end and database tests: a fresh PostgreSQL database per test, and the
//! real application spawned on a free port.
//!
//! Tests need a PostgreSQL server: `DATABASE_URL` names it (`./scripts/test` sets it up). When
//! it is missing or unreachable the tests fail loudly; none is skipped.
// Test support: a panic here is a failed test with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use api::Application;
use infrastructure::config::Settings;
use infrastructure::db;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};

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
}

impl TestDatabase {
    /// Creates and migrates a fresh database named `callassist_test_<uuid>`.
    pub async fn fresh() -> Self {
        let base: PgConnectOptions = server_url().parse().expect("DATABASE_URL does not parse");
        let name = format!("{TEST_DATABASE_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let mut admin = base
            .clone()
            .database("postgres")
            .connect()
            .await
            .unwrap_or_else(|err| panic!("cannot reach PostgreSQL at DATABASE_URL: {err}"));
        sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
            .execute(&mut admin)
            .await
            .expect("cannot create a test database");
        admin.close().await.ok();
        let options = base.database(&name);
        let url = options.to_url_lossy().to_string();
        let pool = db::connect_and_migrate(&url)
            .await
            .expect("cannot migrate the test database");
        Self { url, name, pool }
    }

    /// A second, independent pool on the same database (another node).
    pub async fn another_pool(&self) -> PgPool {
        db::connect(&self.url)
            .await
            .expect("cannot open a second pool")
    }

    /// Drops the database, disconnecting everyone (simulates losing it).
    pub async fn drop_now(&self) {
        let base: PgConnectOptions = server_url().parse().unwrap();
        let mut admin = base.database("postgres").connect().await.unwrap();
        sqlx::query(&format!(r#"DROP DATABASE "{}" WITH (FORCE)"#, self.name))
            .execute(&mut admin)
            .await
            .unwrap();
    }
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
        let db = TestDatabase::fresh().await;
        let app = Application::build(test_settings(&db.url, &[]))
            .await
            .expect("application builds");
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

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request reaches the server")
    }
}

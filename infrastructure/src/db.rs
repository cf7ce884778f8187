//! PostgreSQL: connecting, creating the database when it does not exist yet, and the migrations
//! of `migrations/` (the event store and the read models share one ordered history).

use std::time::Duration;

use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

/// Every migration of the workspace, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// The database could not be reached, created or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL does not parse as a PostgreSQL connection string.
    #[error("DATABASE_URL is not a valid PostgreSQL connection string")]
    BadUrl(#[source] sqlx::Error),
    /// The server did not answer or refused us.
    #[error("cannot reach PostgreSQL at {target}")]
    Unreachable {
        /// Host, port and database (no password).
        target: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migrating the database failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// How many connections one process keeps open at most.
const MAX_CONNECTIONS: u32 = 20;
/// How long a session may sit idle inside a transaction before PostgreSQL ends it.
const IDLE_IN_TRANSACTION_TIMEOUT: &str = "10s";

fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default)")
    )
}

/// Creates the database named in `url` if it does not exist yet.
pub async fn create_if_missing(url: &str) -> Result<(), DbError> {
    let options: PgConnectOptions = url.parse().map_err(DbError::BadUrl)?;
    let unreachable = |source| DbError::Unreachable {
        target: describe(&options),
        source,
    };
    if !Postgres::database_exists(url).await.map_err(unreachable)? {
        // Two processes may race to create it; the loser sees "already exists".
        if let Err(err) = Postgres::create_database(url).await {
            if !Postgres::database_exists(url).await.unwrap_or(false) {
                return Err(unreachable(err));
            }
        }
    }
    Ok(())
}

/// Opens a pool on `url`, failing fast (5 s) when the server does not answer.
pub async fn connect(url: &str) -> Result<PgPool, DbError> {
    let options: PgConnectOptions = url.parse().map_err(DbError::BadUrl)?;
    // A transaction left open by a task cancelled mid-way (its connection back in the pool)
    // would hold the aggregate it locked and, worse, hold back the oldest running transaction
    // that every reader of the global stream waits behind: the server ends such a session.
    // Ours are never idle inside a transaction for more than milliseconds.
    let options = options.options([(
        "idle_in_transaction_session_timeout",
        IDLE_IN_TRANSACTION_TIMEOUT,
    )]);
    let target = describe(&options);
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(5))
        // No ping before every statement (a round trip each): the event store retries a
        // statement once when its connection turns out to be dead.
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|source| DbError::Unreachable { target, source })
}

/// Creates the database if needed, connects, and applies pending migrations.
pub async fn connect_and_migrate(url: &str) -> Result<PgPool, DbError> {
    create_if_missing(url).await?;
    let pool = connect(url).await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Whether the database answers a trivial query within `timeout`.
/// A second try covers a pooled connection that died with a database restart.
pub async fn is_ready(pool: &PgPool, timeout: Duration) -> bool {
    let ping = async {
        for _ in 0..2 {
            if let Ok(1) = sqlx::query_scalar::<_, i32>("SELECT 1")
                .fetch_one(pool)
                .await
            {
                return true;
            }
        }
        false
    };
    matches!(tokio::time::timeout(timeout, ping).await, Ok(true))
}

/// A database of its own, created on the server of another connection string and dropped on
/// request: what every test and benchmark runs in, so they never share state and can run side
/// by side.
#[derive(Debug, Clone)]
pub struct ScratchDatabase {
    /// Its name: the prefix and a random suffix.
    pub name: String,
    /// Its connection string.
    pub url: String,
    server: PgConnectOptions,
}

impl ScratchDatabase {
    /// Creates `<prefix><uuid>` on the server `server_url` points at (connecting to its
    /// `postgres` database to do so). It is empty: migrate it with [`connect_and_migrate`].
    pub async fn create(server_url: &str, prefix: &str) -> Result<Self, DbError> {
        use sqlx::ConnectOptions;
        let server: PgConnectOptions = server_url.parse().map_err(DbError::BadUrl)?;
        let name = format!("{prefix}{}", uuid::Uuid::new_v4().simple());
        on_server(&server, &[format!(r#"CREATE DATABASE "{name}""#)]).await?;
        let url = server.clone().database(&name).to_url_lossy().to_string();
        Ok(Self { name, url, server })
    }

    /// Makes it unreachable, as a lost database is, without dropping it: it refuses new
    /// connections, and the open ones are ended (waited for, up to 5 s each). Unlike
    /// `DROP DATABASE`, which waits for a checkpoint while it holds a transaction id (and so
    /// holds back every gap-safe reader of the whole server, the ids being server-wide), this
    /// commits at once. A shut-out database is dropped like any other.
    pub async fn shut_out(&self) -> Result<(), DbError> {
        on_server(
            &self.server,
            &[
                format!(
                    r#"ALTER DATABASE "{}" WITH ALLOW_CONNECTIONS false"#,
                    self.name
                ),
                format!(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
                     WHERE datname = '{}'",
                    self.name
                ),
            ],
        )
        .await
    }

    /// Drops it, disconnecting whoever is still connected.
    pub async fn drop_now(&self) -> Result<(), DbError> {
        on_server(
            &self.server,
            &[format!(
                r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
                self.name
            )],
        )
        .await
    }
}

/// Runs `statements` in turn on the `postgres` database of `server`. They name scratch
/// databases, whose names are ours (a prefix and a UUID), so they are written in, not bound.
async fn on_server(server: &PgConnectOptions, statements: &[String]) -> Result<(), DbError> {
    use sqlx::{ConnectOptions, Connection};
    let admin_options = server.clone().database("postgres");
    let unreachable = |source| DbError::Unreachable {
        target: describe(&admin_options),
        source,
    };
    let mut admin = admin_options.connect().await.map_err(unreachable)?;
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut admin)
            .await
            .map_err(unreachable)?;
    }
    admin.close().await.map_err(unreachable)
}

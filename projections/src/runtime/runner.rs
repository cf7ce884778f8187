//! Running one projection: leadership, catching up, waking, and riding out failures.

use std::sync::Arc;
use std::time::Duration;

use infrastructure::event_store::wakeup::READER_POLL_INTERVAL;
use infrastructure::event_store::{AppendSignal, GlobalStream, RecordedEvent, StreamWaker};
use infrastructure::privacy::PersonalData;
use sqlx::{PgConnection, PgPool};
use tokio::sync::watch;

use super::{checkpoint, rebuild, schema_of, Projection, ProjectionError, BATCH_SIZE};

/// How long a standby waits before trying to take the lead again.
const STANDBY_RETRY: Duration = Duration::from_secs(2);
/// The longest pause between attempts after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How often the leader checks that its lock connection is still alive while idle.
const LEADER_PING: Duration = Duration::from_secs(5);

/// Why a runner stepped back (it then retries).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The database failed or went away.
    #[error("database unavailable")]
    Database(#[from] sqlx::Error),
    /// The projection refused a batch.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// Rebuilding a projection whose version changed failed.
    #[error(transparent)]
    Rebuild(#[from] rebuild::RebuildError),
}

/// Applies `events` to the tables in `schema` and moves the checkpoint, in the transaction `tx`.
pub(super) async fn apply_batch(
    tx: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    events: &[RecordedEvent],
) -> Result<(), ProjectionError> {
    sqlx::query(&format!(r#"SET LOCAL search_path TO "{schema}", public"#))
        .execute(&mut *tx)
        .await?;
    projection.apply(tx, events).await
}

/// Runs one projection for as long as the process runs.
pub struct Runner {
    pool: PgPool,
    projection: Arc<dyn Projection>,
    signal: AppendSignal,
    /// Tells the outside (tests, lag measurements) how many events were applied so far.
    applied: watch::Sender<u64>,
    /// Opens the calls' personal fields.
    privacy: Option<PersonalData>,
}

impl Runner {
    /// A runner of `projection` over `pool`, woken by this node's `signal`.
    pub fn new(pool: PgPool, projection: Arc<dyn Projection>, signal: AppendSignal) -> Self {
        let (applied, _) = watch::channel(0);
        Self {
            pool,
            projection,
            signal,
            applied,
            privacy: None,
        }
    }

    /// Opens the calls' personal fields before the projection sees them (`[erased]` where the
    /// key is gone); see `infrastructure::privacy`.
    pub fn with_privacy(mut self, privacy: PersonalData) -> Self {
        self.privacy = Some(privacy);
        self
    }

    /// Sees every batch this runner applies (a counter of events).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// Leads (or stands by) and projects, forever; failures are logged and retried with backoff.
    pub async fn run(self) {
        let name = self.projection.name();
        let mut failures: u32 = 0;
        loop {
            match self.lead_and_project().await {
                Ok(()) => failures = 0,
                Err(err) => {
                    failures = failures.saturating_add(1);
                    let pause = (Duration::from_millis(100) * 2u32.saturating_pow(failures.min(8)))
                        .min(MAX_BACKOFF);
                    tracing::warn!(projection = name, error = %error_chain(&err), retry_in = ?pause, "projection stepped back");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    async fn lead_and_project(&self) -> Result<(), RunError> {
        let name = self.projection.name();
        let mut leader = self.take_the_lead().await?;
        tracing::info!(projection = name, "leading");
        match checkpoint::load(&self.pool, name).await? {
            None => {
                checkpoint::create_if_missing(&self.pool, name, self.projection.version()).await?
            }
            Some(found) if found.version != self.projection.version() => {
                tracing::info!(
                    projection = name,
                    from = found.version,
                    to = self.projection.version(),
                    "version changed: rebuilding"
                );
                rebuild::rebuild_opened(
                    &self.pool,
                    self.privacy.as_ref(),
                    self.projection.as_ref(),
                    &|_, _| {},
                )
                .await?;
            }
            Some(_) => {}
        }
        let mut waker = StreamWaker::new(&self.pool, &self.signal, READER_POLL_INTERVAL).await;
        let mut last_ping = tokio::time::Instant::now();
        loop {
            let applied = self.project_one_batch().await?;
            if applied == 0 {
                waker.wait().await;
            }
            if last_ping.elapsed() >= LEADER_PING {
                // Lost the lock's connection (database restart): step back and take the lead again.
                sqlx::query("SELECT 1").execute(&mut leader).await?;
                last_ping = tokio::time::Instant::now();
            }
        }
    }

    /// Waits until this process holds the projection's advisory lock, on a connection kept for
    /// as long as it leads.
    async fn take_the_lead(&self) -> Result<PgConnection, sqlx::Error> {
        let key = format!("callassist.projection.{}", self.projection.name());
        loop {
            let mut connection = self.pool.acquire().await?;
            let locked: bool =
                sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                    .bind(&key)
                    .fetch_one(&mut *connection)
                    .await?;
            if locked {
                // The lock belongs to this session: the connection leaves the pool, so nobody
                // else inherits the lock, and closes (releasing it) when leadership ends.
                return Ok(connection.detach());
            }
            drop(connection);
            tokio::time::sleep(STANDBY_RETRY).await;
        }
    }

    /// Applies the next batch, if any; returns how many events it applied.
    async fn project_one_batch(&self) -> Result<usize, RunError> {
        let name = self.projection.name();
        let Some(from) = checkpoint::load(&self.pool, name).await? else {
            return Ok(0);
        };
        let batch = GlobalStream::new(self.pool.clone())
            .with_privacy(self.privacy.clone())
            .read_after(from.position, BATCH_SIZE)
            .await?;
        let Some(last) = batch.last().map(|event| event.position) else {
            return Ok(0);
        };
        let mut tx = self.pool.begin().await?;
        let locked = checkpoint::lock(&mut tx, name).await?;
        if locked.map(|c| c.position) != Some(from.position) {
            // Someone else moved it (a rebuild swapped tables in): read again from there.
            return Ok(0);
        }
        apply_batch(&mut tx, self.projection.as_ref(), &schema_of(name), &batch).await?;
        checkpoint::advance(
            &mut tx,
            name,
            last,
            i64::try_from(batch.len()).unwrap_or(i64::MAX),
        )
        .await?;
        tx.commit().await?;
        self.applied
            .send_modify(|count| *count += batch.len() as u64);
        Ok(batch.len())
    }
}

/// Runs every projection until the process stops.
pub async fn run_all(pool: PgPool, projections: Vec<Arc<dyn Projection>>, signal: AppendSignal) {
    let mut runners = tokio::task::JoinSet::new();
    for projection in projections {
        runners.spawn(Runner::new(pool.clone(), projection, signal.clone()).run());
    }
    while let Some(ended) = runners.join_next().await {
        if let Err(err) = ended {
            tracing::error!(error = %err, "a projection runner ended unexpectedly");
        }
    }
}

/// An error and its causes on one line, for the log.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

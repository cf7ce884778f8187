//! Waking readers of the global stream, without a `NOTIFY` per insert.
//!
//! PostgreSQL serializes the commits of transactions that notified; measured on this machine
//! kind, a `pg_notify` trigger on `events` cut append throughput to about 40%. So:
//! - the node that appended wakes its own readers in-process right after the commit
//!   ([`AppendSignal`]);
//! - one task per node ([`notify_other_nodes`]) sends at most one `NOTIFY` per short interval,
//!   and only when this node appended, for the readers on other nodes;
//! - one task per node ([`watch_readable_head`]) polls, as the safety net for a lost
//!   notification and for events that become readable only once an older transaction ends:
//!   every [`POLL_INTERVAL`] it reads where the readable stream ends, and wakes the node's
//!   readers when that moved. One cheap query for all of them: with a query of their own every
//!   100 ms, an idle node with its projections ran about 135 transactions a second;
//! - readers ([`StreamWaker`]) still query by themselves every [`READER_POLL_INTERVAL`], the
//!   net under that net (a process without the watch: tools and tests).

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::GlobalStream;

/// The channel other nodes listen on.
pub const CHANNEL: &str = "callassist_events";
/// How often at most a node notifies the others.
pub const NOTIFY_INTERVAL: Duration = Duration::from_millis(10);
/// How often the node looks for newly readable events on behalf of its readers.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often a reader looks for new events by itself when nothing woke it.
pub const READER_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Tells readers in this process that events were committed, or found readable by the node's
/// poll ([`watch_readable_head`]).
#[derive(Debug, Clone)]
pub struct AppendSignal {
    sender: Arc<watch::Sender<u64>>,
    readable: Arc<watch::Sender<u64>>,
}

impl Default for AppendSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl AppendSignal {
    /// A fresh signal, nobody listening yet.
    pub fn new() -> Self {
        let (sender, _) = watch::channel(0);
        let (readable, _) = watch::channel(0);
        Self {
            sender: Arc::new(sender),
            readable: Arc::new(readable),
        }
    }

    /// Called right after events were committed.
    pub fn appended(&self) {
        self.sender
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// A receiver that sees every later `appended` (several coalesce into one wake-up).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }

    /// Called when the node's poll found that the readable stream moved on.
    fn found_readable(&self) {
        self.readable
            .send_modify(|count| *count = count.wrapping_add(1));
    }
}

/// Runs until aborted: every `interval`, reads where the readable stream ends now
/// ([`GlobalStream::head`]); when that moved since the last look, wakes the node's readers
/// ([`Wake::Readable`]). When the database cannot be reached, the readers' own polls go on.
pub async fn watch_readable_head(pool: PgPool, signal: AppendSignal, interval: Duration) {
    let stream = GlobalStream::new(pool);
    let mut seen = None;
    let mut failing = false;
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match stream.head().await {
            Ok(head) => {
                failing = false;
                if head != seen {
                    seen = head;
                    signal.found_readable();
                }
            }
            Err(err) => {
                if !failing {
                    tracing::warn!(error = %err, "cannot look for new events; readers poll on their own");
                }
                failing = true;
            }
        }
    }
}

/// Runs until aborted: after this node appends, sends one `NOTIFY` on [`CHANNEL`], then waits
/// `interval` before it may send the next, so a burst of appends costs one notification.
pub async fn notify_other_nodes(pool: PgPool, signal: AppendSignal, interval: Duration) {
    let mut appended = signal.subscribe();
    while appended.changed().await.is_ok() {
        if let Err(err) = sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&pool)
            .await
        {
            // Other nodes still poll; this only delays them.
            tracing::warn!(error = %err, "could not notify other nodes of new events");
        }
        tokio::time::sleep(interval).await;
    }
}

/// Why a reader woke up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// This process appended events.
    Appended,
    /// Another node appended events.
    Notified,
    /// The node's poll found that the readable stream moved on.
    Readable,
    /// Nothing happened for a poll interval.
    Polled,
}

/// Waits until there may be new events in the global stream.
pub struct StreamWaker {
    local: watch::Receiver<u64>,
    readable: watch::Receiver<u64>,
    _signal: AppendSignal,
    listener: Option<PgListener>,
    poll_interval: Duration,
}

impl StreamWaker {
    /// Listens in-process on `signal` and, through `pool`, for other nodes' notifications.
    /// Without a listening connection it still wakes on local appends and on the poll.
    pub async fn new(pool: &PgPool, signal: &AppendSignal, poll_interval: Duration) -> Self {
        let listener = match PgListener::connect_with(pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => Some(listener),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot LISTEN for other nodes; polling instead");
                    None
                }
            },
            Err(err) => {
                tracing::warn!(error = %err, "cannot LISTEN for other nodes; polling instead");
                None
            }
        };
        Self {
            local: signal.subscribe(),
            readable: signal.readable.subscribe(),
            _signal: signal.clone(),
            listener,
            poll_interval,
        }
    }

    /// Returns at the first of: a local append, another node's notification, the node's poll
    /// finding new events, the reader's own poll interval.
    pub async fn wait(&mut self) -> Wake {
        let poll_interval = self.poll_interval;
        let notified = async {
            match self.listener.as_mut() {
                Some(listener) => match listener.recv().await {
                    Ok(_) => Wake::Notified,
                    Err(err) => {
                        // PgListener reconnects on the next recv; do not spin meanwhile.
                        tracing::warn!(error = %err, "lost the notification connection");
                        tokio::time::sleep(poll_interval).await;
                        Wake::Polled
                    }
                },
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = self.local.changed() => match changed {
                Ok(()) => Wake::Appended,
                Err(_) => std::future::pending().await,
            },
            changed = self.readable.changed() => match changed {
                Ok(()) => Wake::Readable,
                Err(_) => std::future::pending().await,
            },
            wake = notified => wake,
            () = tokio::time::sleep(poll_interval) => Wake::Polled,
        }
    }
}

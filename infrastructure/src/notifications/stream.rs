//! Hearing of happenings without RabbitMQ: one node (the holder of an advisory lock) follows the
//! global stream and queues a job per happening, moving its checkpoint in the same transaction.

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{queue, Clock, NotifyPolicy};
use crate::event_store::wakeup::READER_POLL_INTERVAL;
use crate::event_store::{GlobalStream, Position, Stores, StreamWaker};
use crate::leadership::{self, LEADER_PING, STANDBY_RETRY};

/// Advisory lock key: one reader of the stream across all nodes.
const LOCK_KEY: &str = "callassist.notifications";
const BATCH: i64 = 500;

/// Follows the stream while this node leads, forever; database failures step back and retry.
pub(super) async fn follow(
    pool: &PgPool,
    stores: &Stores,
    policy: NotifyPolicy,
    clock: &Clock,
    queued: &Notify,
) {
    leadership::lead_forever("owner notifier", || {
        lead(pool, stores, policy, clock, queued)
    })
    .await;
}

async fn lead(
    pool: &PgPool,
    stores: &Stores,
    policy: NotifyPolicy,
    clock: &Clock,
    queued: &Notify,
) -> Result<std::convert::Infallible, sqlx::Error> {
    let mut leader =
        leadership::take_the_lead(pool, LOCK_KEY, "owner notifier", STANDBY_RETRY).await?;
    let stream = GlobalStream::new(pool.clone()).with_privacy(stores.privacy.clone());
    let end = stream.end().await?.unwrap_or(Position::START);
    let mut checkpoint = queue::checkpoint(pool, end).await?;
    tracing::info!(
        global_position = checkpoint.global_position,
        "notifying owners from the checkpoint"
    );
    let mut waker = StreamWaker::new(pool, &stores.appended, READER_POLL_INTERVAL).await;
    let mut last_ping = Instant::now();
    loop {
        if last_ping.elapsed() >= LEADER_PING {
            sqlx::query("SELECT 1").execute(&mut leader).await?;
            last_ping = Instant::now();
        }
        let batch = stream.read_after(checkpoint, BATCH).await?;
        if let Some(last) = batch.last().map(|event| event.position) {
            let now = clock();
            let candidates =
                queue::candidates(&batch, |happening, event| policy.due(happening, event, now));
            if queue::queue(pool, &candidates, Some(last)).await? > 0 {
                queued.notify_one();
            }
            checkpoint = last;
        }
        if i64::try_from(batch.len()).unwrap_or(i64::MAX) >= BATCH {
            continue;
        }
        waker.wait().await;
    }
}

//! One worker of a kind across all nodes. The summariser, the webhooks' dispatcher, the
//! notifier's reader of the stream and the retention job each run on every node, but only the
//! holder of a PostgreSQL session advisory lock works; the others stand by and try again. The
//! lock lives on a connection taken out of the pool for as long as the node leads, so it is
//! released the moment that connection closes (the process stopped or died), and the next node
//! goes on from the checkpoint the leader kept in the database.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use sqlx::{PgConnection, PgPool};

/// How often a node standing by tries to take the lead.
pub const STANDBY_RETRY: Duration = Duration::from_secs(2);
/// How often a leader checks that the connection holding its lock is alive.
pub const LEADER_PING: Duration = Duration::from_secs(5);
/// The longest pause after the leader's work failed.
const MAX_STEP_BACK: Duration = Duration::from_secs(10);

/// Waits until this process holds the advisory lock `key`, trying every `retry`; returns the
/// connection that holds it (closing it releases the lock). `role` names the worker in the one
/// log line that says another node has it.
///
/// # Errors
/// The database's, when the pool or the lock query fails.
pub async fn take_the_lead(
    pool: &PgPool,
    key: &str,
    role: &str,
    retry: Duration,
) -> Result<PgConnection, sqlx::Error> {
    let mut announced = false;
    loop {
        let mut connection = pool.acquire().await?;
        let locked: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                .bind(key)
                .fetch_one(&mut *connection)
                .await?;
        if locked {
            return Ok(connection.detach());
        }
        drop(connection);
        if !announced {
            tracing::info!(role, "another node leads; standing by");
            announced = true;
        }
        tokio::time::sleep(retry).await;
    }
}

/// The pause after `failures` failures in a row: 200 ms, doubling, at most 10 s.
pub fn step_back(failures: u32) -> Duration {
    (Duration::from_millis(100) * 2u32.saturating_pow(failures.min(7))).min(MAX_STEP_BACK)
}

/// Runs `lead` (which takes the lead and works until an error ends it) again and again,
/// stepping back a little longer after each failure, forever. `role` names it in the logs.
pub async fn lead_forever<E, F, Fut>(role: &str, mut lead: F)
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Infallible, E>>,
{
    let mut failures: u32 = 0;
    loop {
        let err = match lead().await {
            Ok(never) => match never {},
            Err(err) => err,
        };
        failures = failures.saturating_add(1);
        let pause = step_back(failures);
        tracing::warn!(role, error = %err, retry_in = ?pause, "stepped back from leading");
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_step_back_longer_after_each_failure_up_to_ten_seconds() {
        assert_eq!(step_back(1), Duration::from_millis(200));
        assert_eq!(step_back(2), Duration::from_millis(400));
        assert_eq!(step_back(6), Duration::from_millis(6400));
        assert_eq!(step_back(7), Duration::from_secs(10));
        assert_eq!(step_back(u32::MAX), Duration::from_secs(10));
    }
}

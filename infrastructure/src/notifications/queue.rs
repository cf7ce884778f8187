//! The notifier's two tables (migration `20261125000013_notifications.sql`): its checkpoint in
//! the global stream and the happenings it still has to tell owners about.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Row};

use crate::event_store::{Position, RecordedEvent};
use crate::reader_checkpoint::ReaderCheckpoint;

/// The notifier's row in `notification_checkpoints`.
const CHECKPOINT: ReaderCheckpoint =
    ReaderCheckpoint::new("notification_checkpoints", "notifications", false);
const QUEUE: &str = "\
INSERT INTO notification_jobs (global_position, call_sid, sequence, happening, next_attempt_at) \
SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::timestamptz[]) \
ON CONFLICT (global_position) DO NOTHING";
/// Claims due jobs for `lease`: no other worker sees them until it ends (or they are done).
const CLAIM: &str = "\
UPDATE notification_jobs j SET next_attempt_at = now() + make_interval(secs => $2) \
  FROM (SELECT global_position FROM notification_jobs WHERE next_attempt_at <= now() \
         ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due \
 WHERE j.global_position = due.global_position \
RETURNING j.global_position, j.call_sid, j.sequence, j.happening, j.attempts, \
          GREATEST(EXTRACT(EPOCH FROM now() - j.queued_at), 0)::float8 AS age_secs";
const LATER: &str = "\
UPDATE notification_jobs SET attempts = $2, next_attempt_at = $3, last_error = $4 \
 WHERE global_position = $1";
const FINISH: &str = "DELETE FROM notification_jobs WHERE global_position = $1";

/// What happened on the call that may notify its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happening {
    /// The agent took a message.
    MessageTaken,
    /// The caller left a voicemail.
    VoicemailRecorded,
    /// The call ended; it notifies if nobody took it (a missed call).
    CallEnded,
}

impl Happening {
    /// The happening an event of `event_type` on a call is, if any.
    pub fn of_event(event_type: &str) -> Option<Self> {
        match event_type {
            "MessageTaken" => Some(Self::MessageTaken),
            "VoicemailRecorded" => Some(Self::VoicemailRecorded),
            "CallEnded" => Some(Self::CallEnded),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::MessageTaken => "message_taken",
            Self::VoicemailRecorded => "voicemail_recorded",
            Self::CallEnded => "call_ended",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "message_taken" => Some(Self::MessageTaken),
            "voicemail_recorded" => Some(Self::VoicemailRecorded),
            "call_ended" => Some(Self::CallEnded),
            _ => None,
        }
    }
}

/// A happening to queue: from the stream or from a RabbitMQ message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Candidate {
    pub(super) global_position: i64,
    pub(super) call_sid: String,
    pub(super) sequence: i64,
    pub(super) happening: Happening,
    /// When it becomes due (a call's end waits a little for a late voicemail).
    pub(super) due: DateTime<Utc>,
}

/// A happening waiting to be told.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Job {
    /// The global position of its event: the notifications' ids derive from it.
    pub(super) global_position: i64,
    pub(super) call_sid: String,
    /// The event's number within the call.
    pub(super) sequence: i64,
    pub(super) happening: Happening,
    /// Failed tries so far.
    pub(super) attempts: u32,
    /// Since it was queued, by the database's clock.
    pub(super) age: Duration,
}

/// The checkpoint. The first time the notifier runs on a database it starts at `end` (the
/// stream's end now), so turning notifications on never texts owners about earlier calls.
pub(super) async fn checkpoint(pool: &PgPool, end: Position) -> Result<Position, sqlx::Error> {
    CHECKPOINT.load_or_start(pool, end).await
}

/// The happenings among `batch`'s events.
pub(super) fn candidates(
    batch: &[RecordedEvent],
    due: impl Fn(Happening, &RecordedEvent) -> Option<DateTime<Utc>>,
) -> Vec<Candidate> {
    batch
        .iter()
        .filter(|event| event.aggregate_type == "Call")
        .filter_map(|event| {
            let happening = Happening::of_event(&event.event_type)?;
            Some(Candidate {
                global_position: event.position.global_position,
                call_sid: event.aggregate_id.clone(),
                sequence: event.sequence,
                happening,
                due: due(happening, event)?,
            })
        })
        .collect()
}

/// Queues `candidates` (each once, whoever queues it again) and, when reading the stream,
/// moves the checkpoint to `to` in the same transaction. Returns how many were new.
pub(super) async fn queue(
    pool: &PgPool,
    candidates: &[Candidate],
    to: Option<Position>,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let queued = if candidates.is_empty() {
        0
    } else {
        sqlx::query(QUEUE)
            .bind(
                candidates
                    .iter()
                    .map(|c| c.global_position)
                    .collect::<Vec<_>>(),
            )
            .bind(
                candidates
                    .iter()
                    .map(|c| c.call_sid.clone())
                    .collect::<Vec<_>>(),
            )
            .bind(candidates.iter().map(|c| c.sequence).collect::<Vec<_>>())
            .bind(
                candidates
                    .iter()
                    .map(|c| c.happening.as_str().to_owned())
                    .collect::<Vec<_>>(),
            )
            .bind(candidates.iter().map(|c| c.due).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?
            .rows_affected()
    };
    if let Some(to) = to {
        CHECKPOINT.advance(&mut tx, to, queued).await?;
    }
    tx.commit().await?;
    Ok(queued)
}

/// Claims up to `limit` due jobs for `lease`.
pub(super) async fn claim(
    pool: &PgPool,
    limit: usize,
    lease: Duration,
) -> Result<Vec<Job>, sqlx::Error> {
    let rows = sqlx::query(CLAIM)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(lease.as_secs_f64())
        .fetch_all(pool)
        .await?;
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        let happening: String = row.try_get("happening")?;
        let global_position: i64 = row.try_get("global_position")?;
        let Some(happening) = Happening::parse(&happening) else {
            tracing::error!(
                global_position,
                happening,
                "unknown notification job; dropped"
            );
            finish(pool, global_position).await?;
            continue;
        };
        let attempts: i32 = row.try_get("attempts")?;
        let age: f64 = row.try_get("age_secs")?;
        jobs.push(Job {
            global_position,
            call_sid: row.try_get("call_sid")?,
            sequence: row.try_get("sequence")?,
            happening,
            attempts: u32::try_from(attempts).unwrap_or_default(),
            age: Duration::try_from_secs_f64(age).unwrap_or_default(),
        });
    }
    Ok(jobs)
}

/// Puts the job off until `at`, with `attempts` failed tries so far and why it waits.
pub(super) async fn later(
    pool: &PgPool,
    global_position: i64,
    attempts: u32,
    at: DateTime<Utc>,
    why: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(LATER)
        .bind(global_position)
        .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
        .bind(at)
        .bind(why)
        .execute(pool)
        .await?;
    Ok(())
}

/// Every channel of the job has its outcome: done.
pub(super) async fn finish(pool: &PgPool, global_position: i64) -> Result<(), sqlx::Error> {
    sqlx::query(FINISH)
        .bind(global_position)
        .execute(pool)
        .await?;
    Ok(())
}

/// How many happenings wait to be told.
pub async fn pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM notification_jobs")
        .fetch_one(pool)
        .await
}

//! The summariser's two tables (migration `20261125000011_summaries.sql`): its checkpoint in
//! the global stream and the jobs it has queued, one per call.

use std::time::Duration;

use sqlx::{PgPool, Row};

use crate::event_store::{Position, RecordedEvent};
use crate::reader_checkpoint::ReaderCheckpoint;

/// The summariser's row in `summary_checkpoints`.
const CHECKPOINT: ReaderCheckpoint =
    ReaderCheckpoint::new("summary_checkpoints", "summaries", true);

/// Queues the calls among the candidates that ended after a conversation with the agent or with
/// a transcribed voicemail, and have no outcome yet. A call queued already keeps its job; if that job has only been waiting
/// for the agent's session to end (no failed attempt), it becomes due now.
const QUEUE: &str = "\
INSERT INTO summary_jobs (call_sid, global_position) \
SELECT c.call_sid, c.global_position \
  FROM UNNEST($1::text[], $2::bigint[]) AS c(call_sid, global_position) \
 WHERE EXISTS (SELECT 1 FROM events e WHERE e.aggregate_type = 'Call' AND e.aggregate_id = c.call_sid \
                  AND e.event_type = 'CallEnded') \
   AND EXISTS (SELECT 1 FROM events e WHERE e.aggregate_type = 'Call' AND e.aggregate_id = c.call_sid \
                  AND e.event_type IN ('TranscriptSegmentRecorded', 'VoicemailTranscribed')) \
   AND NOT EXISTS (SELECT 1 FROM events e WHERE e.aggregate_type = 'Call' AND e.aggregate_id = c.call_sid \
                  AND e.event_type IN ('CallSummarized', 'CallSummaryFailed')) \
ON CONFLICT (call_sid) DO UPDATE SET next_attempt_at = now() \
 WHERE summary_jobs.attempts = 0 AND summary_jobs.next_attempt_at > now()";

// Never moves backwards, even if a node that lost its lock (and does not know it yet) saves an
// older position than the new leader.
const DUE: &str = "\
SELECT call_sid, global_position, attempts, \
       GREATEST(EXTRACT(EPOCH FROM now() - queued_at), 0)::float8 AS age_secs \
  FROM summary_jobs \
 WHERE next_attempt_at <= now() AND call_sid <> ALL($1) \
 ORDER BY next_attempt_at \
 LIMIT $2";

const LATER: &str = "\
UPDATE summary_jobs \
   SET attempts = $2, next_attempt_at = now() + make_interval(secs => $3), \
       last_error = COALESCE($4, last_error) \
 WHERE call_sid = $1";

const FINISH: &str = "DELETE FROM summary_jobs WHERE call_sid = $1";

/// A call waiting for its summary.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Job {
    /// The call.
    pub(super) call_sid: String,
    /// The global position of the event that queued it (the outcome's causation).
    pub(super) global_position: i64,
    /// Failed tries so far.
    pub(super) attempts: u32,
    /// Since it was queued, by the database's clock.
    pub(super) age: Duration,
}

/// The checkpoint, created at the start of the stream if the summariser never ran here.
pub(super) async fn checkpoint(pool: &PgPool) -> Result<Position, sqlx::Error> {
    CHECKPOINT.load_or_start(pool, Position::START).await
}

/// The checkpoint, if the summariser ever ran on this database.
pub(super) async fn position(pool: &PgPool) -> Result<Option<Position>, sqlx::Error> {
    CHECKPOINT.position(pool).await
}

/// The events of `batch` that may complete a call worth summarising — its end, the end of its
/// AI session, or its voicemail's transcription (which Twilio usually posts after the call
/// ended) — as `(call sid, global position)`, one per call.
pub(super) fn candidates(batch: &[RecordedEvent]) -> (Vec<String>, Vec<i64>) {
    let mut sids: Vec<String> = Vec::new();
    let mut positions = Vec::new();
    for event in batch {
        let completes = matches!(
            event.event_type.as_str(),
            "CallEnded" | "AiSessionEnded" | "VoicemailTranscribed"
        );
        if event.aggregate_type == "Call" && completes && !sids.contains(&event.aggregate_id) {
            sids.push(event.aggregate_id.clone());
            positions.push(event.position.global_position);
        }
    }
    (sids, positions)
}

/// Queues the calls of `batch` that want a summary and moves the checkpoint to `to`, in one
/// transaction. Returns how many jobs were queued (or made due).
pub(super) async fn queue(
    pool: &PgPool,
    batch: &[RecordedEvent],
    to: Position,
) -> Result<u64, sqlx::Error> {
    let (sids, positions) = candidates(batch);
    let mut tx = pool.begin().await?;
    let queued = if sids.is_empty() {
        0
    } else {
        sqlx::query(QUEUE)
            .bind(&sids)
            .bind(&positions)
            .execute(&mut *tx)
            .await?
            .rows_affected()
    };
    CHECKPOINT.advance(&mut tx, to, queued).await?;
    tx.commit().await?;
    Ok(queued)
}

/// Up to `limit` jobs that are due, leaving out those in `busy`.
pub(super) async fn due(
    pool: &PgPool,
    busy: &[String],
    limit: usize,
) -> Result<Vec<Job>, sqlx::Error> {
    let rows = sqlx::query(DUE)
        .bind(busy)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let attempts: i32 = row.try_get("attempts")?;
            let age: f64 = row.try_get("age_secs")?;
            Ok(Job {
                call_sid: row.try_get("call_sid")?,
                global_position: row.try_get("global_position")?,
                attempts: u32::try_from(attempts).unwrap_or_default(),
                age: Duration::try_from_secs_f64(age).unwrap_or_default(),
            })
        })
        .collect()
}

/// Puts the job off by `after`; with `attempts` failed tries so far and, when this try failed,
/// why.
pub(super) async fn later(
    pool: &PgPool,
    call_sid: &str,
    attempts: u32,
    after: Duration,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(LATER)
        .bind(call_sid)
        .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
        .bind(after.as_secs_f64())
        .bind(error)
        .execute(pool)
        .await?;
    Ok(())
}

/// The call's outcome is recorded: the job is done.
pub(super) async fn finish(pool: &PgPool, call_sid: &str) -> Result<(), sqlx::Error> {
    sqlx::query(FINISH).bind(call_sid).execute(pool).await?;
    Ok(())
}

/// How many calls wait for their summary.
pub(super) async fn pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM summary_jobs")
        .fetch_one(pool)
        .await
}

//! The per-call recorder: the bridge's facts go to the event store from here, in order, so the
//! audio path never waits on the database.
//!
//! The bridge queues commands on a channel without waiting; this task appends whatever queued
//! up meanwhile as one `Batch` command (one round trip for a burst of transcript segments). A
//! batch the call refuses is retried one command at a time, so one stale fact (a session start
//! the call already has) does not lose the others. While the store is unavailable (a database
//! restart, a failover) the recorder holds the call's facts — the batch it is writing and all
//! that queue up behind it — and keeps trying, pausing up to [`MAX_PAUSE`] between tries, until
//! the store is back; the call goes on meanwhile. The task ends once every sender is gone and
//! the queue is written. Facts held in memory are lost only if the process itself stops before
//! the store comes back.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::call::{CallCommand, CallError};
use domain::values::CallSid;
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{StoreError, Stores};
use tokio::sync::mpsc;

/// Most commands appended in one batch.
const MAX_BATCH: usize = 64;
/// Pause after the first failed try; doubles with each further one up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// Longest pause between two tries while the store is unavailable.
pub const MAX_PAUSE: Duration = Duration::from_secs(5);
/// While the store stays unavailable, an error is logged every this many tries (once a minute
/// at [`MAX_PAUSE`]).
const LOG_EVERY: u32 = 12;

/// One fact for the call, with why it is recorded when that is worth keeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The command.
    pub command: CallCommand,
    /// Kept in the events' metadata as `reason` (e.g. why the agent failed); such an entry is
    /// appended on its own so its reason stays with it.
    pub reason: Option<String>,
}

impl From<CallCommand> for Entry {
    fn from(command: CallCommand) -> Self {
        Self {
            command,
            reason: None,
        }
    }
}

/// Where the bridge queues its facts; cheap to clone, never waits.
#[derive(Debug, Clone)]
pub struct Journal(mpsc::UnboundedSender<Entry>);

impl Journal {
    /// A journal and the receiving end the recorder reads.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<Entry>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Self(sender), receiver)
    }

    /// Queues `entry`. After the recorder stopped (it never does before the bridge drops its
    /// journal) the fact is logged instead.
    pub fn record(&self, entry: impl Into<Entry>) {
        if let Err(lost) = self.0.send(entry.into()) {
            tracing::error!(
                command = kind(&lost.0.command),
                "the call's recorder has stopped; fact not recorded"
            );
        }
    }
}

/// Why an append failed.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The call refused the command.
    #[error(transparent)]
    Rejected(CallError),
    /// The store failed; trying again may work.
    #[error("{0}")]
    Unavailable(String),
}

/// Appends commands to one call.
pub trait CallStore: Send + Sync + 'static {
    /// Runs `command` on the call with `metadata`.
    fn append(
        &self,
        command: CallCommand,
        metadata: CommandMetadata,
    ) -> impl Future<Output = Result<(), AppendError>> + Send;
}

/// The event store as a [`CallStore`] for one call.
pub struct StoredCall {
    /// The write side.
    pub stores: Arc<Stores>,
    /// The call.
    pub call_sid: CallSid,
}

impl CallStore for StoredCall {
    async fn append(
        &self,
        command: CallCommand,
        metadata: CommandMetadata,
    ) -> Result<(), AppendError> {
        match self
            .stores
            .calls
            .execute(self.call_sid.as_ref(), command, &metadata)
            .await
        {
            Ok(_) => Ok(()),
            Err(StoreError::Rejected(refusal)) => Err(AppendError::Rejected(refusal)),
            Err(other) => Err(AppendError::Unavailable(other.to_string())),
        }
    }
}

/// Writes what the bridge of call `call_sid` (stream `stream_sid`) queues, until the queue is
/// closed and empty.
pub async fn run<S: CallStore>(
    store: S,
    call_sid: CallSid,
    stream_sid: String,
    mut queue: mpsc::UnboundedReceiver<Entry>,
) {
    let metadata = |reason: Option<&str>| {
        let mut metadata = CommandMetadata::new(
            call_sid.as_ref(),
            "voice-bridge:media-stream",
            Actor::VoiceBridge,
            Utc::now(),
        )
        .with("stream_sid", stream_sid.as_str());
        if let Some(reason) = reason {
            metadata = metadata.with("reason", reason);
        }
        metadata
    };
    let mut held: Option<Entry> = None;
    loop {
        let first = match held.take() {
            Some(entry) => entry,
            None => match queue.recv().await {
                Some(entry) => entry,
                None => break,
            },
        };
        if first.reason.is_some() {
            write_one(
                &store,
                first.command,
                metadata(first.reason.as_deref()),
                &queue,
            )
            .await;
            continue;
        }
        let mut batch = vec![first.command];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) if next.reason.is_none() => batch.push(next.command),
                Ok(next) => {
                    held = Some(next);
                    break;
                }
                Err(_) => break,
            }
        }
        if batch.len() == 1 {
            for command in batch {
                write_one(&store, command, metadata(None), &queue).await;
            }
            continue;
        }
        if let Err(refusal) = until_stored(
            &store,
            CallCommand::Batch(batch.clone()),
            metadata(None),
            &queue,
        )
        .await
        {
            tracing::debug!(%refusal, "batch refused; recording its commands one by one");
            for command in batch {
                write_one(&store, command, metadata(None), &queue).await;
            }
        }
    }
}

async fn write_one<S: CallStore>(
    store: &S,
    command: CallCommand,
    metadata: CommandMetadata,
    queue: &mpsc::UnboundedReceiver<Entry>,
) {
    let what = kind(&command);
    if let Err(refusal) = until_stored(store, command, metadata, queue).await {
        tracing::warn!(%refusal, command = what, "the call refused a fact of the voice bridge");
    }
}

/// The command's name, for logs: its fields may hold what the caller said.
fn kind(command: &CallCommand) -> &'static str {
    match command {
        CallCommand::StartAiSession { .. } => "StartAiSession",
        CallCommand::RecordTranscriptSegment { .. } => "RecordTranscriptSegment",
        CallCommand::TakeMessage { .. } => "TakeMessage",
        CallCommand::EndAiSession { .. } => "EndAiSession",
        CallCommand::RouteToVoicemail { .. } => "RouteToVoicemail",
        CallCommand::TransferToOwner { .. } => "TransferToOwner",
        CallCommand::Batch(_) => "Batch",
        _ => "other",
    }
}

/// Appends `command`, trying again for as long as the store is unavailable; returns the
/// call's refusal if it refuses it. `queue` is only read for how many facts wait behind it.
async fn until_stored<S: CallStore>(
    store: &S,
    command: CallCommand,
    metadata: CommandMetadata,
    queue: &mpsc::UnboundedReceiver<Entry>,
) -> Result<(), CallError> {
    let mut pause = FIRST_PAUSE;
    let mut attempt: u32 = 1;
    loop {
        match store.append(command.clone(), metadata.clone()).await {
            Ok(()) => {
                if attempt > 1 {
                    tracing::info!(
                        attempt,
                        "the event store is back; the held facts are recorded"
                    );
                }
                return Ok(());
            }
            Err(AppendError::Rejected(refusal)) => return Err(refusal),
            Err(AppendError::Unavailable(why)) => {
                let waiting = queue.len();
                if attempt == 1 {
                    tracing::warn!(error = %why, waiting, "the event store failed; holding the call's facts and trying again");
                } else if attempt.is_multiple_of(LOG_EVERY) {
                    tracing::error!(error = %why, attempt, waiting, "the event store is still unavailable; still holding the call's facts");
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
                attempt = attempt.saturating_add(1);
            }
        }
    }
}

#[cfg(test)]
mod tests;

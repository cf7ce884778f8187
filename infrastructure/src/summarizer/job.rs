//! Working one job: read the call, open the business' key, ask OpenAI, record the outcome — or
//! decide to try again later.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::call::{CallCommand, CallError};
use domain::{Actor, CommandMetadata};
use secrecy::SecretString;
use sqlx::PgPool;

use super::queue::{self, Job};
use super::transcript::{self, CallFacts};
use super::RetryPolicy;
use crate::event_store::{StoreError, Stores};
use crate::openai::summary::SummaryClient;
use crate::vault::{self, Vault};

/// The reason recorded when the business has no OpenAI key.
pub const NO_KEY: &str = "no OpenAI key";
/// How often a job looks again whether the agent's session has ended.
const SESSION_POLL: Duration = Duration::from_secs(2);
/// The pause before a job whose work failed on our side (the database) is tried again.
const STEP_BACK: Duration = Duration::from_secs(5);
/// The domain's limit on a summary's length, in characters.
const SUMMARY_MAX: usize = 10_000;
/// The domain's limit on a failure's reason, in characters.
const REASON_MAX: usize = 1_000;

/// What the summariser works with; shared by every job it runs.
pub(super) struct Worker {
    pub(super) pool: PgPool,
    pub(super) stores: Arc<Stores>,
    pub(super) vault: Arc<Vault>,
    pub(super) client: SummaryClient,
    pub(super) policy: RetryPolicy,
}

/// What came of working a job.
#[derive(Debug, PartialEq)]
enum Step {
    /// The outcome is recorded, or there is nothing to do: the job goes.
    Finished,
    /// Try again after `after`; `failed` (why) when this try counts as a failed attempt.
    Later {
        after: Duration,
        failed: Option<String>,
    },
}

/// Our side failed (the event store): the job is tried again shortly, uncounted.
#[derive(Debug, thiserror::Error)]
enum WorkError {
    #[error(transparent)]
    Read(#[from] transcript::ReadError),
    #[error("the event store failed: {0}")]
    Store(String),
}

impl Worker {
    /// Works `job` and saves what came of it; a failure to save leaves the job due, so it is
    /// picked up again.
    pub(super) async fn run(self: Arc<Self>, job: Job) {
        let saved = match self.work(&job).await {
            Ok(Step::Finished) => queue::finish(&self.pool, &job.call_sid).await,
            Ok(Step::Later { after, failed }) => {
                let attempts = job.attempts + u32::from(failed.is_some());
                queue::later(
                    &self.pool,
                    &job.call_sid,
                    attempts,
                    after,
                    failed.as_deref(),
                )
                .await
            }
            Err(err) => {
                tracing::warn!(call_sid = %job.call_sid, error = %error_chain(&err), "summary work failed; trying again soon");
                queue::later(&self.pool, &job.call_sid, job.attempts, STEP_BACK, None).await
            }
        };
        if let Err(err) = saved {
            tracing::warn!(call_sid = %job.call_sid, error = %err, "could not save a summary job's progress");
        }
    }

    #[tracing::instrument(name = "summary", skip_all, fields(call_sid = %job.call_sid, attempts = job.attempts))]
    async fn work(&self, job: &Job) -> Result<Step, WorkError> {
        let facts =
            transcript::read(&self.pool, self.stores.privacy.as_ref(), &job.call_sid).await?;
        if !facts.wants_summary() {
            return Ok(Step::Finished);
        }
        if facts.session_open() && job.age < self.policy.session_grace {
            return Ok(Step::Later {
                after: SESSION_POLL,
                failed: None,
            });
        }
        let (key, business_name) = match self.key_for(&facts).await? {
            Ok(found) => found,
            Err(reason) => return self.record_failure(job, reason).await,
        };
        let input = facts.render(&business_name);
        match self.client.summarize(&key, &input).await {
            Ok(summary) => {
                let summary: String = summary.chars().take(SUMMARY_MAX).collect();
                self.record(job, CallCommand::RecordSummary { summary })
                    .await
            }
            Err(err) if err.is_permanent() => self.record_failure(job, err.to_string()).await,
            Err(err) => {
                let attempts = job.attempts + 1;
                if self.policy.gives_up(attempts, job.age) {
                    let reason = format!(
                        "gave up after {attempts} attempts over {} minutes: {err}",
                        job.age.as_secs() / 60
                    );
                    return self.record_failure(job, reason).await;
                }
                let after = self.policy.delay(attempts);
                tracing::info!(error = %err, retry_in = ?after, "OpenAI could not summarise the call; trying again later");
                Ok(Step::Later {
                    after,
                    failed: Some(err.to_string()),
                })
            }
        }
    }

    /// The business' OpenAI key (opened) and its name, or why there is none to use.
    async fn key_for(
        &self,
        facts: &CallFacts,
    ) -> Result<Result<(SecretString, String), String>, WorkError> {
        let Some(business_id) = facts.call.received.as_ref().and_then(|r| r.business_id) else {
            return Ok(Err(NO_KEY.to_owned()));
        };
        let business = self
            .stores
            .businesses
            .load(&business_id.to_string())
            .await
            .map_err(|err| WorkError::Store(error_chain(&err)))?
            .aggregate;
        let Some(agent) = business.agent else {
            return Ok(Err(NO_KEY.to_owned()));
        };
        if vault::is_placeholder(&agent.api_key) {
            // The demo business: its calls went to the built-in demo agent, not to OpenAI.
            return Ok(Err(NO_KEY.to_owned()));
        }
        Ok(match self.vault.open(business_id, &agent.api_key) {
            Ok(key) => Ok((key, business.name)),
            Err(err) => Err(format!("the business' OpenAI key cannot be opened: {err}")),
        })
    }

    async fn record_failure(&self, job: &Job, reason: String) -> Result<Step, WorkError> {
        if reason == NO_KEY {
            // As configured: nothing failed.
            tracing::info!(%reason, "no summary for this call");
        } else {
            tracing::warn!(%reason, "no summary for this call");
        }
        let reason: String = reason.chars().take(REASON_MAX).collect();
        self.record(job, CallCommand::RecordSummaryFailure { reason })
            .await
    }

    /// Records the outcome on the call (actor `system`, causation `summary:<position>`).
    async fn record(&self, job: &Job, command: CallCommand) -> Result<Step, WorkError> {
        let metadata = CommandMetadata::new(
            job.call_sid.clone(),
            format!("summary:{}", job.global_position),
            Actor::System,
            Utc::now(),
        );
        match self
            .stores
            .calls
            .execute(&job.call_sid, command, &metadata)
            .await
        {
            Ok(_) => Ok(Step::Finished),
            // Another summariser (an old leader) got there first, or the call cannot take an
            // outcome at all: either way nothing is left to do.
            Err(StoreError::Rejected(rejection)) => {
                if rejection != CallError::AlreadySummarized {
                    tracing::warn!(%rejection, "the call refused the summary's outcome");
                }
                Ok(Step::Finished)
            }
            Err(err) => Err(WorkError::Store(error_chain(&err))),
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

//! One try of one delivery: open the endpoint's secret, sign, POST, and record what came of it
//! (delivered, tried again later, or given up) in the delivery log.

use std::sync::Arc;
use std::time::Duration;

use domain::business::SealedSecret;
use sqlx::PgPool;
use tokio::time::Instant;

use super::queue::{self, Due, Next, Tried};
use super::target::{self, PublicOnly};
use super::{endpoints, signing, RetryPolicy};
use crate::vault::Vault;

/// How long a receiver may take to answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause before a delivery that could not be tried because our side failed.
const STEP_BACK: Duration = Duration::from_secs(5);
/// The longest error text kept in the log.
const ERROR_MAX: usize = 500;

/// What every try shares.
pub(super) struct Sender {
    pub(super) pool: PgPool,
    pub(super) vault: Arc<Vault>,
    pub(super) http: reqwest::Client,
    pub(super) policy: RetryPolicy,
    pub(super) allow_http_loopback: bool,
}

/// The HTTP client deliveries go out with: no redirects, a timeout, only public addresses
/// (see [`target`]).
pub(super) fn client(
    timeout: Duration,
    allow_http_loopback: bool,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PublicOnly {
            allow_loopback: allow_http_loopback,
        }))
        .user_agent(concat!("callassist-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

impl Sender {
    /// Tries `due` once and records the outcome; a failure to record leaves it due.
    #[tracing::instrument(name = "webhook_delivery", skip_all, fields(delivery_id = %due.id, endpoint_id = %due.endpoint_id, webhook_id = %due.webhook_id, attempts = due.attempts))]
    pub(super) async fn run(self: Arc<Self>, due: Due) {
        let sealed = SealedSecret {
            key_id: due.secret_key_id.clone(),
            ciphertext: due.secret_ciphertext.clone(),
            last_four: String::new(),
        };
        let secret = match self
            .vault
            .open_for(&endpoints::secret_context(due.endpoint_id), &sealed)
        {
            Ok(secret) => secret,
            Err(err) => {
                // Not the receiver's fault, and it will not heal by itself soon: log it as a
                // failed try so it shows in the delivery log, and let the policy run its course.
                let tried = Tried {
                    status_code: None,
                    error: Some(format!("the endpoint's secret cannot be opened: {err}")),
                    took: Duration::ZERO,
                };
                self.save(&due, &tried).await;
                return;
            }
        };
        let body = due.payload.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let signature = match signing::sign(&secret, &due.webhook_id, timestamp, &body) {
            Ok(signature) => signature,
            Err(err) => {
                let tried = Tried {
                    status_code: None,
                    error: Some(err.to_string()),
                    took: Duration::ZERO,
                };
                self.save(&due, &tried).await;
                return;
            }
        };
        let started = Instant::now();
        let outcome = match target::check_url(&due.url, self.allow_http_loopback) {
            Err(err) => Err(format!("not sent: {err}")),
            Ok(url) => self
                .http
                .post(url)
                .header("content-type", "application/json")
                .header("webhook-id", &due.webhook_id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body)
                .send()
                .await
                .map_err(|err| describe(&err)),
        };
        let took = started.elapsed();
        let tried = match outcome {
            Ok(response) if response.status().is_success() => Tried {
                status_code: Some(response.status().as_u16()),
                error: None,
                took,
            },
            Ok(response) => {
                let status = response.status();
                Tried {
                    status_code: Some(status.as_u16()),
                    error: Some(format!("the endpoint answered {status}")),
                    took,
                }
            }
            Err(error) => Tried {
                status_code: None,
                error: Some(error),
                took,
            },
        };
        self.save(&due, &tried).await;
    }

    async fn save(&self, due: &Due, tried: &Tried) {
        let next = if tried.error.is_none() {
            Next::Delivered
        } else {
            match self.policy.delay(due.attempts.saturating_add(1)) {
                Some(after) => Next::RetryAfter(after),
                None => Next::Failed,
            }
        };
        let tried = Tried {
            error: tried
                .error
                .as_ref()
                .map(|error| error.chars().take(ERROR_MAX).collect()),
            ..tried.clone()
        };
        match next {
            Next::Delivered => tracing::info!(status = ?tried.status_code, "webhook delivered"),
            Next::RetryAfter(after) => {
                tracing::info!(error = ?tried.error, retry_in = ?after, "webhook not delivered; trying again later");
            }
            Next::Failed => {
                tracing::warn!(error = ?tried.error, "webhook not delivered; given up");
            }
        }
        if let Err(err) = queue::record(&self.pool, due, &tried, next).await {
            tracing::warn!(error = %err, "could not record a webhook try");
            if let Err(err) = queue::put_off(&self.pool, due.id, STEP_BACK).await {
                tracing::warn!(error = %err, "could not put a webhook delivery off");
            }
        }
    }
}

/// A failed request on one line: timeout, no connection, or the cause chain.
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "the endpoint did not answer in time".to_owned();
    }
    let mut text = if err.is_connect() {
        "cannot connect to the endpoint".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

//! The node's background work beside (or without) the HTTP server: the notifier that wakes other
//! nodes' readers, the watch that wakes this node's readers when events became readable, the projectors, the RabbitMQ relay when `AMQP_URL` is set, and the post-call
//! summariser when the server runs. Each runs as its own task; if one ever stops, the node
//! reports which one and stops too, rather than serving stale data silently.

use std::sync::Arc;

use infrastructure::event_store::wakeup::{self, AppendSignal};
use infrastructure::privacy::PersonalData;
use infrastructure::relay::Relay;
use infrastructure::summarizer::Summarizer;
use projections::runtime::Projection;
use secrecy::SecretString;
use sqlx::PgPool;
use tokio::task::JoinSet;

/// Which background roles this process plays.
#[derive(Debug, Clone)]
pub struct Roles {
    /// Run the projections (one instance per projection across all nodes; others stand by).
    pub projectors: bool,
    /// Relay every event to RabbitMQ at this broker (one instance across all nodes).
    pub relay: Option<SecretString>,
}

/// Running background tasks.
pub struct Workers {
    tasks: JoinSet<&'static str>,
}

impl Workers {
    /// Starts the notifier, the watch of the readable stream that wakes this node's readers,
    /// and, when asked, one runner per projection; both they and the
    /// relay open the calls' personal data with `privacy`.
    pub fn spawn(
        pool: &PgPool,
        appended: &AppendSignal,
        roles: Roles,
        projections: Vec<Arc<dyn Projection>>,
        privacy: &PersonalData,
    ) -> Self {
        let mut tasks = JoinSet::new();
        let (notify_pool, notify_signal) = (pool.clone(), appended.clone());
        tasks.spawn(async move {
            wakeup::notify_other_nodes(notify_pool, notify_signal, wakeup::NOTIFY_INTERVAL).await;
            "event notifier"
        });
        let (watch_pool, watch_signal) = (pool.clone(), appended.clone());
        tasks.spawn(async move {
            wakeup::watch_readable_head(watch_pool, watch_signal, wakeup::POLL_INTERVAL).await;
            "event stream watch"
        });
        if let Some(amqp_url) = roles.relay {
            let relay =
                Relay::new(pool.clone(), amqp_url, appended.clone()).with_privacy(privacy.clone());
            tasks.spawn(async move {
                if let Err(err) = relay.run().await {
                    tracing::error!(error = %err, "the RabbitMQ relay cannot run");
                }
                "RabbitMQ relay"
            });
        }
        if roles.projectors {
            for projection in projections {
                let runner = projections::runtime::Runner::new(
                    pool.clone(),
                    projection.clone(),
                    appended.clone(),
                )
                .with_privacy(privacy.clone());
                let name = projection.name();
                tasks.spawn(async move {
                    runner.run().await;
                    name
                });
            }
        }
        Self { tasks }
    }

    /// Starts the post-call summariser (one instance across all nodes; the others stand by).
    pub fn spawn_summarizer(&mut self, summarizer: Summarizer) {
        self.tasks.spawn(async move {
            summarizer.run().await;
            "call summarizer"
        });
    }

    /// Starts the outbound webhooks' dispatcher (one instance across all nodes; the others
    /// stand by).
    pub fn spawn_webhooks(&mut self, dispatcher: infrastructure::webhooks::Dispatcher) {
        self.tasks.spawn(async move {
            dispatcher.run().await;
            "webhook dispatcher"
        });
    }

    /// Starts the owner notifier (on every node: each sends due notifications).
    pub fn spawn_notifier(&mut self, notifier: infrastructure::notifications::Notifier) {
        self.tasks.spawn(async move {
            notifier.run().await;
            "owner notifier"
        });
    }

    /// Starts the daily retention job (one instance across all nodes; the others stand by).
    pub fn spawn_retention(&mut self, job: crate::privacy_cmd::retention::RetentionJob) {
        self.tasks.spawn(async move {
            job.run().await;
            "retention job"
        });
    }

    /// Resolves when a task stops (they are meant to run forever), naming it.
    pub async fn next_exit(&mut self) -> String {
        match self.tasks.join_next().await {
            Some(Ok(name)) => name.to_owned(),
            Some(Err(err)) => format!("a background task ({err})"),
            None => std::future::pending().await,
        }
    }

    /// Stops every task.
    pub fn abort_all(&mut self) {
        self.tasks.abort_all();
    }
}

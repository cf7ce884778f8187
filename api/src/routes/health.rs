//! Liveness and readiness, for load balancers and orchestrators.
//!
//! `live` says the process answers; `ready` says it can do its work now, dependency by
//! dependency: the database (503 when it is down, so a load balancer stops sending the node
//! calls), RabbitMQ when `AMQP_URL` is set, and how far each projection is behind the event
//! store. A broker outage (`degraded`) and lagging read models (`lagging`) are reported but
//! keep the node in rotation: calls are still routed, and nothing is lost.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use actix_web::{get, web, HttpResponse};
use infrastructure::db;
use infrastructure::relay::lapin::{Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::startup::AppState;

const DATABASE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long connecting to RabbitMQ may take before it counts as down.
const BROKER_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a RabbitMQ check is reused: load balancers probe often, a connection is not free.
const BROKER_CHECK_TTL: Duration = Duration::from_secs(5);
/// A projection further behind than this many events is reported as lagging.
pub const LAGGING_AFTER_EVENTS: i64 = 1_000;

pub(super) fn configure(config: &mut ServiceConfig) {
    config.service(live).service(ready);
}

/// The process answers.
#[utoipa::path(tag = "health", responses((status = 200, description = "Alive")))]
#[get("/health/live")]
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

/// The node as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum NodeStatus {
    /// Everything is up.
    Ready,
    /// Up, but some read model is behind: lists and dashboards may show old data.
    Lagging,
    /// Up, but RabbitMQ cannot be reached: events wait in the events table (the outbox) and
    /// the relay publishes them when it is back. Calls are routed as usual, so the node stays
    /// in rotation: one shared broker's outage must not take every node out at once.
    Degraded,
    /// The database is down (503).
    Unavailable,
}

/// A dependency answers or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Availability {
    /// It answers.
    Up,
    /// It does not.
    Down,
}

/// One dependency's state.
#[derive(Debug, Serialize, ToSchema)]
struct DependencyCheck {
    /// `up` or `down`.
    status: Availability,
}

/// Whether a projection keeps up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ProjectionState {
    /// Close behind the head of the event store.
    Up,
    /// More than a thousand events behind.
    Lagging,
}

/// One projection's state.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProjectionCheck {
    /// `up` or `lagging`.
    pub(crate) status: ProjectionState,
    /// Readable events it has not applied yet.
    #[schema(example = 0)]
    pub(crate) lag_events: i64,
}

/// Each dependency.
#[derive(Debug, Serialize, ToSchema)]
struct Checks {
    /// PostgreSQL.
    database: DependencyCheck,
    /// RabbitMQ; absent when `AMQP_URL` is not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    rabbitmq: Option<DependencyCheck>,
    /// Each projection, by name; absent when the database does not answer.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    projections: BTreeMap<String, ProjectionCheck>,
}

/// The readiness report.
#[derive(Debug, Serialize, ToSchema)]
struct Readiness {
    /// `ready`, `lagging` or `degraded` (still 200), or `unavailable` (503).
    status: NodeStatus,
    /// Each dependency.
    checks: Checks,
}

/// The node can do its work: each dependency's state; 503 when the database is down. A broker
/// outage or a lagging projection is reported but keeps the node in rotation.
#[utoipa::path(tag = "health", responses(
    (status = 200, description = "Ready (possibly with lagging read models or RabbitMQ down)", body = Readiness),
    (status = 503, description = "The database is down", body = Readiness),
))]
#[get("/health/ready")]
async fn ready(state: web::Data<AppState>, broker: web::Data<BrokerProbe>) -> HttpResponse {
    let (database_up, rabbitmq) =
        tokio::join!(db::is_ready(&state.pool, DATABASE_TIMEOUT), broker.status());
    let projections = if database_up {
        projection_checks(&state).await
    } else {
        BTreeMap::new()
    };
    let database = if database_up {
        Availability::Up
    } else {
        Availability::Down
    };
    let checks = Checks {
        database: DependencyCheck { status: database },
        rabbitmq: rabbitmq.map(|status| DependencyCheck { status }),
        projections,
    };
    let status = node_status(&checks);
    if status == NodeStatus::Unavailable {
        tracing::warn!(?checks, "not ready");
        HttpResponse::ServiceUnavailable().json(Readiness { status, checks })
    } else {
        HttpResponse::Ok().json(Readiness { status, checks })
    }
}

/// Down when the database or the broker is down. Lagging read models only say so: webhooks
/// route from the write side alone (DESIGN.md), so taking nodes out of rotation for lag would
/// drop callers to protect dashboards — and every node would lag together, since the lag is
/// the shared projectors', not this node's.
fn node_status(checks: &Checks) -> NodeStatus {
    let broker_down = checks
        .rabbitmq
        .as_ref()
        .is_some_and(|check| check.status == Availability::Down);
    if checks.database.status == Availability::Down {
        NodeStatus::Unavailable
    } else if broker_down {
        NodeStatus::Degraded
    } else if checks
        .projections
        .values()
        .any(|check| check.status == ProjectionState::Lagging)
    {
        NodeStatus::Lagging
    } else {
        NodeStatus::Ready
    }
}

/// Whether a projection `lag_events` behind keeps up (also shown on the admin dashboard).
pub(crate) fn projection_check(lag_events: i64) -> ProjectionCheck {
    ProjectionCheck {
        status: if lag_events > LAGGING_AFTER_EVENTS {
            ProjectionState::Lagging
        } else {
            ProjectionState::Up
        },
        lag_events,
    }
}

/// Each projection's lag; none when it cannot be read in time (the database check, which
/// just answered, says whether the node is up).
async fn projection_checks(state: &AppState) -> BTreeMap<String, ProjectionCheck> {
    let all = projections::registry::all();
    let status = projections::runtime::status(&state.pool, &all);
    match tokio::time::timeout(DATABASE_TIMEOUT, status).await {
        Ok(Ok(statuses)) => statuses
            .into_iter()
            .map(|status| (status.name.to_owned(), projection_check(status.lag_events)))
            .collect(),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "cannot read the projections' lag");
            BTreeMap::new()
        }
        Err(_elapsed) => {
            tracing::warn!("the projections' lag was not read within {DATABASE_TIMEOUT:?}");
            BTreeMap::new()
        }
    }
}

/// Checks that RabbitMQ accepts a connection, at most once per few seconds.
pub struct BrokerProbe {
    url: Option<SecretString>,
    last: tokio::sync::Mutex<Option<(Instant, Availability)>>,
}

impl BrokerProbe {
    /// A probe of the broker at `url`; `None` (no `AMQP_URL`): nothing to check.
    pub fn new(url: Option<SecretString>) -> Self {
        Self {
            url,
            last: tokio::sync::Mutex::new(None),
        }
    }

    /// The broker's state, `None` without a broker. Concurrent probes wait for one check.
    pub(crate) async fn status(&self) -> Option<Availability> {
        let url = self.url.as_ref()?;
        let mut last = self.last.lock().await;
        if let Some((at, status)) = *last {
            if at.elapsed() < BROKER_CHECK_TTL {
                return Some(status);
            }
        }
        let status = broker_answers(url).await;
        *last = Some((Instant::now(), status));
        Some(status)
    }
}

async fn broker_answers(url: &SecretString) -> Availability {
    let connect = async {
        let properties =
            ConnectionProperties::default().with_connection_name("callassist-health-check".into());
        let connection = Connection::connect(url.expose_secret(), properties).await?;
        if let Err(err) = connection.close(200, "OK".into()).await {
            tracing::debug!(error = %err, "closing the health check's broker connection");
        }
        Ok::<_, infrastructure::relay::lapin::Error>(())
    };
    match tokio::time::timeout(BROKER_TIMEOUT, connect).await {
        Ok(Ok(())) => Availability::Up,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "RabbitMQ refuses connections");
            Availability::Down
        }
        Err(_elapsed) => {
            tracing::warn!("RabbitMQ did not accept a connection within {BROKER_TIMEOUT:?}");
            Availability::Down
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(database: Availability, rabbitmq: Option<Availability>, lags: &[i64]) -> Checks {
        Checks {
            database: DependencyCheck { status: database },
            rabbitmq: rabbitmq.map(|status| DependencyCheck { status }),
            projections: lags
                .iter()
                .enumerate()
                .map(|(n, lag)| (format!("p{n}"), projection_check(*lag)))
                .collect(),
        }
    }

    #[test]
    fn it_should_be_unavailable_only_when_the_database_is_down() {
        use Availability::{Down, Up};
        assert_eq!(node_status(&checks(Up, None, &[0])), NodeStatus::Ready);
        assert_eq!(node_status(&checks(Up, Some(Up), &[])), NodeStatus::Ready);
        assert_eq!(
            node_status(&checks(Down, None, &[])),
            NodeStatus::Unavailable
        );
        assert_eq!(
            node_status(&checks(Up, Some(Down), &[0])),
            NodeStatus::Degraded
        );
    }

    #[test]
    fn it_should_report_a_lagging_projection_but_stay_in_rotation() {
        let lagging = checks(Availability::Up, None, &[0, LAGGING_AFTER_EVENTS + 1]);
        assert_eq!(node_status(&lagging), NodeStatus::Lagging);
        assert_eq!(
            serde_json::to_value(&lagging).unwrap(),
            json!({
                "database": {"status": "up"},
                "projections": {
                    "p0": {"status": "up", "lag_events": 0},
                    "p1": {"status": "lagging", "lag_events": 1001},
                },
            })
        );
        assert_eq!(
            projection_check(LAGGING_AFTER_EVENTS).status,
            ProjectionState::Up
        );
    }
}

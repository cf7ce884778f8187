//! Projector and relay health as the overview page shows it: each projection's lag judged as
//! `/health/ready` judges it (`routes::health::projection_check`), and the RabbitMQ relay's
//! checkpoints with the broker's state from the same probe the readiness check uses.

use infrastructure::event_store::Position;
use projections::overview::Overview;

use crate::routes::health::{projection_check, Availability, BrokerProbe, ProjectionState};

/// One projection's row.
pub(super) struct ProjectionRow {
    /// Its name.
    pub(super) name: &'static str,
    /// The version in the code, and the one that built its tables when they differ.
    pub(super) version: String,
    /// The last event it applied, e.g. `#1042`.
    pub(super) position: String,
    /// Readable events it has not applied yet.
    pub(super) lag_events: i64,
    /// More behind than `/health/ready` tolerates.
    pub(super) lagging: bool,
}

/// One relay's row (`relay_checkpoints`).
pub(super) struct RelayRow {
    /// Its name.
    pub(super) name: String,
    /// The last event the broker confirmed.
    pub(super) position: String,
    /// Events published.
    pub(super) published: i64,
    /// Readable events not published yet.
    pub(super) lag_events: i64,
    /// When it last moved, UTC.
    pub(super) updated_at: String,
}

/// What the broker's state is, as far as this node knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Broker {
    /// `AMQP_URL` is not set: this node runs no relay.
    Off,
    /// RabbitMQ accepts connections.
    Up,
    /// RabbitMQ does not answer: events wait in the event store.
    Down,
}

/// The health section of the overview.
pub(super) struct Health {
    /// The newest readable event, e.g. `#1042`; `None` while the store is empty.
    pub(super) head: Option<String>,
    /// Each projection.
    pub(super) projections: Vec<ProjectionRow>,
    /// Some projection lags.
    pub(super) any_lagging: bool,
    /// The broker.
    pub(super) broker: Broker,
    /// Each relay's checkpoint (none before a relay first ran).
    pub(super) relays: Vec<RelayRow>,
}

/// `position` as shown: the event's insertion number.
fn shown(position: Option<Position>) -> String {
    match position {
        Some(position) if position.global_position > 0 => format!("#{}", position.global_position),
        _ => "none yet".to_owned(),
    }
}

/// The health of the projections and relays in `overview`, and the broker's state.
pub(super) async fn health(overview: &Overview, probe: &BrokerProbe) -> Health {
    let projections: Vec<ProjectionRow> = overview
        .projections
        .iter()
        .map(|status| ProjectionRow {
            name: status.name,
            version: match status.built_version {
                Some(built) if built != status.version => {
                    format!("{} (tables built by {built})", status.version)
                }
                _ => status.version.to_string(),
            },
            position: shown(status.position),
            lag_events: status.lag_events,
            lagging: projection_check(status.lag_events).status == ProjectionState::Lagging,
        })
        .collect();
    let broker = match probe.status().await {
        None => Broker::Off,
        Some(Availability::Up) => Broker::Up,
        Some(Availability::Down) => Broker::Down,
    };
    let relays = overview
        .relays
        .iter()
        .flatten()
        .map(|relay| RelayRow {
            name: relay.name.clone(),
            position: shown(Some(relay.position)),
            published: relay.published,
            lag_events: relay.lag_events,
            updated_at: relay.updated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        })
        .collect();
    Health {
        head: overview.head.map(|head| shown(Some(head))),
        any_lagging: projections.iter().any(|row| row.lagging),
        projections,
        broker,
        relays,
    }
}

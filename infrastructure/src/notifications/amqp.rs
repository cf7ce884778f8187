//! Hearing of happenings from RabbitMQ: every node consumes the durable queue
//! `callassist.notifications`, bound to the relay's exchange for the three call events that may
//! notify. A message is acknowledged once its job is stored (a duplicate is stored once), so a
//! node that dies mid-message leaves it to the broker to deliver again.

use std::time::Duration;

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::uri::AMQPUri;
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use tokio::sync::Notify;

use super::{queue, Clock, NotifyPolicy};
use crate::event_store::{Position, RecordedEvent};
use crate::relay::{EventMessage, EXCHANGE};

/// The queue every node consumes.
pub const QUEUE: &str = "callassist.notifications";
/// The events that may notify, as the relay routes them.
const ROUTING_KEYS: [&str; 3] = [
    "Call.MessageTaken",
    "Call.VoicemailRecorded",
    "Call.CallEnded",
];
const PREFETCH: u16 = 32;
const MAX_STEP_BACK: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
enum ConsumeError {
    #[error("AMQP_URL is not an AMQP URL: {0}")]
    BadUrl(String),
    #[error("RabbitMQ failed")]
    Broker(#[from] lapin::Error),
    #[error("the consumer was cancelled by the broker")]
    Cancelled,
    #[error("the database failed")]
    Database(#[from] sqlx::Error),
}

/// Consumes forever, reconnecting with capped backoff.
pub(super) async fn consume(
    pool: &PgPool,
    url: &SecretString,
    policy: NotifyPolicy,
    clock: &Clock,
    queued: &Notify,
) {
    let mut failures: u32 = 0;
    loop {
        let err = match consume_once(pool, url, policy, clock, queued, &mut failures).await {
            Ok(never) => match never {},
            Err(err) => err,
        };
        if let ConsumeError::BadUrl(_) = err {
            tracing::error!(error = %err, "notifications cannot use RabbitMQ");
            return std::future::pending().await;
        }
        failures = failures.saturating_add(1);
        let pause =
            (Duration::from_millis(100) * 2u32.saturating_pow(failures.min(7))).min(MAX_STEP_BACK);
        tracing::warn!(error = %err, retry_in = ?pause, "notification consumer reconnects");
        tokio::time::sleep(pause).await;
    }
}

async fn consume_once(
    pool: &PgPool,
    url: &SecretString,
    policy: NotifyPolicy,
    clock: &Clock,
    queued: &Notify,
    failures: &mut u32,
) -> Result<std::convert::Infallible, ConsumeError> {
    let uri: AMQPUri = url.expose_secret().parse().map_err(ConsumeError::BadUrl)?;
    let properties =
        ConnectionProperties::default().with_connection_name("callassist-notifications".into());
    let connection = Connection::connect_uri(uri, properties).await?;
    let channel = connection.create_channel().await?;
    channel
        .exchange_declare(
            EXCHANGE.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(
            QUEUE.into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    for key in ROUTING_KEYS {
        channel
            .queue_bind(
                QUEUE.into(),
                EXCHANGE.into(),
                key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    channel
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await?;
    let mut deliveries = channel
        .basic_consume(
            QUEUE.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = QUEUE, "notifying owners from RabbitMQ");
    while let Some(delivery) = deliveries.next().await {
        let delivery = delivery?;
        *failures = 0;
        let event = match serde_json::from_slice::<EventMessage>(&delivery.data) {
            Ok(message) => recorded(message),
            Err(err) => {
                tracing::error!(error = %err, "an unreadable event message; dropped");
                delivery.ack(BasicAckOptions::default()).await?;
                continue;
            }
        };
        let now = clock();
        let candidates = queue::candidates(std::slice::from_ref(&event), |happening, event| {
            policy.due(happening, event, now)
        });
        match queue::queue(pool, &candidates, None).await {
            Ok(new) => {
                delivery.ack(BasicAckOptions::default()).await?;
                if new > 0 {
                    queued.notify_one();
                }
            }
            Err(err) => {
                let requeue = BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                };
                delivery.nack(requeue).await?;
                return Err(err.into());
            }
        }
    }
    Err(ConsumeError::Cancelled)
}

fn recorded(message: EventMessage) -> RecordedEvent {
    RecordedEvent {
        position: Position {
            transaction_id: message.transaction_id,
            global_position: message.global_position,
        },
        aggregate_type: message.aggregate_type,
        aggregate_id: message.aggregate_id,
        sequence: message.sequence,
        event_type: message.event_type,
        event_version: message.event_version,
        payload: message.payload,
        metadata: message.metadata,
    }
}

//! The relay's side of the broker: one connection with a channel in publisher-confirm mode,
//! publishing a batch and reporting how much of it the broker confirmed.

use std::time::Duration;

use chrono::Utc;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::uri::AMQPUri;
use lapin::{Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind};
use tokio::time::Instant;

use super::message::Outgoing;
use super::retry::Outage;
use super::EXCHANGE;
use crate::event_store::RecordedEvent;

/// How long connecting to the broker (TCP, TLS, AMQP handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A failure talking to the broker; the relay reconnects and republishes from its checkpoint.
#[derive(Debug, thiserror::Error)]
pub(super) enum BrokerError {
    #[error("the connection to the broker was closed")]
    Lost,
    #[error("cannot connect to the broker")]
    Connect(#[source] lapin::Error),
    #[error("the broker did not complete the connection within {0:?}")]
    ConnectTimeout(Duration),
    #[error("publishing failed")]
    Publish(#[source] lapin::Error),
    #[error("the broker refused (nack) the event at global position {0}")]
    Nacked(i64),
    #[error("the broker did not confirm within {0:?}")]
    ConfirmTimeout(Duration),
    #[error("the channel is not in confirm mode")]
    NotConfirmed,
    #[error("cannot encode the event at global position {position}")]
    Encode {
        position: i64,
        #[source]
        source: serde_json::Error,
    },
}

/// One connection to the broker, with a channel in confirm mode.
pub(super) struct Broker {
    // Dropping the connection closes it; the channel alone would not.
    _connection: Connection,
    pub(super) channel: Channel,
}

impl Broker {
    #[tracing::instrument(
        name = "relay_connect",
        level = "debug",
        skip_all,
        err(level = "debug")
    )]
    pub(super) async fn connect(uri: &AMQPUri, name: &str) -> Result<Self, BrokerError> {
        let connect = async {
            let properties = ConnectionProperties::default().with_connection_name(name.into());
            let connection = Connection::connect_uri(uri.clone(), properties).await?;
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
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
            Ok::<_, lapin::Error>(Self {
                _connection: connection,
                channel,
            })
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(result) => result.map_err(BrokerError::Connect),
            Err(_) => Err(BrokerError::ConnectTimeout(CONNECT_TIMEOUT)),
        }
    }

    /// Publishes `batch` in order and awaits the confirms. Returns how many events, from the
    /// first, the broker confirmed, and the failure that stopped it, if any.
    #[tracing::instrument(name = "relay_publish", level = "debug", skip_all, fields(events = batch.len()))]
    pub(super) async fn publish(
        &self,
        batch: &[RecordedEvent],
        timeout: Duration,
    ) -> (usize, Result<(), BrokerError>) {
        let deadline = Instant::now() + timeout;
        let now = Utc::now();
        let mut pending = Vec::with_capacity(batch.len());
        let mut failure = None;
        for event in batch {
            let message = match Outgoing::new(event, now) {
                Ok(message) => message,
                Err(source) => {
                    let position = event.position.global_position;
                    failure = Some(BrokerError::Encode { position, source });
                    break;
                }
            };
            let publish = self.channel.basic_publish(
                EXCHANGE.into(),
                message.routing_key,
                BasicPublishOptions::default(),
                &message.body,
                message.properties,
            );
            match tokio::time::timeout_at(deadline, publish).await {
                Ok(Ok(confirm)) => pending.push(confirm),
                Ok(Err(err)) => {
                    failure = Some(BrokerError::Publish(err));
                    break;
                }
                Err(_) => {
                    failure = Some(BrokerError::ConfirmTimeout(timeout));
                    break;
                }
            }
        }
        let mut confirmed = 0;
        for (event, confirm) in batch.iter().zip(pending) {
            let stop = match tokio::time::timeout_at(deadline, confirm).await {
                Ok(Ok(Confirmation::Ack(_))) => None,
                Ok(Ok(Confirmation::Nack(_))) => {
                    Some(BrokerError::Nacked(event.position.global_position))
                }
                Ok(Ok(Confirmation::NotRequested)) => Some(BrokerError::NotConfirmed),
                Ok(Err(err)) => Some(BrokerError::Publish(err)),
                Err(_) => Some(BrokerError::ConfirmTimeout(timeout)),
            };
            if let Some(err) = stop {
                // A publish failure further on is a consequence; report the first problem.
                failure = Some(err);
                break;
            }
            confirmed += 1;
        }
        (confirmed, failure.map_or(Ok(()), Err))
    }
}

/// The broker connection the relay keeps across leaderships, and its outage log.
pub(super) struct BrokerLink {
    pub(super) uri: AMQPUri,
    pub(super) connection: Option<Broker>,
    pub(super) outage: Outage,
}

impl BrokerLink {
    /// The connection, opened if needed; `None` after a failed attempt (already logged and
    /// waited for).
    pub(super) async fn connected(&mut self, name: &str) -> Option<&Broker> {
        let lost = self
            .connection
            .as_ref()
            .is_some_and(|broker| !broker.channel.status().connected());
        if lost {
            // Closed by the broker or the network while idle: reconnect before the next batch.
            self.connection = None;
            tokio::time::sleep(self.outage.failed(&BrokerError::Lost)).await;
            return None;
        }
        if self.connection.is_none() {
            match Broker::connect(&self.uri, name).await {
                Ok(broker) => self.connection = Some(broker),
                Err(err) => {
                    tokio::time::sleep(self.outage.failed(&err)).await;
                    return None;
                }
            }
        }
        self.connection.as_ref()
    }
}

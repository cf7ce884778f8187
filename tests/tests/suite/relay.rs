//! The RabbitMQ relay on the real PostgreSQL and the real RabbitMQ (`AMQP_URL`): every event
//! arrives, at least once and in per-aggregate order, even when the broker connection breaks;
//! the checkpoint moves only after the broker confirmed.
//!
//! The exchange is shared by tests running in parallel, so each test binds a queue of its own
//! (exclusive, auto-delete) and only looks at messages of its own aggregates. Between the relay
//! and the broker, a small TCP proxy lets a test cut the connection or hold back the broker's
//! answers (its confirms) without touching anyone else's connections.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use futures::StreamExt;
use infrastructure::event_store::{AppendSignal, Position, Stores};
use infrastructure::relay::lapin::message::Delivery;
use infrastructure::relay::lapin::options::{
    BasicConsumeOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use infrastructure::relay::lapin::types::{AMQPValue, FieldTable};
use infrastructure::relay::lapin::{Connection, ConnectionProperties, Consumer, ExchangeKind};
use infrastructure::relay::{Relay, EXCHANGE};
use serde_json::Value;
use sqlx::PgPool;
use support::{amqp_url, seed, SeedBusiness, TestDatabase};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

/// A queue of this test's own on the relay's exchange.
struct Subscriber {
    _connection: Connection,
    consumer: Consumer,
}

impl Subscriber {
    async fn bind(binding_key: &str) -> Self {
        let url = amqp_url();
        let connection = Connection::connect(&url, ConnectionProperties::default())
            .await
            .unwrap_or_else(|err| panic!("cannot reach RabbitMQ at AMQP_URL: {err}"));
        let channel = connection.create_channel().await.unwrap();
        // The relay declares it too (same arguments); the queue must be bound before it publishes.
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
            .await
            .unwrap();
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .queue_bind(
                queue.name().clone(),
                EXCHANGE.into(),
                binding_key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        Self {
            _connection: connection,
            consumer,
        }
    }

    /// The next message of one of `ours` (by aggregate id prefix) before `deadline`.
    async fn next_of(&mut self, ours: &str, deadline: Instant) -> Option<Message> {
        loop {
            let delivery = tokio::time::timeout_at(deadline, self.consumer.next())
                .await
                .ok()??
                .expect("the subscription fails");
            let message = Message::from(delivery);
            if message.aggregate_id().starts_with(ours) {
                return Some(message);
            }
        }
    }

    /// Receives messages of `ours` until `done` says so; panics with `what` after 30 s.
    async fn receive_until(
        &mut self,
        ours: &str,
        received: &mut Vec<Message>,
        what: &str,
        done: impl Fn(&[Message]) -> bool,
    ) {
        let deadline = Instant::now() + WAIT;
        while !done(received) {
            match self.next_of(ours, deadline).await {
                Some(message) => received.push(message),
                None => panic!(
                    "{what}: not there after {WAIT:?} ({} messages received)",
                    received.len()
                ),
            }
        }
    }
}

/// One delivery, its body parsed.
#[derive(Debug)]
struct Message {
    delivery: Delivery,
    body: Value,
}

impl From<Delivery> for Message {
    fn from(delivery: Delivery) -> Self {
        let body = serde_json::from_slice(&delivery.data).expect("the body is JSON");
        Self { delivery, body }
    }
}

impl Message {
    fn aggregate_id(&self) -> &str {
        self.body["aggregate_id"].as_str().unwrap_or_default()
    }

    fn message_id(&self) -> i64 {
        self.delivery
            .properties
            .message_id()
            .as_ref()
            .expect("every message has a message_id")
            .as_str()
            .parse()
            .expect("the message_id is the global position")
    }
}

/// How many distinct message ids arrived.
fn unique(received: &[Message]) -> HashSet<i64> {
    received.iter().map(Message::message_id).collect()
}

/// Per aggregate, the sequences in arrival order, each message id counted at its first arrival.
fn first_arrivals(received: &[Message]) -> HashMap<String, Vec<i64>> {
    let mut seen = HashSet::new();
    let mut sequences: HashMap<String, Vec<i64>> = HashMap::new();
    for message in received {
        if seen.insert(message.message_id()) {
            sequences
                .entry(message.aggregate_id().to_owned())
                .or_default()
                .push(message.body["sequence"].as_i64().unwrap());
        }
    }
    sequences
}

/// The stored events as a consumer should see them, by global position.
async fn stored(pool: &PgPool) -> Vec<(i64, Value)> {
    sqlx::query_as(
        "SELECT global_position, \
                jsonb_build_object('global_position', global_position, \
                                   'transaction_id', transaction_id::text::bigint, \
                                   'aggregate_type', aggregate_type, 'aggregate_id', aggregate_id, \
                                   'sequence', sequence, 'event_type', event_type, \
                                   'event_version', event_version, 'payload', payload, \
                                   'metadata', metadata) \
           FROM events ORDER BY transaction_id, global_position",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Appends events `sequences` of each aggregate in one transaction, then wakes the relay.
async fn append(pool: &PgPool, signal: &AppendSignal, aggregates: &[String], sequences: &[i64]) {
    let mut tx = pool.begin().await.unwrap();
    for sequence in sequences {
        for aggregate in aggregates {
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
                 VALUES ('RelayTest', $1, $2, 'Happened', '1.0', jsonb_build_object('n', $2), \
                         jsonb_build_object('correlation_id', $1, 'received_at', '2026-03-08T12:00:00.000000Z'))",
            )
            .bind(aggregate)
            .bind(sequence)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    signal.appended();
}

fn aggregates(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|k| format!("{prefix}-{k}")).collect()
}

/// The relay, running in the background until the test ends.
struct Running(JoinHandle<()>);

impl Running {
    fn start(relay: Relay) -> Self {
        Self(tokio::spawn(async move {
            if let Err(err) = relay.run().await {
                panic!("the relay stopped: {err}");
            }
        }))
    }

    async fn stop(mut self) {
        self.0.abort();
        let _ = (&mut self.0).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Waits until the relay's checkpoint is `expected` (`None`: any registered one).
async fn checkpoint_reaches(pool: &PgPool, expected: Option<Position>) -> Position {
    let deadline = Instant::now() + WAIT;
    loop {
        let position = Relay::position(pool).await.unwrap();
        match (position, expected) {
            (Some(position), None) => return position,
            (Some(position), Some(expected)) if position == expected => return position,
            _ if Instant::now() > deadline => {
                panic!("the relay's checkpoint is {position:?} after {WAIT:?}, not {expected:?}")
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

async fn head(pool: &PgPool) -> Position {
    infrastructure::event_store::GlobalStream::new(pool.clone())
        .head()
        .await
        .unwrap()
        .expect("events are stored")
}

#[tokio::test]
async fn it_should_publish_every_event_with_its_routing_key_position_and_stored_body() {
    // Arrange
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let stores = Stores::new(&db.pool, signal.clone());
    let mut everything = Subscriber::bind("#").await;
    let mut numbers_only = Subscriber::bind("PhoneNumber.*").await;
    let _relay = Running::start(Relay::new(db.pool.clone(), amqp_url().into(), signal));

    // Act
    let seeded = seed(&stores, SeedBusiness::default()).await;

    // Assert
    let expected = stored(&db.pool).await;
    let ours = |message: &Message| {
        let id = message.aggregate_id();
        id == seeded.business_id.to_string() || id == seeded.number
    };
    let mut received = Vec::new();
    let deadline = Instant::now() + WAIT;
    while unique(&received).len() < expected.len() {
        let message = everything.next_of("", deadline).await.unwrap_or_else(|| {
            panic!(
                "only {} of {} events arrived",
                received.len(),
                expected.len()
            )
        });
        if ours(&message) {
            received.push(message);
        }
    }
    for (position, body) in &expected {
        let message = received
            .iter()
            .find(|message| message.message_id() == *position)
            .unwrap_or_else(|| panic!("no message for global position {position}"));
        let properties = &message.delivery.properties;
        let routing_key = format!(
            "{}.{}",
            body["aggregate_type"].as_str().unwrap(),
            body["event_type"].as_str().unwrap()
        );
        assert_eq!(message.delivery.routing_key.as_str(), routing_key);
        assert_eq!(message.delivery.exchange.as_str(), EXCHANGE);
        assert_eq!(&message.body, body, "the body is the stored row");
        assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
        assert_eq!(
            properties.content_type().as_ref().unwrap().as_str(),
            "application/json"
        );
        assert_eq!(
            properties.kind().as_ref().unwrap().as_str(),
            body["event_type"].as_str().unwrap()
        );
        assert_eq!(properties.app_id().as_ref().unwrap().as_str(), "callassist");
        let headers = properties.headers().as_ref().unwrap().inner();
        assert_eq!(
            headers.get("sequence"),
            Some(&AMQPValue::LongLongInt(body["sequence"].as_i64().unwrap()))
        );
    }
    assert!(
        expected
            .iter()
            .any(|(_, body)| body["aggregate_type"] == "Business"),
        "the seed stores business events too"
    );
    let mut numbers = Vec::new();
    numbers_only
        .receive_until(
            &seeded.number,
            &mut numbers,
            "the PhoneNumber events on PhoneNumber.*",
            |got| got.len() >= 2,
        )
        .await;
    assert!(numbers
        .iter()
        .all(|m| m.delivery.routing_key.as_str().starts_with("PhoneNumber.")));
    checkpoint_reaches(&db.pool, Some(head(&db.pool).await)).await;
}

/// A TCP proxy between the relay and the broker: it can cut every connection through it, and
/// hold back what the broker sends (its confirms) while still passing on what the relay sends.
struct Proxy {
    port: u16,
    shared: Arc<ProxyShared>,
}

struct ProxyShared {
    open: Mutex<Vec<TcpStream>>,
    accepted: AtomicUsize,
    frozen: Mutex<bool>,
    thawed: Condvar,
    closed: AtomicBool,
}

impl Proxy {
    fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(ProxyShared {
            open: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
            frozen: Mutex::new(false),
            thawed: Condvar::new(),
            closed: AtomicBool::new(false),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.closed.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                accepting.accepted.fetch_add(1, Ordering::SeqCst);
                {
                    let mut open = accepting.open.lock().unwrap();
                    open.push(client.try_clone().unwrap());
                    open.push(server.try_clone().unwrap());
                }
                let (client_in, server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let pump_shared = accepting.clone();
                std::thread::spawn(move || pump(client_in, server_out, None));
                std::thread::spawn(move || pump(server, client, Some(pump_shared)));
            }
        });
        Self { port, shared }
    }

    /// The relay's URL through the proxy: AMQP_URL with the proxy as host and port.
    fn url(&self) -> String {
        let url = amqp_url();
        let (scheme, authority, rest) = split_url(&url);
        let credentials = authority
            .rsplit_once('@')
            .map(|(user, _)| format!("{user}@"))
            .unwrap_or_default();
        format!("{scheme}://{credentials}127.0.0.1:{}{rest}", self.port)
    }

    /// Closes every connection through the proxy, as a broker restart or a network cut would.
    fn cut(&self) {
        for stream in self.shared.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// While frozen, nothing the broker sends reaches the relay.
    fn freeze(&self, frozen: bool) {
        *self.shared.frozen.lock().unwrap() = frozen;
        self.shared.thawed.notify_all();
    }

    fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.freeze(false);
        self.cut();
        // Wake the accepting thread so it sees `closed`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, freezable: Option<Arc<ProxyShared>>) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if let Some(shared) = &freezable {
            let frozen = shared.frozen.lock().unwrap();
            drop(shared.thawed.wait_while(frozen, |frozen| *frozen).unwrap());
        }
        if to.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// `scheme`, `[user:password@]host[:port]`, and the rest (`/vhost?query`) of an AMQP URL.
fn split_url(url: &str) -> (&str, &str, &str) {
    let (scheme, after) = url.split_once("://").expect("AMQP_URL has a scheme");
    let end = after.find(['/', '?']).unwrap_or(after.len());
    (scheme, &after[..end], &after[end..])
}

/// `host:port` of the broker in AMQP_URL.
fn broker_address() -> String {
    let url = amqp_url();
    let (scheme, authority, _) = split_url(&url);
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host_port
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
    {
        host_port.to_owned()
    } else {
        let port = if scheme == "amqps" { 5671 } else { 5672 };
        format!("{host_port}:{port}")
    }
}

#[tokio::test]
async fn it_should_deliver_every_event_at_least_once_in_aggregate_order_when_the_broker_connection_drops_mid_stream(
) {
    // Arrange
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let prefix = format!("relay-cut-{}", Uuid::new_v4());
    let ids = aggregates(&prefix, 4);
    let events_each: i64 = 40;
    let expected = ids.len() * events_each as usize;
    let mut subscriber = Subscriber::bind("#").await;
    let proxy = Proxy::start(broker_address());
    let relay = Relay::new(db.pool.clone(), proxy.url().into(), signal.clone())
        .with_batch_size(7)
        .with_confirm_timeout(Duration::from_secs(5));
    let _relay = Running::start(relay);

    // Act: keep appending while the connection is cut three times.
    let writer = {
        let (pool, signal, ids) = (db.pool.clone(), signal.clone(), ids.clone());
        tokio::spawn(async move {
            for sequence in 1..=events_each {
                append(&pool, &signal, &ids, &[sequence]).await;
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        })
    };
    let mut received = Vec::new();
    let mut cuts = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while unique(&received).len() < expected {
        let message = subscriber
            .next_of(&prefix, deadline)
            .await
            .unwrap_or_else(|| {
                panic!(
                    "only {} of {expected} events arrived (after {cuts} cuts)",
                    unique(&received).len()
                )
            });
        received.push(message);
        let seen = unique(&received).len();
        if cuts < 3 && seen >= expected * (cuts + 1) / 4 {
            proxy.cut();
            cuts += 1;
        }
    }
    writer.await.unwrap();

    // Assert
    let positions: HashSet<i64> = stored(&db.pool)
        .await
        .into_iter()
        .map(|(position, _)| position)
        .collect();
    assert_eq!(unique(&received), positions, "every stored event arrived");
    for (aggregate, sequences) in first_arrivals(&received) {
        assert_eq!(
            sequences,
            (1..=events_each).collect::<Vec<_>>(),
            "order of {aggregate}"
        );
    }
    assert!(
        proxy.accepted() > cuts,
        "the relay reconnected after each of the {cuts} cuts ({} connections)",
        proxy.accepted()
    );
    checkpoint_reaches(&db.pool, Some(head(&db.pool).await)).await;
    eprintln!(
        "{} messages for {expected} events over {} connections",
        received.len(),
        proxy.accepted()
    );
}

#[tokio::test]
async fn it_should_keep_its_checkpoint_while_the_broker_is_unreachable_and_publish_everything_later(
) {
    // Arrange: events waiting, and a broker address nobody listens on.
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let prefix = format!("relay-down-{}", Uuid::new_v4());
    let ids = aggregates(&prefix, 2);
    append(&db.pool, &signal, &ids, &[1, 2, 3]).await;
    append(&db.pool, &signal, &ids, &[4, 5]).await;
    let mut subscriber = Subscriber::bind("#").await;
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = format!("amqp://guest:guest@127.0.0.1:{closed_port}/%2f");

    // Act
    let unreachable = Running::start(Relay::new(db.pool.clone(), nowhere.into(), signal.clone()));

    // Assert: it leads and retries, and its checkpoint stays at the start.
    assert_eq!(checkpoint_reaches(&db.pool, None).await, Position::START);
    let nothing = subscriber
        .next_of(&prefix, Instant::now() + Duration::from_millis(1500))
        .await;
    assert!(nothing.is_none(), "nothing can be published: {nothing:?}");
    assert_eq!(
        Relay::position(&db.pool).await.unwrap(),
        Some(Position::START)
    );

    // Act: the broker is back (a relay with a working URL takes over).
    unreachable.stop().await;
    let _relay = Running::start(Relay::new(
        db.pool.clone(),
        amqp_url().into(),
        signal.clone(),
    ));

    // Assert
    let mut received = Vec::new();
    subscriber
        .receive_until(&prefix, &mut received, "every waiting event", |got| {
            unique(got).len() >= 10
        })
        .await;
    for (aggregate, sequences) in first_arrivals(&received) {
        assert_eq!(sequences, vec![1, 2, 3, 4, 5], "order of {aggregate}");
    }
    checkpoint_reaches(&db.pool, Some(head(&db.pool).await)).await;
}

#[tokio::test]
async fn it_should_not_move_its_checkpoint_past_messages_the_broker_has_not_confirmed() {
    // Arrange: a relay whose first event went through.
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let prefix = format!("relay-confirm-{}", Uuid::new_v4());
    let ids = aggregates(&prefix, 5);
    let mut subscriber = Subscriber::bind("#").await;
    let proxy = Proxy::start(broker_address());
    let relay = Relay::new(db.pool.clone(), proxy.url().into(), signal.clone())
        .with_confirm_timeout(Duration::from_secs(2));
    let _relay = Running::start(relay);
    append(&db.pool, &signal, &ids[..1], &[1]).await;
    let mut received = Vec::new();
    subscriber
        .receive_until(&prefix, &mut received, "the first event", |got| {
            !got.is_empty()
        })
        .await;
    let confirmed = checkpoint_reaches(&db.pool, Some(head(&db.pool).await)).await;

    // Act: the broker's answers stop reaching the relay; ten more events in one transaction.
    proxy.freeze(true);
    append(&db.pool, &signal, &ids, &[2, 3]).await;

    // Assert: the broker got them, the relay has no confirm, the checkpoint stays.
    subscriber
        .receive_until(
            &prefix,
            &mut received,
            "the ten unconfirmed events",
            |got| unique(got).len() >= 11,
        )
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(Relay::position(&db.pool).await.unwrap(), Some(confirmed));

    // Act: the connection breaks and the broker answers again.
    proxy.cut();
    proxy.freeze(false);

    // Assert: the unconfirmed events are published again, then the checkpoint moves.
    let copies = |got: &[Message]| {
        let mut copies: HashMap<i64, usize> = HashMap::new();
        for message in got {
            *copies.entry(message.message_id()).or_default() += 1;
        }
        copies
    };
    subscriber
        .receive_until(&prefix, &mut received, "the ten events again", |got| {
            copies(got).values().filter(|count| **count >= 2).count() >= 10
        })
        .await;
    let copies = copies(&received);
    assert_eq!(copies.len(), 11, "{copies:?}");
    checkpoint_reaches(&db.pool, Some(head(&db.pool).await)).await;
}

//! Waking readers: in-process after a local commit, by a coalesced NOTIFY across nodes.

use std::num::NonZeroUsize;
use std::time::Duration;

use chrono::Utc;
use domain::business::{Business, BusinessCommand, RegisterBusiness};
use domain::values::BusinessId;
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::wakeup::{self, Wake};
use infrastructure::event_store::{AggregateStore, AppendSignal, StreamWaker};
use support::TestDatabase;
use uuid::Uuid;

/// Long enough that only a signal can wake a reader within the test's timeout.
const NO_POLL: Duration = Duration::from_secs(3600);
const TIMEOUT: Duration = Duration::from_secs(10);

fn register() -> (String, BusinessCommand) {
    let id = BusinessId(Uuid::new_v4());
    let command = BusinessCommand::Register(RegisterBusiness {
        id,
        name: "Wake Test".into(),
        description: String::new(),
        owner_user_id: None,
        owner_phone: None,
        timezone: chrono_tz::UTC,
    });
    (id.to_string(), command)
}

fn meta() -> CommandMetadata {
    CommandMetadata::new("wake", "test:wakeup", Actor::System, Utc::now())
}

#[tokio::test]
async fn it_should_wake_a_reader_in_the_same_process_right_after_a_commit() {
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let store: AggregateStore<Business> = AggregateStore::new(db.pool.clone(), signal.clone())
        .with_cache(NonZeroUsize::new(8).unwrap());
    let mut waker = StreamWaker::new(&db.pool, &signal, NO_POLL).await;
    let (id, command) = register();

    store.execute(&id, command, &meta()).await.unwrap();

    let wake = tokio::time::timeout(TIMEOUT, waker.wait())
        .await
        .expect("woken");
    assert_eq!(wake, Wake::Appended);
}

#[tokio::test]
async fn it_should_wake_a_reader_on_another_node_through_one_coalesced_notify() {
    let db = TestDatabase::fresh().await;
    let node_a_signal = AppendSignal::new();
    let node_a: AggregateStore<Business> =
        AggregateStore::new(db.pool.clone(), node_a_signal.clone());
    let notifier = tokio::spawn(wakeup::notify_other_nodes(
        db.pool.clone(),
        node_a_signal.clone(),
        Duration::from_millis(200),
    ));
    let node_b_pool = db.another_pool().await;
    let node_b_signal = AppendSignal::new();
    let mut node_b_waker = StreamWaker::new(&node_b_pool, &node_b_signal, NO_POLL).await;

    // A burst of appends inside one notify interval...
    for _ in 0..5 {
        let (id, command) = register();
        node_a.execute(&id, command, &meta()).await.unwrap();
    }

    // ...wakes the other node,
    let wake = tokio::time::timeout(TIMEOUT, node_b_waker.wait())
        .await
        .expect("woken");
    assert_eq!(wake, Wake::Notified);
    // ...at most twice (the first append, then the rest coalesced after the interval),
    let second = tokio::time::timeout(Duration::from_secs(2), node_b_waker.wait()).await;
    if second.is_ok() {
        let third = tokio::time::timeout(Duration::from_secs(1), node_b_waker.wait()).await;
        assert!(
            third.is_err(),
            "five appends must not send five notifications"
        );
    }
    notifier.abort();
}

#[tokio::test]
async fn it_should_still_wake_by_polling_when_nothing_signals() {
    let db = TestDatabase::fresh().await;
    let signal = AppendSignal::new();
    let mut waker = StreamWaker::new(&db.pool, &signal, Duration::from_millis(20)).await;

    let wake = tokio::time::timeout(TIMEOUT, waker.wait())
        .await
        .expect("woken");

    assert_eq!(wake, Wake::Polled);
}

#[tokio::test]
async fn it_should_wake_a_nodes_readers_once_when_its_poll_finds_new_events_and_not_otherwise() {
    let db = TestDatabase::fresh().await;
    // Another node appends, and tells nobody (no NOTIFY is sent).
    let other_node: AggregateStore<Business> =
        AggregateStore::new(db.pool.clone(), AppendSignal::new());
    let signal = AppendSignal::new();
    let watch = tokio::spawn(wakeup::watch_readable_head(
        db.pool.clone(),
        signal.clone(),
        Duration::from_millis(20),
    ));
    let mut first = StreamWaker::new(&db.pool, &signal, NO_POLL).await;
    let mut second = StreamWaker::new(&db.pool, &signal, NO_POLL).await;
    // The watch's first look (an empty stream) may wake the readers once; let it pass.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = tokio::time::timeout(Duration::from_millis(10), first.wait()).await;
    let _ = tokio::time::timeout(Duration::from_millis(10), second.wait()).await;

    let quiet = tokio::time::timeout(Duration::from_millis(300), first.wait()).await;
    assert!(
        quiet.is_err(),
        "woken with nothing new (15 looks at an unchanged stream): {quiet:?}"
    );
    let (id, command) = register();
    other_node.execute(&id, command, &meta()).await.unwrap();

    for waker in [&mut first, &mut second] {
        let wake = tokio::time::timeout(TIMEOUT, waker.wait())
            .await
            .expect("every reader of the node is woken");
        assert_eq!(wake, Wake::Readable);
    }
    let again = tokio::time::timeout(Duration::from_millis(300), first.wait()).await;
    assert!(again.is_err(), "woken again for the same event: {again:?}");
    watch.abort();
}

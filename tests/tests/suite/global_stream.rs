//! The gap-safe global stream reader on the real PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use infrastructure::event_store::{GlobalStream, Position, RecordedEvent};
use sqlx::{Acquire, PgPool, Postgres, Transaction};
use support::TestDatabase;

async fn insert(tx: &mut Transaction<'_, Postgres>, aggregate_id: &str, sequence: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Test', $1, $2, 'Happened', '1.0', '{}', '{}') RETURNING global_position",
    )
    .bind(aggregate_id)
    .bind(sequence)
    .fetch_one(&mut **tx)
    .await
    .unwrap()
}

/// Reads everything currently readable, from `after`, in small batches.
async fn drain(stream: &GlobalStream, after: &mut Position, into: &mut Vec<RecordedEvent>) {
    loop {
        let batch = stream.read_after(*after, 3).await.unwrap();
        let Some(last) = batch.last() else { return };
        *after = last.position;
        into.extend(batch);
    }
}

/// Reads until `count` events were delivered in all, or 10 s passed. Transactions of other tests
/// on the same server hold readers back too (transaction ids are cluster-wide), so a reader
/// may have to wait a moment for what it expects.
async fn drain_until(
    stream: &GlobalStream,
    after: &mut Position,
    into: &mut Vec<RecordedEvent>,
    count: usize,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while into.len() < count && tokio::time::Instant::now() < deadline {
        drain(stream, after, into).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Anything beyond `count` would be a duplicate: read once more to catch it.
    drain(stream, after, into).await;
}

#[tokio::test]
async fn it_should_deliver_an_event_whose_lower_position_commits_last_exactly_once_in_order() {
    let db = TestDatabase::fresh().await;
    let stream = GlobalStream::new(db.pool.clone());
    let mut first_conn = db.pool.acquire().await.unwrap();
    let mut second_conn = db.pool.acquire().await.unwrap();
    let mut delivered = Vec::new();
    let mut checkpoint = Position::START;

    // The first transaction takes the lower position but stays open.
    let mut slow = first_conn.begin().await.unwrap();
    let slow_position = insert(&mut slow, "slow", 1).await;
    // The second takes a higher position and commits first.
    let mut fast = second_conn.begin().await.unwrap();
    let fast_position = insert(&mut fast, "fast", 1).await;
    fast.commit().await.unwrap();
    assert!(slow_position < fast_position);

    // A reader that ordered by position alone would deliver `fast` now and move past `slow`.
    drain(&stream, &mut checkpoint, &mut delivered).await;
    assert!(
        delivered.is_empty(),
        "nothing may be delivered while an older transaction is open"
    );
    let naive: Vec<i64> =
        sqlx::query_scalar("SELECT global_position FROM events ORDER BY global_position")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        naive,
        vec![fast_position],
        "the committed row is visible to a naive reader"
    );

    slow.commit().await.unwrap();
    drain_until(&stream, &mut checkpoint, &mut delivered, 2).await;

    let ids: Vec<&str> = delivered.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["slow", "fast"],
        "both, once each, in transaction order"
    );
    assert_eq!(
        stream.head().await.unwrap().map(|head| head >= checkpoint),
        Some(true)
    );
}

#[tokio::test]
async fn it_should_hold_back_events_until_an_older_open_transaction_ends_even_if_it_rolls_back() {
    let db = TestDatabase::fresh().await;
    let stream = GlobalStream::new(db.pool.clone());
    let mut first_conn = db.pool.acquire().await.unwrap();
    let mut second_conn = db.pool.acquire().await.unwrap();
    let mut delivered = Vec::new();
    let mut checkpoint = Position::START;

    let mut doomed = first_conn.begin().await.unwrap();
    insert(&mut doomed, "doomed", 1).await;
    let mut kept = second_conn.begin().await.unwrap();
    insert(&mut kept, "kept", 1).await;
    kept.commit().await.unwrap();
    drain(&stream, &mut checkpoint, &mut delivered).await;
    assert!(delivered.is_empty());

    doomed.rollback().await.unwrap();
    drain_until(&stream, &mut checkpoint, &mut delivered, 1).await;

    let ids: Vec<&str> = delivered.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(ids, vec!["kept"]);
}

async fn writer(pool: PgPool, writer: usize, aggregates: usize, events_each: i64) {
    for sequence in 1..=events_each {
        let mut conn = pool.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        for aggregate in 0..aggregates {
            insert(&mut tx, &format!("w{writer}-a{aggregate}"), sequence).await;
            // Hold the transaction open a little so commits interleave out of position order.
            if (sequence + aggregate as i64) % 3 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn it_should_deliver_every_event_of_concurrent_writers_exactly_once_and_in_aggregate_order() {
    let db = TestDatabase::fresh().await;
    let stream = GlobalStream::new(db.pool.clone());
    let (writers, aggregates, events_each) = (6, 3, 25);
    let handles: Vec<_> = (0..writers)
        .map(|w| tokio::spawn(writer(db.pool.clone(), w, aggregates, events_each)))
        .collect();

    let mut delivered = Vec::new();
    let mut checkpoint = Position::START;
    let expected = writers * aggregates * events_each as usize;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while delivered.len() < expected && tokio::time::Instant::now() < deadline {
        drain(&stream, &mut checkpoint, &mut delivered).await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for handle in handles {
        handle.await.unwrap();
    }
    drain_until(&stream, &mut checkpoint, &mut delivered, expected).await;

    assert_eq!(delivered.len(), expected);
    let unique: HashSet<i64> = delivered
        .iter()
        .map(|e| e.position.global_position)
        .collect();
    assert_eq!(unique.len(), expected, "no event delivered twice");
    assert!(
        delivered.windows(2).all(|w| w[0].position < w[1].position),
        "stream order is strictly increasing"
    );
    let mut last_sequence: HashMap<&str, i64> = HashMap::new();
    for event in &delivered {
        let last = last_sequence
            .entry(event.aggregate_id.as_str())
            .or_insert(0);
        assert_eq!(
            event.sequence,
            *last + 1,
            "per-aggregate order for {}",
            event.aggregate_id
        );
        *last = event.sequence;
    }
}

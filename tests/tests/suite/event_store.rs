//! The write path on the real PostgreSQL: append, load, cache, concurrency, metadata, upcasting.

use std::num::NonZeroUsize;
use std::sync::Arc;

use chrono::Utc;
use domain::business::{Business, BusinessCommand, BusinessError, RegisterBusiness};
use domain::call::{Call, CallCommand, IncomingCall};
use domain::routing::{Route, RouteReason};
use domain::values::{BusinessId, CallSid, CallerId, RingTimeout, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{AggregateStore, AppendSignal, StoreError};
use sqlx::PgPool;
use support::TestDatabase;
use uuid::Uuid;

fn meta(correlation: &str) -> CommandMetadata {
    CommandMetadata::new(correlation, "test:event_store", Actor::Cli, Utc::now())
}

fn cached_businesses(pool: &PgPool) -> AggregateStore<Business> {
    AggregateStore::new(pool.clone(), AppendSignal::new())
        .with_cache(NonZeroUsize::new(100).unwrap())
        .with_upcasters(domain::business::upcasters())
}

fn replaying_businesses(pool: &PgPool) -> AggregateStore<Business> {
    AggregateStore::new(pool.clone(), AppendSignal::new())
        .with_upcasters(domain::business::upcasters())
}

fn register(id: BusinessId) -> BusinessCommand {
    BusinessCommand::Register(RegisterBusiness {
        id,
        name: "Joe's Plumbing".into(),
        description: String::new(),
        owner_user_id: None,
        owner_phone: Some(E164::parse("+14155550100").unwrap()),
        timezone: chrono_tz::America::New_York,
    })
}

fn sid() -> CallSid {
    CallSid::parse(&format!("CA{}", Uuid::new_v4().simple())).unwrap()
}

#[tokio::test]
async fn it_should_append_events_with_the_four_metadata_keys_and_load_them_back() {
    let db = TestDatabase::fresh().await;
    let store = cached_businesses(&db.pool);
    let id = BusinessId(Uuid::new_v4());

    store
        .execute(&id.to_string(), register(id), &meta("req-1"))
        .await
        .unwrap();
    let committed = store
        .execute(
            &id.to_string(),
            BusinessCommand::SetOwnerAvailability { available: false },
            &meta("req-2"),
        )
        .await
        .unwrap();

    assert_eq!(committed.sequence, 2);
    assert!(!committed.aggregate.owner_available);
    let rows: Vec<(String, i64, serde_json::Value)> =
        sqlx::query_as("SELECT event_type, sequence, metadata FROM events WHERE aggregate_id = $1 ORDER BY sequence")
            .bind(id.to_string())
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "BusinessRegistered");
    assert_eq!(rows[1].0, "OwnerAvailabilityChanged");
    for (_, _, metadata) in &rows {
        for key in ["correlation_id", "causation", "actor", "received_at"] {
            assert!(metadata.get(key).is_some(), "{key} missing in {metadata}");
        }
        assert_eq!(metadata["actor"], "cli");
    }
    assert_eq!(rows[1].2["correlation_id"], "req-2");
    let replayed = replaying_businesses(&db.pool)
        .load(&id.to_string())
        .await
        .unwrap();
    assert_eq!(replayed.aggregate, committed.aggregate);
}

#[tokio::test]
async fn it_should_append_nothing_for_a_command_that_changes_nothing() {
    let db = TestDatabase::fresh().await;
    let store: AggregateStore<Call> = AggregateStore::new(db.pool.clone(), AppendSignal::new());
    let sid = sid();
    let receive = CallCommand::Receive {
        call: IncomingCall {
            call_sid: sid.clone(),
            from: CallerId::from_twilio("+14155550111"),
            to: "+14155550199".into(),
            business_id: None,
        },
        route: Route::Voicemail {
            why: RouteReason::NoOwnerPhone,
        },
    };

    let first = store
        .execute(sid.as_ref(), receive.clone(), &meta(sid.as_ref()))
        .await
        .unwrap();
    let retry = store
        .execute(sid.as_ref(), receive, &meta(sid.as_ref()))
        .await
        .unwrap();

    assert_eq!(first.events.len(), 2);
    assert!(retry.events.is_empty());
    assert_eq!(retry.sequence, 2);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn it_should_reject_a_command_without_appending_or_touching_the_cached_state() {
    let db = TestDatabase::fresh().await;
    let store = cached_businesses(&db.pool);
    let id = BusinessId(Uuid::new_v4());
    store
        .execute(&id.to_string(), register(id), &meta("r"))
        .await
        .unwrap();

    let rejected = store
        .execute(&id.to_string(), register(id), &meta("r"))
        .await;

    assert!(matches!(
        rejected,
        Err(StoreError::Rejected(BusinessError::AlreadyRegistered))
    ));
    let loaded = store.load(&id.to_string()).await.unwrap();
    assert_eq!(loaded.sequence, 1);
    assert_eq!(loaded.aggregate.name, "Joe's Plumbing");
}

#[tokio::test]
async fn it_should_keep_cached_and_replayed_state_equal_after_concurrent_appends_from_two_stores() {
    let db = TestDatabase::fresh().await;
    let node_a = Arc::new(cached_businesses(&db.pool));
    let node_b = Arc::new(cached_businesses(&db.another_pool().await));
    let id = BusinessId(Uuid::new_v4());
    node_a
        .execute(&id.to_string(), register(id), &meta("r"))
        .await
        .unwrap();
    // Both nodes hold the business in memory before the race starts.
    node_b.load(&id.to_string()).await.unwrap();

    let mut writers = Vec::new();
    // Two writers on each node: contended enough to need the locked path.
    for (node, offset) in [
        (node_a.clone(), 0u32),
        (node_b.clone(), 1u32),
        (node_a.clone(), 2u32),
        (node_b.clone(), 3u32),
    ] {
        writers.push(tokio::spawn(async move {
            for round in 0..40u32 {
                let command = match (round + offset) % 3 {
                    0 => BusinessCommand::SetOwnerAvailability {
                        available: round % 2 == 0,
                    },
                    1 => BusinessCommand::SetRingTimeout(
                        RingTimeout::from_secs(5 + (round + offset) % 50).unwrap(),
                    ),
                    _ => BusinessCommand::UpdateProfile {
                        name: format!("Joe's Plumbing {round}/{offset}"),
                        description: String::new(),
                    },
                };
                node.execute(&id.to_string(), command, &meta("race"))
                    .await
                    .unwrap();
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }

    let replayed = replaying_businesses(&db.pool)
        .load(&id.to_string())
        .await
        .unwrap();
    let from_a = node_a.load(&id.to_string()).await.unwrap();
    let from_b = node_b.load(&id.to_string()).await.unwrap();
    assert_eq!(from_a.sequence, replayed.sequence);
    assert_eq!(from_b.sequence, replayed.sequence);
    assert_eq!(from_a.aggregate, replayed.aggregate);
    assert_eq!(from_b.aggregate, replayed.aggregate);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1")
        .bind(id.to_string())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(usize::try_from(stored).unwrap(), replayed.sequence);
    let sequences: Vec<i64> =
        sqlx::query_scalar("SELECT sequence FROM events WHERE aggregate_id = $1 ORDER BY sequence")
            .bind(id.to_string())
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        sequences,
        (1..=stored).collect::<Vec<_>>(),
        "no gaps, no duplicates"
    );
}

#[tokio::test]
async fn it_should_read_a_stored_version_1_registration_as_today_s_event() {
    let db = TestDatabase::fresh().await;
    let id = BusinessId(Uuid::new_v4());
    let old_payload = serde_json::json!({
        "BusinessRegistered": {
            "id": id.to_string(),
            "name": "Old Shop",
            "description": "",
            "owner_user_id": null,
            "owner_phone": "+14155550100"
        }
    });
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('Business', $1, 1, 'BusinessRegistered', '1.0', $2, '{}')",
    )
    .bind(id.to_string())
    .bind(&old_payload)
    .execute(&db.pool)
    .await
    .unwrap();
    let store = cached_businesses(&db.pool);

    let loaded = store.load(&id.to_string()).await.unwrap();
    let committed = store
        .execute(
            &id.to_string(),
            BusinessCommand::SetOwnerAvailability { available: false },
            &meta("r"),
        )
        .await
        .unwrap();

    assert_eq!(loaded.aggregate.name, "Old Shop");
    assert_eq!(loaded.aggregate.timezone, chrono_tz::UTC);
    assert!(loaded.aggregate.active);
    assert_eq!(committed.sequence, 2);
    let without_upcaster: AggregateStore<Business> =
        AggregateStore::new(db.pool.clone(), AppendSignal::new());
    assert!(
        matches!(
            without_upcaster.load(&id.to_string()).await,
            Err(StoreError::Corrupt(_))
        ),
        "the old payload really is unreadable without its upcaster"
    );
}

#[tokio::test]
async fn it_should_refuse_to_change_or_delete_a_stored_event() {
    let db = TestDatabase::fresh().await;
    let store = cached_businesses(&db.pool);
    let id = BusinessId(Uuid::new_v4());
    store
        .execute(&id.to_string(), register(id), &meta("r"))
        .await
        .unwrap();

    let update = sqlx::query("UPDATE events SET payload = '{}'")
        .execute(&db.pool)
        .await;
    let delete = sqlx::query("DELETE FROM events").execute(&db.pool).await;

    assert!(update
        .unwrap_err()
        .to_string()
        .contains("events are immutable"));
    assert!(delete
        .unwrap_err()
        .to_string()
        .contains("events are immutable"));
}

#[tokio::test]
async fn it_should_report_the_store_unavailable_when_the_database_is_gone() {
    let db = TestDatabase::fresh().await;
    let store = cached_businesses(&db.pool);
    db.lose().await;
    let id = BusinessId(Uuid::new_v4());

    let outcome = store
        .execute(&id.to_string(), register(id), &meta("r"))
        .await;

    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "got {:?}",
        outcome.err()
    );
}

#[tokio::test]
async fn it_should_redecide_a_no_op_that_a_stale_cache_suggested() {
    let db = TestDatabase::fresh().await;
    let node_a = cached_businesses(&db.pool);
    let node_b = cached_businesses(&db.another_pool().await);
    let id = BusinessId(Uuid::new_v4());
    node_a
        .execute(&id.to_string(), register(id), &meta("r"))
        .await
        .unwrap();
    node_b
        .execute(
            &id.to_string(),
            BusinessCommand::SetOwnerAvailability { available: false },
            &meta("b"),
        )
        .await
        .unwrap();

    // Node A still holds "available": switching it on looks like a no-op there, but is not.
    let on = node_a
        .execute(
            &id.to_string(),
            BusinessCommand::SetOwnerAvailability { available: true },
            &meta("a"),
        )
        .await
        .unwrap();
    // Node B, which last saw "unavailable", switching it on after node A did: a real no-op.
    let on_again = node_b
        .execute(
            &id.to_string(),
            BusinessCommand::SetOwnerAvailability { available: true },
            &meta("b"),
        )
        .await
        .unwrap();

    assert_eq!(on.events.len(), 1, "decided again on the current state");
    assert_eq!(on.sequence, 3);
    assert!(on.aggregate.owner_available);
    assert!(on_again.events.is_empty());
    assert_eq!(on_again.sequence, 3);
}

#[tokio::test]
async fn it_should_reject_on_the_current_state_when_a_stale_cache_would_accept() {
    let db = TestDatabase::fresh().await;
    let node_a = cached_businesses(&db.pool);
    let node_b = cached_businesses(&db.another_pool().await);
    let id = BusinessId(Uuid::new_v4());
    node_a
        .execute(&id.to_string(), register(id), &meta("r"))
        .await
        .unwrap();
    node_b
        .execute(
            &id.to_string(),
            BusinessCommand::Deactivate {
                reason: "unpaid".into(),
            },
            &meta("b"),
        )
        .await
        .unwrap();

    let outcome = node_a
        .execute(
            &id.to_string(),
            BusinessCommand::SetRingTimeout(RingTimeout::from_secs(30).unwrap()),
            &meta("a"),
        )
        .await;

    assert!(matches!(
        outcome,
        Err(StoreError::Rejected(BusinessError::Deactivated))
    ));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(count, 2, "nothing appended for the stale decision");
}

#[tokio::test]
async fn it_should_treat_a_webhook_retried_on_another_node_as_the_same_call() {
    let db = TestDatabase::fresh().await;
    let node_a: AggregateStore<Call> = AggregateStore::new(db.pool.clone(), AppendSignal::new())
        .with_cache(NonZeroUsize::new(8).unwrap());
    let node_b: AggregateStore<Call> =
        AggregateStore::new(db.another_pool().await, AppendSignal::new())
            .with_cache(NonZeroUsize::new(8).unwrap());
    let sid = sid();
    let receive = CallCommand::Receive {
        call: IncomingCall {
            call_sid: sid.clone(),
            from: CallerId::Withheld,
            to: "+14155550199".into(),
            business_id: None,
        },
        route: Route::Voicemail {
            why: RouteReason::OwnerUnavailable,
        },
    };

    let first = node_a
        .execute(sid.as_ref(), receive.clone(), &meta(sid.as_ref()))
        .await
        .unwrap();
    let retried = node_b
        .execute(sid.as_ref(), receive, &meta(sid.as_ref()))
        .await
        .unwrap();

    assert_eq!(first.events.len(), 2);
    assert!(retried.events.is_empty());
    assert_eq!(retried.aggregate, first.aggregate);
}

#[tokio::test]
async fn it_should_carry_on_after_the_database_drops_every_connection() {
    let db = TestDatabase::fresh().await;
    let store = cached_businesses(&db.pool);
    let id = BusinessId(Uuid::new_v4());
    store
        .execute(&id.to_string(), register(id), &meta("r"))
        .await
        .unwrap();
    // Fill the pool with idle connections, then kill them all, as a database restart would.
    let held: Vec<_> = futures::future::join_all((0..5).map(|_| db.pool.acquire())).await;
    drop(held);
    let killer = db.another_pool().await;
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
    )
    .fetch_one(&killer)
    .await
    .unwrap();
    assert!(killed >= 5, "killed {killed}");

    let outcome = store
        .execute(
            &id.to_string(),
            BusinessCommand::SetOwnerAvailability { available: false },
            &meta("after"),
        )
        .await;

    assert!(outcome.is_ok(), "{:?}", outcome.err());
    assert_eq!(outcome.unwrap().sequence, 2);
}

#[tokio::test]
async fn it_should_have_the_server_end_a_transaction_left_idle_by_a_cancelled_task() {
    // A task cancelled inside a transaction can leave it open on a pooled connection; it would
    // hold its locks and every reader of the global stream behind it. The pool's sessions are
    // ended by the server after 10 s idle in a transaction.
    let db = TestDatabase::fresh().await;
    let pool = infrastructure::db::connect(&db.url).await.unwrap();
    let mut leaked = pool.acquire().await.unwrap();
    sqlx::query("BEGIN").execute(&mut *leaked).await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(42)")
        .execute(&mut *leaked)
        .await
        .unwrap();

    tokio::time::sleep(std::time::Duration::from_secs(12)).await;

    assert!(
        sqlx::query("SELECT 1").execute(&mut *leaked).await.is_err(),
        "the idle transaction's session is gone"
    );
    let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(42)")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(free, "its lock went with it");
}

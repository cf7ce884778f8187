//! A notifier that starts on a database with history: it tells of what happens from then on,
//! never of the calls before it (no flood of texts when notifications are turned on), and a
//! second notifier on the same database tells each happening once.

use std::sync::Arc;

use domain::call::IncomingCall;
use domain::routing::{Route, RouteReason};
use domain::values::{BusinessId, CallSid, CallerId, E164};
use infrastructure::event_store::{AppendSignal, GlobalStream, Stores};
use infrastructure::twilio::rest::TwilioClient;
use support::{new_call_sid, seed, SeedBusiness, Seeded, TestDatabase};

use super::*;

/// A call the agent takes a message on, written as the webhooks and the bridge write it.
async fn message_call(stores: &Stores, business: BusinessId, number: &str) -> String {
    let sid = new_call_sid();
    let meta = CommandMetadata::new(sid.clone(), "test:history", Actor::Twilio, Utc::now());
    let commands = CallCommand::Batch(vec![
        CallCommand::Receive {
            call: IncomingCall {
                call_sid: CallSid::parse(&sid).unwrap(),
                from: CallerId::Number(E164::parse(CALLER).unwrap()),
                to: number.to_owned(),
                business_id: Some(business),
            },
            route: Route::AiAgent {
                why: RouteReason::OwnerUnavailable,
            },
        },
        CallCommand::StartAiSession {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
        },
        CallCommand::TakeMessage {
            caller_name: None,
            callback_number: None,
            message: MESSAGE.into(),
            urgency: Urgency::Normal,
        },
    ]);
    stores.calls.execute(&sid, commands, &meta).await.unwrap();
    sid
}

fn notifier(db: &TestDatabase, stores: Arc<Stores>, twilio: &MockServer) -> Notifier {
    let base = url::Url::parse(&twilio.uri()).unwrap();
    let client = TwilioClient::new(
        &base,
        TEST_ACCOUNT_SID,
        support::TEST_AUTH_TOKEN.to_owned().into(),
        Duration::from_secs(5),
    )
    .unwrap();
    Notifier::new(db.pool.clone(), stores)
        .with_sms(client)
        .with_privacy(support::personal_data(&db.pool))
        .with_policy(fast())
}

/// A fresh database with one business, and a Twilio that accepts every text.
async fn with_a_business() -> (TestDatabase, MockServer, Arc<Stores>, Seeded) {
    let db = TestDatabase::fresh().await;
    let twilio = MockServer::start().await;
    twilio_accepts(&twilio).await;
    let stores = Arc::new(
        Stores::new(&db.pool, AppendSignal::new()).with_privacy(support::personal_data(&db.pool)),
    );
    let seeded = seed(&stores, SeedBusiness::default()).await;
    (db, twilio, stores, seeded)
}

/// The texts sent, once the first has come and a while has passed for any more.
async fn texts_once_the_first_came(twilio: &MockServer) -> Vec<Vec<(String, String)>> {
    let start = Instant::now();
    while texts(twilio).await.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no text for the new call"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    texts(twilio).await
}

/// The calls an owner was notified of, in stream order.
async fn notified_calls(db: &TestDatabase) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT aggregate_id FROM events WHERE event_type = 'OwnerNotified' ORDER BY global_position",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn it_should_tell_of_what_happens_after_it_started_and_nothing_before() {
    let (db, twilio, stores, seeded) = with_a_business().await;
    let before = message_call(&stores, seeded.business_id, &seeded.number).await;

    // Two nodes start notifying.
    let first = tokio::spawn(notifier(&db, stores.clone(), &twilio).run());
    let second = tokio::spawn(notifier(&db, stores.clone(), &twilio).run());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = message_call(&stores, seeded.business_id, &seeded.number).await;

    let texts = texts_once_the_first_came(&twilio).await;
    assert_eq!(texts.len(), 1, "the new call, once: {texts:?}");
    let notified = notified_calls(&db).await;
    assert_eq!(notified, vec![after.clone()]);
    assert_ne!(before, after);
    first.abort();
    second.abort();
}

/// Any writing transaction still open on the database server holds back where readers can
/// read up to; the notifier must still start after every call committed before it started.
#[tokio::test]
async fn it_should_start_after_the_calls_before_it_while_an_older_transaction_is_open() {
    let (db, twilio, stores, seeded) = with_a_business().await;
    let mut open = db.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *open)
        .await
        .unwrap();
    let before = message_call(&stores, seeded.business_id, &seeded.number).await;
    let head = GlobalStream::new(db.pool.clone()).head().await.unwrap();
    let end = GlobalStream::new(db.pool.clone()).end().await.unwrap();
    assert!(
        head < end,
        "the open transaction holds the readable head back"
    );

    let notifier = tokio::spawn(notifier(&db, stores.clone(), &twilio).run());
    tokio::time::sleep(Duration::from_millis(500)).await;
    open.rollback().await.unwrap();
    let after = message_call(&stores, seeded.business_id, &seeded.number).await;

    let texts = texts_once_the_first_came(&twilio).await;
    let notified = notified_calls(&db).await;
    assert_eq!(notified, vec![after.clone()], "not {before}");
    assert_eq!(texts.len(), 1);
    notifier.abort();
}

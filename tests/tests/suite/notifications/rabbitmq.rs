//! With `AMQP_URL` set, the notifier hears of happenings from RabbitMQ: the relay publishes
//! the call's events, the notifier's queue receives them, and a message the broker delivers
//! twice is still told once.

use lapin::options::{BasicPublishOptions, QueuePurgeOptions};
use lapin::{BasicProperties, Connection, ConnectionProperties};

use super::*;

#[tokio::test]
async fn it_should_notify_from_rabbitmq_once_even_when_a_message_comes_twice() {
    let amqp = support::amqp_url();
    let h = harness(&[("AMQP_URL", amqp.as_str())]).await;
    twilio_accepts(&h.twilio).await;

    let sid = message_taken(&h, Urgency::Normal).await;
    wait_for_events(&h.app, &sid, "OwnerNotified", 2).await;
    assert_eq!(texts(&h.twilio).await.len(), 1);
    let message_taken_position: i64 = sqlx::query_scalar(
        "SELECT global_position FROM events WHERE aggregate_id = $1 AND event_type = 'MessageTaken'",
    )
    .bind(&sid)
    .fetch_one(&h.app.db.pool)
    .await
    .unwrap();

    // The broker delivers the same event again (as after a lost acknowledgement).
    let connection = Connection::connect(&amqp, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let again = json!({
        "global_position": message_taken_position, "transaction_id": 1,
        "aggregate_type": "Call", "aggregate_id": sid, "sequence": 5,
        "event_type": "MessageTaken", "event_version": "1.0",
        "payload": {}, "metadata": {"received_at": Utc::now().to_rfc3339()}
    });
    channel
        .basic_publish(
            "callassist.events".into(),
            "Call.MessageTaken".into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(&again).unwrap(),
            BasicProperties::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(texts(&h.twilio).await.len(), 1, "told once");
    assert_eq!(notification_events(&h.app, &sid).await.len(), 2);
    let _ = channel
        .queue_purge(
            "callassist.notifications".into(),
            QueuePurgeOptions::default(),
        )
        .await;
}

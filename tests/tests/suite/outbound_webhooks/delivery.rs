//! Every chosen event arrives, signed, exactly once after deduplication, with the same
//! `webhook-id` on every retry; nothing else arrives; a failing endpoint ends `failed` and
//! "send again" delivers it.

use std::collections::HashSet;
use std::time::Duration;

use super::receiver::{quiet, Behaviour, Receiver};
use super::{call_with_message, policy, register, settled, spawn};
use support::calls::owned_business;

#[tokio::test]
async fn it_should_deliver_every_chosen_event_once_after_retries_and_nothing_else() {
    let app = spawn(policy(4, Duration::from_millis(200))).await;
    let receiver = Receiver::start().await;
    let (owner, other_owner) = (app.owner().await, app.owner().await);
    let ours = owned_business(&app, &owner, "Joe's Plumbing", false, chrono_tz::UTC).await;
    let theirs = owned_business(&app, &other_owner, "Ann's Bakery", false, chrono_tz::UTC).await;
    // Every message: the first try hangs past the timeout, the second gets 503, the third goes.
    receiver.behave(
        "/all",
        Behaviour {
            fail_first: 2,
            hang_first: true,
            always_fail: false,
        },
    );
    let all = register(
        &app,
        &owner,
        &ours.business_id,
        &receiver.url("/all"),
        &["call.ended", "message.taken", "call.summarized"],
    )
    .await;
    let ended_only = register(
        &app,
        &owner,
        &ours.business_id,
        &receiver.url("/ended"),
        &["call.ended"],
    )
    .await;
    let other = register(
        &app,
        &other_owner,
        &theirs.business_id,
        &receiver.url("/other"),
        &["call.ended", "message.taken", "call.summarized"],
    )
    .await;
    for (path, endpoint) in [("/all", &all), ("/ended", &ended_only), ("/other", &other)] {
        receiver.trust(path, endpoint["secret"].as_str().unwrap());
    }

    let our_call = call_with_message(&app, &ours.number, "Ann's sink leaks.").await;
    let their_call = call_with_message(&app, &theirs.number, "Flour order.").await;

    let all_id = all["id"].as_str().unwrap();
    let log = settled(&app, &owner, &ours.business_id, all_id, 3, "delivered").await;
    let ended_id = ended_only["id"].as_str().unwrap();
    let ended_log = settled(&app, &owner, &ours.business_id, ended_id, 1, "delivered").await;
    settled(
        &app,
        &other_owner,
        &theirs.business_id,
        other["id"].as_str().unwrap(),
        3,
        "delivered",
    )
    .await;
    quiet().await;

    assert!(
        receiver.unverified().is_empty(),
        "{:?}",
        receiver.unverified()
    );
    // Three messages, each tried three times with the same id, kept once.
    let received = receiver.received("/all");
    assert_eq!(received.len(), 9, "{received:#?}");
    let kept = receiver.deduplicated("/all");
    assert_eq!(kept.len(), 3);
    for id in kept.keys() {
        let tries: Vec<u16> = received
            .iter()
            .filter(|r| &r.webhook_id == id)
            .map(|r| r.answered)
            .collect();
        assert_eq!(tries, vec![0, 503, 204], "{id}");
        assert!(id.starts_with("msg_"), "{id}");
    }
    let types: HashSet<&str> = kept.values().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        HashSet::from(["call.ended", "message.taken", "call.summarized"])
    );
    for body in kept.values() {
        assert_eq!(body["data"]["call_sid"], our_call.as_str());
        assert_eq!(body["data"]["business_id"], ours.business_id.as_str());
        assert_eq!(body["data"]["from"], support::calls::CALLER);
        assert!(body["timestamp"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .is_ok());
        match body["type"].as_str().unwrap() {
            "call.ended" => {
                assert_eq!(body["data"]["status"], "completed");
                assert_eq!(body["data"]["duration_secs"], 73);
            }
            "message.taken" => {
                assert_eq!(
                    body["data"]["message"],
                    "Kitchen sink leaks; call back today."
                );
                assert_eq!(body["data"]["caller_name"], "Ann Baker");
                assert_eq!(body["data"]["urgency"], "high");
            }
            _ => assert_eq!(body["data"]["summary"], "Ann's sink leaks."),
        }
    }
    // The log tells the same story: three tries each, the payload as sent.
    for delivery in &log {
        assert_eq!(delivery["attempts"], 3);
        let tries = delivery["tries"].as_array().unwrap();
        assert_eq!(tries.len(), 3);
        assert_eq!(tries[0]["status_code"], serde_json::Value::Null);
        assert!(
            tries[0]["error"].as_str().unwrap().contains("in time"),
            "{tries:?}"
        );
        assert_eq!(tries[1]["status_code"], 503);
        assert_eq!(tries[2]["status_code"], 204);
        assert_eq!(tries[2]["error"], serde_json::Value::Null);
        let id = delivery["webhook_id"].as_str().unwrap();
        assert_eq!(&delivery["payload"], &kept[id]);
    }
    // The other endpoint did not wait for the one that hangs.
    let at = |field: &str| {
        ended_log[0][field]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let waited = (at("delivered_at") - at("created_at")).to_std().unwrap();
    assert!(waited < super::TIMEOUT, "waited {waited:?}");
    // Only the type it chose, once; and no business sees another's calls.
    let ended = receiver.received("/ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].body["type"], "call.ended");
    assert_eq!(ended[0].body["data"]["call_sid"], our_call.as_str());
    let others = receiver.deduplicated("/other");
    assert_eq!(others.len(), 3);
    assert!(others
        .values()
        .all(|b| b["data"]["call_sid"] == their_call.as_str()));
    // Both businesses' endpoints got the same message id for the same event of their own call
    // only: ids never cross.
    assert!(receiver.ids("/other").is_disjoint(&receiver.ids("/all")));
}

#[tokio::test]
async fn it_should_mark_a_delivery_failed_after_the_schedule_and_send_it_again_on_request() {
    let app = spawn(policy(3, Duration::from_millis(150))).await;
    let receiver = Receiver::start().await;
    let owner = app.owner().await;
    let ours = owned_business(&app, &owner, "Joe's Plumbing", false, chrono_tz::UTC).await;
    receiver.behave(
        "/down",
        Behaviour {
            always_fail: true,
            ..Behaviour::default()
        },
    );
    let endpoint = register(
        &app,
        &owner,
        &ours.business_id,
        &receiver.url("/down"),
        &["call.ended"],
    )
    .await;
    receiver.trust("/down", endpoint["secret"].as_str().unwrap());
    let endpoint_id = endpoint["id"].as_str().unwrap();

    let sid = support::calls::incoming(&app, &ours.number).await;
    support::calls::completed(&app, &sid, &ours.number, "12").await;
    // Registered after the call ended: it never hears of it.
    let late = register(
        &app,
        &owner,
        &ours.business_id,
        &receiver.url("/late"),
        &["call.ended"],
    )
    .await;

    let log = settled(&app, &owner, &ours.business_id, endpoint_id, 1, "failed").await;
    let failed = &log[0];
    assert_eq!(failed["attempts"], 3);
    assert_eq!(failed["last_status_code"], 500);
    assert!(
        failed["last_error"].as_str().unwrap().contains("500"),
        "{failed}"
    );
    assert_eq!(failed["tries"].as_array().unwrap().len(), 3);
    quiet().await;
    assert_eq!(
        receiver.received("/down").len(),
        3,
        "no try after giving up"
    );

    receiver.behave("/down", Behaviour::default());
    let delivery_id = failed["id"].as_str().unwrap();
    let resent = app
        .api(
            reqwest::Method::POST,
            &format!(
                "/api/v1/businesses/{}/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend",
                ours.business_id
            ),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(resent.status(), 202);
    let resent: serde_json::Value = resent.json().await.unwrap();
    assert_eq!(resent["status"], "pending");
    assert_eq!(resent["webhook_id"], failed["webhook_id"]);

    let log = settled(&app, &owner, &ours.business_id, endpoint_id, 1, "delivered").await;
    let tries = log[0]["tries"].as_array().unwrap();
    let series: Vec<i64> = tries
        .iter()
        .map(|t| t["series"].as_i64().unwrap())
        .collect();
    assert_eq!(series, vec![1, 1, 1, 2]);
    assert_eq!(log[0]["attempts"], 1);
    let received = receiver.received("/down");
    assert_eq!(received.len(), 4);
    assert!(received
        .iter()
        .all(|r| r.webhook_id == failed["webhook_id"].as_str().unwrap() && r.verified));
    assert_eq!(receiver.deduplicated("/down").len(), 1);
    let late_id = late["id"].as_str().unwrap();
    assert!(super::deliveries(&app, &owner, &ours.business_id, late_id)
        .await
        .is_empty());
    assert!(receiver.received("/late").is_empty());
    assert_eq!(
        receiver.deduplicated("/down")[failed["webhook_id"].as_str().unwrap()]["data"]["call_sid"],
        sid.as_str()
    );
}

#[tokio::test]
async fn it_should_erase_a_callers_data_from_the_delivery_log() {
    let app = spawn(policy(2, Duration::from_millis(150))).await;
    let receiver = Receiver::start().await;
    let owner = app.owner().await;
    let ours = owned_business(&app, &owner, "Joe's Plumbing", false, chrono_tz::UTC).await;
    let endpoint = register(
        &app,
        &owner,
        &ours.business_id,
        &receiver.url("/crm"),
        &["message.taken", "call.ended"],
    )
    .await;
    receiver.trust("/crm", endpoint["secret"].as_str().unwrap());
    let endpoint_id = endpoint["id"].as_str().unwrap();
    let sid = call_with_message(&app, &ours.number, "Ann's sink leaks.").await;
    let kept = settled(&app, &owner, &ours.business_id, endpoint_id, 2, "delivered").await;
    assert!(kept
        .iter()
        .any(|d| d["payload"]["data"]["message"] == "Kitchen sink leaks; call back today."));

    let erased =
        infrastructure::webhooks::erase::erase_calls(&app.db.pool, std::slice::from_ref(&sid))
            .await
            .unwrap();

    assert_eq!(erased, 2);
    let log = settled(&app, &owner, &ours.business_id, endpoint_id, 2, "delivered").await;
    for delivery in &log {
        let data = &delivery["payload"]["data"];
        assert_eq!(data["call_sid"], sid.as_str());
        assert_eq!(data["from"], "[erased]");
        match delivery["event_type"].as_str().unwrap() {
            "message.taken" => {
                assert_eq!(data["message"], "[erased]");
                assert_eq!(data["caller_name"], "[erased]");
                assert_eq!(data["urgency"], "high");
            }
            _ => assert_eq!(data["duration_secs"], 73),
        }
    }
}

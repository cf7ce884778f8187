//! The webhooks page of the dashboard: add an endpoint (its secret shown once), read the
//! delivery log, send a failed delivery again; refused input and other owners.

use std::time::Duration;

use support::calls::owned_business;
use support::pages::PageClient;
use support::TEST_PASSWORD;

use super::receiver::{Behaviour, Receiver};
use super::{policy, settled, spawn};

#[tokio::test]
async fn it_should_add_an_endpoint_show_its_log_and_send_a_failed_delivery_again() {
    let app = spawn(policy(2, Duration::from_millis(150))).await;
    let receiver = Receiver::start().await;
    let owner = app.owner().await;
    let ours = owned_business(&app, &owner, "Joe's Plumbing", false, chrono_tz::UTC).await;
    let browser = PageClient::new(&app.address);
    browser.log_in(&owner.email, TEST_PASSWORD).await;
    let page_path = format!("/dashboard/businesses/{}/webhooks", ours.business_id);

    let settings = browser
        .get(&format!("/dashboard/businesses/{}", ours.business_id))
        .await;
    assert!(
        settings.body.contains(&page_path),
        "the settings page links to the webhooks"
    );
    let empty = browser.get(&page_path).await;
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("No endpoints yet."));

    let refused = browser
        .post_form(
            &page_path,
            &[
                ("url", "http://10.0.0.1/hook"),
                ("event_types", "call.ended"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("webhook-error"), "{}", refused.body);
    assert!(
        refused.body.contains("http://10.0.0.1/hook"),
        "what was typed stays"
    );

    receiver.behave(
        "/crm",
        Behaviour {
            always_fail: true,
            ..Behaviour::default()
        },
    );
    let added = browser
        .post_form(
            &page_path,
            &[
                ("url", &receiver.url("/crm")),
                ("event_types", "call.ended"),
                ("event_types", "message.taken"),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let secret = added
        .body
        .split("value=\"")
        .find_map(|rest| {
            rest.starts_with("whsec_")
                .then(|| rest.split('"').next().unwrap().to_owned())
        })
        .expect("the secret is on the page");
    receiver.trust("/crm", &secret);
    let listed = browser.get(&page_path).await;
    assert!(listed.body.contains(&receiver.url("/crm")));
    assert!(listed.body.contains("call.ended, message.taken"));
    assert!(!listed.body.contains(&secret), "the secret is shown once");

    let sid = support::calls::incoming(&app, &ours.number).await;
    support::calls::completed(&app, &sid, &ours.number, "9").await;
    let endpoint: String = sqlx::query_scalar("SELECT id::text FROM webhook_endpoints")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let log = settled(&app, &owner, &ours.business_id, &endpoint, 1, "failed").await;
    let delivery = log[0]["id"].as_str().unwrap();
    let page = browser.get(&page_path).await;
    assert!(
        page.body.contains(&format!("resend-{delivery}")),
        "{}",
        page.body
    );
    assert!(page.body.contains("failed"));
    assert!(page.body.contains("500"));

    receiver.behave("/crm", Behaviour::default());
    let resent = browser
        .post_form(
            &format!("{page_path}/{endpoint}/deliveries/{delivery}/resend"),
            &[],
        )
        .await;
    assert_eq!(resent.status, 303);
    assert!(resent
        .location()
        .starts_with(&format!("{page_path}?saved=resent")));
    settled(&app, &owner, &ours.business_id, &endpoint, 1, "delivered").await;
    let page = browser.get(&page_path).await;
    assert!(page.body.contains("delivered"));
    assert_eq!(receiver.deduplicated("/crm").len(), 1);

    let deleted = browser
        .post_form(&format!("{page_path}/{endpoint}/delete"), &[])
        .await;
    assert_eq!(deleted.status, 303);
    assert!(browser
        .get(&page_path)
        .await
        .body
        .contains("No endpoints yet."));
}

#[tokio::test]
async fn it_should_not_show_another_owners_webhooks_nor_take_forms_without_csrf() {
    let app = spawn(policy(2, Duration::from_millis(150))).await;
    let owner = app.owner().await;
    let ours = owned_business(&app, &owner, "Joe's Plumbing", false, chrono_tz::UTC).await;
    let stranger = app.owner().await;
    let browser = PageClient::new(&app.address);
    browser.log_in(&stranger.email, TEST_PASSWORD).await;
    let page_path = format!("/dashboard/businesses/{}/webhooks", ours.business_id);
    assert_eq!(browser.get(&page_path).await.status, 404);
    let added = browser
        .post_form(
            &page_path,
            &[
                ("url", "https://crm.example.com/h"),
                ("event_types", "call.ended"),
            ],
        )
        .await;
    assert_eq!(added.status, 404);
    let forged = browser
        .post_raw_form(
            &page_path,
            &[
                ("url".into(), "https://crm.example.com/h".into()),
                ("event_types".into(), "call.ended".into()),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

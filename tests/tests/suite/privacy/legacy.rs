//! Calls stored before encryption: read as they are, blanked in the read model on erasure.

use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use support::calls::owned_business;
use support::TestApp;

use super::{api_view, assert_gone, assert_kept, call_json, raw_events, read_model, record_call};

#[tokio::test]
async fn it_should_read_calls_stored_before_encryption_and_blank_them_in_the_read_model_on_erasure()
{
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.owner().await;
    let business = owned_business(&app, &owner, "Legacy Locksmiths", false, chrono_tz::UTC).await;
    // A write side without personal data keys writes as every node did before encryption.
    let legacy = infrastructure::event_store::Stores::new(
        &app.db.pool,
        infrastructure::event_store::AppendSignal::new(),
    );
    let x = record_call(
        &legacy,
        &business.business_id,
        "+14155550777",
        "XLEGACY",
        Utc::now(),
    )
    .await;
    assert!(
        raw_events(&app).await.contains("XLEGACY words"),
        "stored plain"
    );
    app.projections_caught_up().await;
    assert_kept(&api_view(&app, &admin.token, &x).await, &x, "the API");

    let erased = app
        .api(
            Method::POST,
            "/api/v1/admin/privacy/erasures",
            Some(&admin.token),
            Some(json!({"business_id": business.business_id, "caller": x.caller})),
        )
        .await;

    assert_eq!(erased.status(), 200);
    let erased: Value = erased.json().await.unwrap();
    assert_eq!(
        (erased["calls"].clone(), erased["keys"].clone()),
        (json!(1), json!(0))
    );
    app.projections_caught_up().await;
    assert_gone(&read_model(&app).await, &x, "the read model");
    for part in ["", "/timeline"] {
        let shown = call_json(&app, &admin.token, &x.call_sid, part).await;
        assert_gone(&shown, &x, "the API's read of the read model");
    }
    // The events themselves keep the text: there is no key to destroy (docs/privacy.md).
    let history = call_json(&app, &admin.token, &x.call_sid, "/history").await;
    assert!(history.contains("XLEGACY words"));
}

//! Retention: the daily job erases the calls older than a business keeps them.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;
use support::calls::owned_business;
use support::{personal_data, TestApp};

use super::{digits, raw_events, read_model, record_call};

#[tokio::test]
async fn it_should_erase_calls_older_than_the_retention_period_and_keep_newer_ones() {
    // Arrange: a business that keeps 30 days, a call of 40 days ago and one of today.
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let other = app.owner().await;
    let business = owned_business(&app, &owner, "Retention Roofing", false, chrono_tz::UTC).await;
    let path = format!("/api/v1/businesses/{}/retention", business.business_id);
    let set = |token: String, days: serde_json::Value| {
        let app = &app;
        let path = path.clone();
        async move {
            app.api(
                Method::PUT,
                &path,
                Some(&token),
                Some(json!({ "days": days })),
            )
            .await
        }
    };
    assert_eq!(set(other.token.clone(), json!(30)).await.status(), 404);
    assert_eq!(set(owner.token.clone(), json!(0)).await.status(), 400);
    let response = set(owner.token.clone(), json!(30)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        json!({"days": 30})
    );
    let stores = app.stores();
    let now = Utc::now();
    let old = record_call(
        &stores,
        &business.business_id,
        "+14155550777",
        "OLDCALL",
        now - Duration::days(40),
    )
    .await;
    let new = record_call(
        &stores,
        &business.business_id,
        "+14155550777",
        "NEWCALL",
        now,
    )
    .await;
    let privacy = personal_data(&app.db.pool);

    // Act: the job sweeps, its clock saying it is now; then again 31 days later.
    let swept = api::privacy_cmd::retention::sweep(&app.db.pool, &stores, &privacy, None, now)
        .await
        .unwrap();

    // Assert: only the old call lost its data.
    assert_eq!((swept.calls, swept.keys), (1, 1));
    app.projections_caught_up().await;
    let live = read_model(&app).await;
    assert!(!live.contains(&old.marker), "{live}");
    assert!(live.contains(&new.marker));
    assert!(live.contains(digits(&new.caller)));
    let (event_type, payload, _) = app.events_of(&business.business_id).await.pop().unwrap();
    assert_eq!(event_type, "CallerDataErased");
    assert_eq!(
        payload["CallerDataErased"],
        json!({"calls": [old.call_sid], "reason": {"kind": "retention", "days": 30}})
    );
    let again = api::privacy_cmd::retention::sweep(&app.db.pool, &stores, &privacy, None, now)
        .await
        .unwrap();
    assert_eq!(again.calls, 0, "nothing left to erase");

    let later = api::privacy_cmd::retention::sweep(
        &app.db.pool,
        &stores,
        &privacy,
        None,
        now + Duration::days(31),
    )
    .await
    .unwrap();
    assert_eq!(later.calls, 1);
    app.projections_caught_up().await;
    let live = read_model(&app).await;
    assert!(!live.contains(&new.marker), "{live}");
    assert!(!raw_events(&app).await.contains("NEWCALL"));

    // Without a retention period nothing is swept.
    assert_eq!(set(owner.token.clone(), json!(null)).await.status(), 200);
    let none = api::privacy_cmd::retention::sweep(
        &app.db.pool,
        &stores,
        &privacy,
        None,
        now + Duration::days(400),
    )
    .await
    .unwrap();
    assert_eq!(none.businesses, 0);
}

//! Erasing one caller: through the admin API and through the CLI's function.

use chrono::Utc;
use domain::values::{BusinessId, CallSid, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::audit;
use projections::calls::CallsProjection;
use reqwest::Method;
use serde_json::{json, Value};
use support::calls::owned_business;
use support::{personal_data, TestApp};

use super::{
    api_view, assert_gone, assert_kept, call_json, deleted_recordings, raw_events, read_model,
    record_call, twilio_deleting_recordings, Conversation, ERASED,
};

#[tokio::test]
async fn it_should_store_personal_data_sealed_and_erase_one_caller_everywhere_on_an_admins_request()
{
    // Arrange: two callers of one business, each with every kind of personal data.
    let twilio = twilio_deleting_recordings().await;
    let app = TestApp::spawn_with(&[("TWILIO_API_BASE", &twilio.uri())]).await;
    let admin = app.admin().await;
    let owner = app.owner().await;
    let business = owned_business(&app, &owner, "Privacy Plumbing", false, chrono_tz::UTC).await;
    let stores = app.stores();
    let x = record_call(
        &stores,
        &business.business_id,
        "+14155550777",
        "XSECRET",
        Utc::now(),
    )
    .await;
    let y = record_call(
        &stores,
        &business.business_id,
        "+14155550888",
        "YKEEP",
        Utc::now(),
    )
    .await;
    app.projections_caught_up().await;

    // The event store holds neither caller's data in clear; readers see it opened.
    let raw = raw_events(&app).await;
    assert_gone(&raw, &x, "the events table");
    assert_gone(&raw, &y, "the events table");
    assert!(raw.contains("\"pd1:"), "nothing sealed: {raw}");
    assert_kept(
        &api_view(&app, &admin.token, &x).await,
        &x,
        "the API before erasure",
    );
    let (_, _, metadata) = app.events_of(&x.call_sid).await.remove(0);
    assert_eq!(metadata["From"], x.caller.as_str());
    assert_eq!(metadata["CallerName"], "XSECRET Name");
    let events_of_x = app.event_types_of(&x.call_sid).await.len();
    let recording = |call: &Conversation| {
        let path = format!("/api/v1/calls/{}/recording", call.call_sid);
        let app = &app;
        let token = admin.token.clone();
        async move {
            app.api(Method::GET, &path, Some(&token), None)
                .await
                .status()
        }
    };
    assert_eq!(
        recording(&x).await,
        200,
        "the recording is served before erasure"
    );

    // An owner may not erase.
    let body = json!({"business_id": business.business_id, "caller": x.caller});
    let refused = app
        .api(
            Method::POST,
            "/api/v1/admin/privacy/erasures",
            Some(&owner.token),
            Some(body.clone()),
        )
        .await;
    assert_eq!(refused.status(), 403);
    let malformed = app
        .api(
            Method::POST,
            "/api/v1/admin/privacy/erasures",
            Some(&admin.token),
            Some(json!({"business_id": business.business_id, "caller": "not a number"})),
        )
        .await;
    assert_eq!(malformed.status(), 400);

    // Act: the admin erases X.
    let erased = app
        .api(
            Method::POST,
            "/api/v1/admin/privacy/erasures",
            Some(&admin.token),
            Some(body),
        )
        .await;
    assert_eq!(erased.status(), 200);
    let erased: Value = erased.json().await.unwrap();
    assert_eq!(erased["calls"], 1);
    assert_eq!(erased["keys"], 1);
    assert_eq!(erased["recordings_deleted"], 2);
    assert_eq!(erased["recordings_left"], json!([]));
    assert_eq!(deleted_recordings(&twilio).await, x.recordings);
    app.projections_caught_up().await;

    // Assert: the live read model and the API lost X's data and kept Y's.
    let x_view = api_view(&app, &admin.token, &x).await;
    assert_gone(&x_view, &x, "the API after erasure");
    assert!(x_view.contains(ERASED), "{x_view}");
    assert_kept(&api_view(&app, &admin.token, &y).await, &y, "the API (Y)");
    assert_eq!(
        recording(&x).await,
        404,
        "an erased caller's recording is not served"
    );
    assert_eq!(recording(&y).await, 200);
    let list = app
        .api(Method::GET, "/api/v1/calls", Some(&admin.token), None)
        .await
        .text()
        .await
        .unwrap();
    assert_gone(&list, &x, "the calls list");
    assert!(list.contains(&y.caller), "{list}");
    let live = read_model(&app).await;
    assert_gone(&live, &x, "the live read model");
    assert_kept(&live, &y, "the live read model");

    // Every event of X still replays, in the API's history and the CLI's audit.
    let history: Value =
        serde_json::from_str(&call_json(&app, &admin.token, &x.call_sid, "/history").await)
            .unwrap();
    assert_eq!(history["entries"].as_array().unwrap().len(), events_of_x);
    let privacy = personal_data(&app.db.pool);
    let audited = audit::call_history(
        &app.db.pool,
        Some(&privacy),
        &CallSid::parse(&x.call_sid).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(audited.entries.len(), events_of_x);
    let text = audit::render_text(&audited);
    assert_gone(&text, &x, "the audit");
    assert!(text.contains(ERASED), "{text}");

    // A rebuild from the event store reaches the same result: the keys are gone.
    projections::runtime::rebuild_opened(
        &app.db.pool,
        Some(&privacy),
        &CallsProjection,
        &|_, _| {},
    )
    .await
    .unwrap();
    let rebuilt = read_model(&app).await;
    assert_gone(&rebuilt, &x, "the rebuilt read model");
    assert_kept(&rebuilt, &y, "the rebuilt read model");
    assert!(rebuilt.contains(ERASED));
    assert_gone(
        &raw_events(&app).await,
        &x,
        "the events table after erasure",
    );

    // The erasure is an event of the business, which names the call but not the caller.
    let business_events = app.events_of(&business.business_id).await;
    let (event_type, payload, _) = business_events.last().unwrap();
    assert_eq!(event_type, "CallerDataErased");
    assert_eq!(
        payload["CallerDataErased"],
        json!({"calls": [x.call_sid], "reason": {"kind": "request"}})
    );
}

#[tokio::test]
async fn it_should_erase_a_caller_from_the_command_line_function_and_keep_later_data_out() {
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let business = owned_business(&app, &owner, "Privacy Bakery", false, chrono_tz::UTC).await;
    let stores = app.stores();
    let x = record_call(
        &stores,
        &business.business_id,
        "+14155550777",
        "XSECRET",
        Utc::now(),
    )
    .await;
    let privacy = personal_data(&app.db.pool);
    let metadata = CommandMetadata::new("t", "cli:privacy erase", Actor::Cli, Utc::now());

    let twilio = twilio_deleting_recordings().await;
    let client = infrastructure::twilio::rest::TwilioClient::new(
        &twilio.uri().parse().unwrap(),
        support::TEST_ACCOUNT_SID,
        "token".to_owned().into(),
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    let erased = api::privacy_cmd::erase_caller(
        &app.db.pool,
        &stores,
        &privacy,
        Some(&client),
        BusinessId(business.business_id.parse().unwrap()),
        &E164::parse(&x.caller).unwrap(),
        &metadata,
    )
    .await
    .unwrap();

    assert_eq!((erased.calls, erased.keys), (1, 1));
    assert_eq!(deleted_recordings(&twilio).await, x.recordings);
    let audited = audit::call_history(
        &app.db.pool,
        Some(&privacy),
        &CallSid::parse(&x.call_sid).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_gone(&audit::render_text(&audited), &x, "the audit");
    // The write side still loads the call (its caller reads `[erased]`), and personal data
    // recorded for it after the erasure is not stored.
    let fresh = support::TestApp::stores(&app);
    let late = fresh
        .calls
        .execute(
            &x.call_sid,
            domain::call::CallCommand::AttachRecording {
                recording_sid: "RE0003".into(),
                recording_url: "https://api.twilio.com/XSECRET-late".into(),
                duration_secs: 5,
            },
            &metadata,
        )
        .await
        .unwrap();
    assert_eq!(late.events.len(), 1);
    assert_gone(&raw_events(&app).await, &x, "the events table");
    let (_, payload, _) = app.events_of(&x.call_sid).await.pop().unwrap();
    assert_eq!(payload["RecordingAvailable"]["recording_url"], ERASED);
}

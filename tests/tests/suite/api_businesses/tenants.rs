//! Who may do what: an owner only their own businesses (anyone else's is 404, never 403), an
//! admin everything, nobody anything without a token.

use reqwest::Method;
use serde_json::json;
use support::{expect_problem, TestApp};

use super::{call, endpoints, id_of, ok, register};

#[tokio::test]
async fn it_should_answer_404_to_another_owner_on_every_endpoint_of_a_business() {
    // Arrange
    let app = TestApp::spawn().await;
    let ann = app.owner().await;
    let mallory = app.owner().await;
    let id = id_of(&register(&app, &ann, "Ann's Bakery").await);
    app.projections_caught_up().await;

    // Act and assert
    for (method, path, body) in endpoints(&id) {
        let response = call(&app, &mallory, method.clone(), &path, body).await;
        expect_problem(response, 404, "business_not_found").await;
    }
    assert_eq!(app.event_types_of(&id).await, ["BusinessRegistered"]);
    let listed = ok(
        call(&app, &mallory, Method::GET, "/api/v1/businesses", None).await,
        200,
    )
    .await;
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn it_should_answer_404_for_a_business_that_does_not_exist() {
    // Arrange
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let unknown = uuid::Uuid::new_v4().to_string();

    // Act and assert
    for (method, path, body) in endpoints(&unknown) {
        let response = call(&app, &admin, method.clone(), &path, body).await;
        expect_problem(response, 404, "business_not_found").await;
    }
    let malformed = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/businesses/not-a-uuid",
        None,
    )
    .await;
    expect_problem(malformed, 404, "not_found").await;
    assert!(app.events_of(&unknown).await.is_empty());
}

#[tokio::test]
async fn it_should_let_an_admin_see_and_change_any_business() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let admin = app.admin().await;
    let id = id_of(&register(&app, &owner, "Joe's Plumbing").await);
    app.projections_caught_up().await;

    // Act and assert: every endpoint answers the admin.
    for (method, path, body) in endpoints(&id) {
        let response = call(&app, &admin, method.clone(), &path, body).await;
        let status = response.status().as_u16();
        assert_eq!(
            status,
            200,
            "{method} {path}: {}",
            response.text().await.unwrap()
        );
    }
    let events = app.events_of(&id).await;
    assert_eq!(events.len(), 11, "{events:?}");
    for (event_type, _, metadata) in &events[1..] {
        assert_eq!(
            metadata["actor"],
            format!("user:{}", admin.id),
            "{event_type}"
        );
    }
    app.projections_caught_up().await;
    let listed = ok(
        call(&app, &admin, Method::GET, "/api/v1/businesses", None).await,
        200,
    )
    .await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["business_id"] == id.as_str()));
}

#[tokio::test]
async fn it_should_let_an_admin_register_a_business_for_an_owner_or_for_nobody() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let admin = app.admin().await;
    let new = |owner_user_id: serde_json::Value| json!({"name": "Joe's Plumbing", "timezone": "UTC", "owner_user_id": owner_user_id});

    // Act
    let for_owner = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/businesses",
        Some(new(json!(owner.id))),
    )
    .await;
    let for_nobody = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/businesses",
        Some(new(json!(null))),
    )
    .await;
    let for_stranger = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/businesses",
        Some(new(json!(uuid::Uuid::new_v4()))),
    )
    .await;
    let for_admin = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/businesses",
        Some(new(json!(admin.id))),
    )
    .await;

    // Assert
    let for_owner = ok(for_owner, 201).await;
    assert_eq!(for_owner["owner_user_id"], json!(owner.id));
    let for_nobody = ok(for_nobody, 201).await;
    assert_eq!(for_nobody["owner_user_id"], json!(null));
    expect_problem(for_stranger, 400, "unknown_owner").await;
    expect_problem(for_admin, 400, "unknown_owner").await;
    app.projections_caught_up().await;
    let mine = ok(
        call(&app, &owner, Method::GET, "/api/v1/businesses", None).await,
        200,
    )
    .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["business_id"], for_owner["id"]);
}

#[tokio::test]
async fn it_should_not_let_an_owner_register_a_business_for_someone_else() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let other = app.owner().await;

    // Act
    let response = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/businesses",
        Some(json!({"name": "Not mine", "timezone": "UTC", "owner_user_id": other.id})),
    )
    .await;
    let own = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/businesses",
        Some(json!({"name": "Mine", "timezone": "UTC", "owner_user_id": owner.id})),
    )
    .await;

    // Assert
    expect_problem(response, 403, "admin_only").await;
    assert_eq!(ok(own, 201).await["owner_user_id"], json!(owner.id));
}

#[tokio::test]
async fn it_should_answer_401_on_every_endpoint_without_a_token() {
    // Arrange
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let id = id_of(&register(&app, &owner, "Joe's Plumbing").await);
    let mut all = endpoints(&id);
    all.push((Method::GET, "/api/v1/businesses".into(), None));
    all.push((
        Method::POST,
        "/api/v1/businesses".into(),
        Some(json!({"name": "X", "timezone": "UTC"})),
    ));

    // Act and assert
    for (method, path, body) in all {
        let response = app.api(method.clone(), &path, None, body.clone()).await;
        expect_problem(response, 401, "missing_token").await;
        let forged = app.api(method, &path, Some("not-a-token"), body).await;
        expect_problem(forged, 401, "invalid_token").await;
    }
    assert_eq!(app.event_types_of(&id).await, ["BusinessRegistered"]);
}

//! Who may use a business's controls: its owner and admins. Another owner's business answers
//! as a missing one, for pages and forms; a form without the CSRF token is refused.

use support::pages::PageClient;
use support::{TestApp, TEST_PASSWORD};

use super::{business, create_business, event_count, signed_in_owner};

/// Every form of the settings page of business `id`, with valid fields.
fn forms(id: &str) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let at = |path: &str| format!("/dashboard/businesses/{id}{path}");
    vec![
        (at("/availability"), vec![("available", "false")]),
        (
            at("/hours"),
            vec![
                ("monday_open", "on"),
                ("monday_opens", "09:00"),
                ("monday_closes", "17:00"),
            ],
        ),
        (at("/ring-timeout"), vec![("ring_timeout", "30")]),
        (
            at("/agent"),
            vec![
                ("instructions", "Take a message."),
                ("voice", "marin"),
                ("model", "gpt-realtime"),
                ("openai_api_key", "sk-test-0123456789abcdef"),
            ],
        ),
        (at("/agent/remove"), vec![]),
        (
            at("/profile"),
            vec![
                ("name", "Taken over"),
                ("description", ""),
                ("owner_phone", "+14155550999"),
                ("timezone", "UTC"),
            ],
        ),
    ]
}

#[tokio::test]
async fn it_should_answer_another_owners_business_as_a_missing_one_and_change_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, alice) = signed_in_owner(&app).await;
    let id = create_business(&alice, "Alice's Bakery", "+14155550123").await;
    let (_, bob) = signed_in_owner(&app).await;
    let before = event_count(&app, &id).await;
    let missing = bob
        .get(&format!("/dashboard/businesses/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(missing.status, 404);

    // Act / Assert: the same 404 page as a business that does not exist.
    let page = bob.get(&format!("/dashboard/businesses/{id}")).await;
    assert_eq!(page.status, 404);
    assert_eq!(page.body, missing.body);
    assert!(!page.body.contains("Alice"));
    for (path, fields) in forms(&id) {
        let answer = bob.post_form(&path, &fields).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.body, missing.body, "{path}");
    }
    let malformed = bob.get("/dashboard/businesses/not-a-uuid").await;
    assert_eq!((malformed.status, malformed.body), (404, missing.body));
    app.projections_caught_up().await;
    let list = bob.get("/dashboard/businesses").await;
    assert!(!list.body.contains(&id), "not in Bob's list");

    // Nothing changed.
    assert_eq!(event_count(&app, &id).await, before);
    assert_eq!(business(&app, &id).await.name, "Alice's Bakery");
}

#[tokio::test]
async fn it_should_let_an_admin_manage_every_business() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, alice) = signed_in_owner(&app).await;
    let id = create_business(&alice, "Alice's Bakery", "+14155550123").await;
    let admin = app.admin().await;
    let browser = PageClient::new(&app.address);
    browser.log_in(&admin.email, TEST_PASSWORD).await;

    // Act
    let page = browser.get(&format!("/dashboard/businesses/{id}")).await;
    let ring = browser
        .post_form(
            &format!("/dashboard/businesses/{id}/ring-timeout"),
            &[("ring_timeout", "30")],
        )
        .await;

    // Assert
    assert_eq!(page.status, 200);
    assert_eq!(ring.status, 303, "{}", ring.body);
    assert_eq!(business(&app, &id).await.ring_timeout.secs(), 30);
    let events = app.events_of(&id).await;
    assert_eq!(
        events.last().unwrap().2["actor"],
        format!("user:{}", admin.id)
    );
    app.projections_caught_up().await;
    let list = browser.get("/dashboard/businesses").await;
    assert!(
        list.body.contains(&format!(r#"id="availability-{id}""#)),
        "{}",
        list.body
    );
}

#[tokio::test]
async fn it_should_refuse_every_form_without_the_csrf_token_and_change_nothing() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let before = event_count(&app, &id).await;

    // Act / Assert
    let mut all = forms(&id);
    all.push((
        "/dashboard/businesses".to_owned(),
        vec![("name", "Forged"), ("timezone", "UTC")],
    ));
    for (path, fields) in all {
        let owned: Vec<(String, String)> = fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let forged = browser.post_raw_form(&path, &owned).await;
        assert_eq!(forged.status, 403, "{path}");
        let mut wrong = owned.clone();
        wrong.push(("csrf".to_owned(), "not-the-token".to_owned()));
        assert_eq!(
            browser.post_raw_form(&path, &wrong).await.status,
            403,
            "{path}"
        );
    }
    assert_eq!(event_count(&app, &id).await, before);
    let businesses: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT aggregate_id) FROM events WHERE aggregate_type = 'Business'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(businesses, 1, "no business was forged");
}

//! The admin's pages over HTTP: only admins get in, the overview's totals, charts and health,
//! the users and businesses lists, and (in [`numbers`]) the phone numbers' forms against a fake
//! Twilio.

use chrono::{Days, NaiveDate, Utc};
use support::pages::{Page, PageClient};
use support::{seed, SeedBusiness, TestApp, User, TEST_PASSWORD};
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

use crate::api_numbers::{business_of, held_number, in_path, spawn};

mod numbers;

/// A browser signed in as `user`.
async fn browser_of(app: &TestApp, user: &User) -> PageClient {
    let browser = PageClient::new(&app.address);
    browser.log_in(&user.email, TEST_PASSWORD).await;
    browser
}

/// The element starting at the first occurrence of `opening` (up to its `>`).
fn element<'a>(body: &'a str, opening: &str) -> &'a str {
    let at = body
        .find(opening)
        .unwrap_or_else(|| panic!("no {opening} in the page"));
    &body[at..at + body[at..].find('>').unwrap()]
}

/// The value of attribute `name` in `element`.
fn attribute<'a>(element: &'a str, name: &str) -> &'a str {
    let start = element
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {element}"))
        + name.len()
        + 3;
    &element[start..start + element[start..].find('"').unwrap()]
}

/// A day of the daily stats read model, written as its projection would.
async fn daily_stats(
    app: &TestApp,
    business: uuid::Uuid,
    day: NaiveDate,
    (owner, ai, voicemails, missed): (i64, i64, i64, i64),
) {
    sqlx::query(
        "INSERT INTO rm_daily_stats.daily_stats \
           (business_id, day, calls, answered_by_owner, handled_by_ai, voicemails, missed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(business)
    .bind(day)
    .bind(owner + ai + voicemails + missed)
    .bind(owner)
    .bind(ai)
    .bind(voicemails)
    .bind(missed)
    .execute(&app.db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn it_should_refuse_every_admin_page_and_form_to_an_owner_and_change_nothing() {
    let (app, twilio_api) = spawn().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&twilio_api)
        .await;
    let owner = app.owner().await;
    let business = business_of(&app, Some(&owner)).await;
    let (number, _) = held_number(&app, Some(business)).await;
    let events_before = app.events_of(&number).await.len();
    let browser = browser_of(&app, &owner).await;
    let at = |action: &str| format!("/admin/numbers/{}/{action}", in_path(&number));
    let business_id = business.0.to_string();

    let mut answers: Vec<(String, Page)> = Vec::new();
    for path in [
        "/admin".to_owned(),
        "/admin/users".to_owned(),
        "/admin/businesses".to_owned(),
        "/admin/numbers".to_owned(),
        "/admin/numbers?country=US".to_owned(),
        at("release"),
    ] {
        answers.push((path.clone(), browser.get(&path).await));
    }
    let buy: &[(&str, &str)] = &[("phone_number", "+14155550100"), ("country", "US")];
    for (path, form) in [
        ("/admin/numbers/purchase".to_owned(), buy),
        ("/admin/numbers/register".to_owned(), buy),
        (at("assign"), &[("business_id", business_id.as_str())][..]),
        (at("suspend"), &[("reason", "unpaid")][..]),
        (at("reactivate"), &[][..]),
        (at("release"), &[][..]),
    ] {
        answers.push((path.clone(), browser.post_form(&path, form).await));
    }

    for (path, answer) in &answers {
        assert_eq!(answer.status, 403, "{path}: {}", answer.body);
        assert!(answer.body.contains("Only an admin"), "{path}");
    }
    assert_eq!(app.events_of(&number).await.len(), events_before);
    assert!(app.events_of("+14155550100").await.is_empty());
    let visitor = PageClient::new(&app.address);
    let sent_away = visitor.get("/admin/numbers").await;
    assert_eq!(sent_away.status, 303);
    assert_eq!(
        sent_away.location(),
        "/account/login?next=%2Fadmin%2Fnumbers"
    );
}

#[tokio::test]
async fn it_should_show_the_totals_and_a_bar_per_day_matching_the_daily_stats() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let stores = app.stores();
    let first = seed(&stores, SeedBusiness::default()).await;
    let second = seed(&stores, SeedBusiness::default()).await;
    let today = Utc::now().date_naive();
    let two_days_ago = today.checked_sub_days(Days::new(2)).unwrap();
    daily_stats(&app, first.business_id.0, today, (2, 1, 1, 0)).await;
    daily_stats(&app, second.business_id.0, today, (1, 2, 0, 0)).await;
    daily_stats(&app, first.business_id.0, two_days_ago, (1, 2, 1, 1)).await;
    app.projections_caught_up().await;
    let browser = browser_of(&app, &admin).await;

    let page = browser.get("/admin").await;

    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"id="total-businesses">2<"#));
    assert!(page.body.contains(r#"id="total-active-numbers">2<"#));
    let bar = |day: NaiveDate| {
        element(
            &page.body,
            &format!(r#"<rect class="bar" data-key="{}""#, day.format("%Y-%m-%d")),
        )
        .to_owned()
    };
    // Today: 4 + 3 = 7 calls, the tallest (180 units); two days ago 5: 5/7 of it.
    assert_eq!(attribute(&bar(today), "data-value"), "7");
    assert_eq!(attribute(&bar(today), "height"), "180.0");
    assert_eq!(attribute(&bar(two_days_ago), "data-value"), "5");
    assert_eq!(attribute(&bar(two_days_ago), "height"), "128.6");
    let yesterday = today.checked_sub_days(Days::new(1)).unwrap();
    assert_eq!(attribute(&bar(yesterday), "height"), "0.0");
    assert_eq!(page.body.matches(r#"<rect class="bar""#).count(), 30);
    assert!(page.body.contains(&format!(
        "<title>{}: 7 calls</title>",
        today.format("%Y-%m-%d")
    )));
    // The text alternative: a summary on the image and the data as a table.
    let chart = element(
        &page.body,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart""#,
    );
    assert_eq!(attribute(chart, "role"), "img");
    assert!(attribute(chart, "aria-label").contains("12 calls in total"));
    assert!(page.body.contains(&format!(
        r#"<th scope="row">{}</th><td>7</td>"#,
        today.format("%Y-%m-%d")
    )));
    // Owner 4, AI 5, voicemail or missed 3, of 12.
    for (key, value) in [
        ("Owner answered", "4"),
        ("AI agent handled", "5"),
        ("Voicemail or missed", "3"),
    ] {
        let part = element(
            &page.body,
            &format!(r#"<rect class="part" data-key="{key}""#),
        );
        assert_eq!(attribute(part, "data-value"), value, "{key}");
    }
    assert!(page.body.contains("the owner answered 4 (33%)"));
}

#[tokio::test]
async fn it_should_list_every_projection_with_its_lag_and_say_the_relay_is_off() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    seed(&app.stores(), SeedBusiness::default()).await;
    app.projections_caught_up().await;
    let browser = browser_of(&app, &admin).await;

    let page = browser.get("/admin").await;

    assert_eq!(page.status, 200);
    for projection in projections::registry::all() {
        let name = projection.name();
        let row_at = page
            .body
            .find(&format!(r#"<tr id="projection-{name}">"#))
            .unwrap_or_else(|| panic!("{name} is listed"));
        let row = &page.body[row_at..row_at + page.body[row_at..].find("</tr>").unwrap()];
        assert!(row.contains(r#"<td class="lag">0</td>"#), "{row}");
        assert!(row.contains(">up<"), "{row}");
    }
    assert!(page.body.contains("Projections keep up"));
    assert!(page.body.contains("<code>AMQP_URL</code> is not set"));
}

#[tokio::test]
async fn it_should_list_the_users_and_the_businesses_with_their_owners_and_numbers() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.owner().await;
    let business = business_of(&app, Some(&owner)).await;
    held_number(&app, Some(business)).await;
    held_number(&app, None).await;
    let nobodys = business_of(&app, None).await;
    app.projections_caught_up().await;
    let browser = browser_of(&app, &admin).await;

    let users = browser.get("/admin/users").await;
    let businesses = browser.get("/admin/businesses").await;

    assert_eq!(users.status, 200);
    for (email, role) in [(&admin.email, "Admin"), (&owner.email, "Business owner")] {
        let row_at = users.body.find(email.as_str()).unwrap();
        let row = &users.body[row_at..row_at + users.body[row_at..].find("</tr>").unwrap()];
        assert!(row.contains(&format!("<td>{role}</td>")), "{row}");
        assert!(row.contains("<td>Test User</td>"), "{row}");
        assert!(row.contains("<td>Yes</td>"), "{row}");
    }
    assert_eq!(businesses.status, 200);
    let row = |id: uuid::Uuid| {
        let at = businesses
            .body
            .find(&format!(r#"<tr id="business-{id}">"#))
            .unwrap();
        businesses.body[at..at + businesses.body[at..].find("</tr>").unwrap()].to_owned()
    };
    let owned = row(business.0);
    assert!(owned.contains(&format!(
        r#"<a href="/dashboard/businesses/{}">Ann&#39;s Bakery</a>"#,
        business.0
    )));
    assert!(
        owned.contains(&format!("<td>{}</td>", owner.email)),
        "{owned}"
    );
    assert!(
        owned.contains("<td>1</td>"),
        "one number rings for it: {owned}"
    );
    let unowned = row(nobodys.0);
    assert!(unowned.contains("<td>nobody</td>"), "{unowned}");
    assert!(unowned.contains("<td>0</td>"), "{unowned}");
}

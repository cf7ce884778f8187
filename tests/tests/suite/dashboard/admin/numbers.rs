//! The numbers page's forms, against a fake Twilio: each runs what its REST endpoint runs,
//! with the admin as the actor, and says on the page what happened — Twilio's refusals too.

use serde_json::json;
use support::TestApp;
use wiremock::matchers::query_param;
use wiremock::ResponseTemplate;

use super::*;
use crate::api_numbers::{fresh_number, incoming_number, twilio, twilio_error};

/// The digits of `number`, as element ids use them.
fn key(number: &str) -> &str {
    number.trim_start_matches('+')
}

/// The table row of `number` on the numbers page.
fn row_of<'a>(page: &'a Page, number: &str) -> &'a str {
    let at = page
        .body
        .find(&format!(r#"<tr id="number-{}">"#, key(number)))
        .unwrap_or_else(|| panic!("{number} is listed: {}", page.body));
    &page.body[at..at + page.body[at..].find("</tr>").unwrap()]
}

/// The last events of `number` are `expected`, each sent by `admin` through a page's form.
async fn assert_sent_from_the_page(app: &TestApp, number: &str, admin: &User, expected: &[&str]) {
    let events = app.events_of(number).await;
    let recent = &events[events.len() - expected.len()..];
    let types: Vec<&str> = recent.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(types, expected);
    for (event_type, _, metadata) in recent {
        assert_eq!(
            metadata["actor"],
            format!("user:{}", admin.id),
            "{event_type}"
        );
        let causation = metadata["causation"].as_str().unwrap();
        assert!(
            causation.starts_with("dashboard:POST /admin/numbers/"),
            "{event_type}: {causation}"
        );
    }
}

#[tokio::test]
async fn it_should_assign_a_number_to_a_business_through_the_form() {
    let (app, _twilio_api) = spawn().await;
    let admin = app.admin().await;
    let business = business_of(&app, None).await;
    let (number, _) = held_number(&app, None).await;
    app.projections_caught_up().await;
    let browser = browser_of(&app, &admin).await;
    let list = browser.get("/admin/numbers").await;
    let select = element(
        &list.body,
        &format!(r#"<select id="assign-{}""#, key(&number)),
    );
    assert_eq!(attribute(select, "name"), "business_id");
    assert!(list
        .body
        .contains(&format!(r#"<label for="assign-{}">Business"#, key(&number))));
    assert!(row_of(&list, &number).contains(&format!(r#"<option value="{}">"#, business.0)));

    let assigned = browser
        .post_form(
            &format!("/admin/numbers/{}/assign", in_path(&number)),
            &[("business_id", &business.0.to_string())],
        )
        .await;

    assert_eq!(assigned.status, 303, "{}", assigned.body);
    assert_eq!(
        assigned.location(),
        format!("/admin/numbers?done=assigned&number={}", in_path(&number))
    );
    // At once, before the read model has caught up: the page shows the write side's state.
    let page = browser.get(assigned.location()).await;
    assert_eq!(page.status, 200);
    assert!(page
        .body
        .contains(&format!("{number} now rings for Ann&#39;s Bakery.")));
    let row = row_of(&page, &number);
    assert!(
        row.contains(r#"data-label="Business">Ann&#39;s Bakery</td>"#),
        "{row}"
    );
    assert!(row.contains(&format!(r#"<option value="{}" selected>"#, business.0)));
    assert_sent_from_the_page(&app, &number, &admin, &["NumberAssigned"]).await;
    app.projections_caught_up().await;
    let later = browser.get("/admin/numbers").await;
    assert!(row_of(&later, &number).contains("Ann&#39;s Bakery"));
}

#[tokio::test]
async fn it_should_suspend_reactivate_and_release_a_number_through_the_forms() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let business = business_of(&app, None).await;
    let (number, number_sid) = held_number(&app, Some(business)).await;
    twilio("DELETE", &format!("IncomingPhoneNumbers/{number_sid}.json"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&twilio_api)
        .await;
    app.projections_caught_up().await;
    let browser = browser_of(&app, &admin).await;
    let at = |action: &str| format!("/admin/numbers/{}/{action}", in_path(&number));

    let suspended = browser
        .post_form(&at("suspend"), &[("reason", "unpaid invoice")])
        .await;
    let suspended_page = browser.get(suspended.location()).await;
    let again = browser
        .post_form(&at("suspend"), &[("reason", "again")])
        .await;
    let reactivated = browser.post_form(&at("reactivate"), &[]).await;
    let reactivated_page = browser.get(reactivated.location()).await;
    let confirm = browser.get(&at("release")).await;
    let released = browser.post_form(&at("release"), &[]).await;
    let released_page = browser.get(released.location()).await;

    assert_eq!(suspended.status, 303);
    assert!(row_of(&suspended_page, &number).contains(">suspended<"));
    assert!(suspended_page
        .body
        .contains(&format!(r#"id="reactivate-{}""#, key(&number))));
    assert_eq!(again.status, 409);
    assert!(
        again.body.contains("This number is already suspended."),
        "{}",
        again.body
    );
    assert_eq!(reactivated.status, 303);
    assert!(reactivated_page
        .body
        .contains(&format!("{number} takes calls again.")));
    assert!(row_of(&reactivated_page, &number).contains(">active<"));
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains(&format!("Release {number}?")));
    assert!(confirm
        .body
        .contains("It rings for <strong>Ann&#39;s Bakery</strong>"));
    assert!(confirm
        .body
        .contains(&format!(r#"action="{}""#, at("release"))));
    assert_eq!(released.status, 303);
    let row = row_of(&released_page, &number);
    assert!(row.contains(">released<"), "{row}");
    assert!(!row.contains("<form"), "nothing more to do with it: {row}");
    assert_sent_from_the_page(
        &app,
        &number,
        &admin,
        &["NumberSuspended", "NumberReactivated", "NumberReleased"],
    )
    .await;
}

#[tokio::test]
async fn it_should_buy_a_number_found_in_twilio_s_stock_through_the_forms() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let business = business_of(&app, None).await;
    let number = "+14155550101";
    twilio("GET", "AvailablePhoneNumbers/US/Local.json")
        .and(query_param("AreaCode", "415"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "available_phone_numbers": [{
                "phone_number": number, "friendly_name": "(415) 555-0101",
                "locality": "San Francisco", "region": "CA", "iso_country": "US"
            }]
        })))
        .expect(1)
        .mount(&twilio_api)
        .await;
    let voice_url = format!("{}/twilio/voice/incoming", app.address);
    twilio("POST", "IncomingPhoneNumbers.json")
        .respond_with(ResponseTemplate::new(201).set_body_json(incoming_number(
            "PN0123456789abcdef0123456789abcdef",
            number,
            &voice_url,
        )))
        .expect(1)
        .mount(&twilio_api)
        .await;
    app.projections_caught_up().await;
    let browser = browser_of(&app, &admin).await;

    let found = browser.get("/admin/numbers?country=US&area_code=415").await;
    let bought = browser
        .post_form(
            "/admin/numbers/purchase",
            &[
                ("phone_number", number),
                ("country", "US"),
                ("business_id", &business.0.to_string()),
            ],
        )
        .await;
    let page = browser.get(bought.location()).await;

    assert_eq!(found.status, 200);
    assert!(found.body.contains("San Francisco, CA"));
    assert!(found.body.contains(&format!(r#"id="buy-{}""#, key(number))));
    assert!(found
        .body
        .contains(&format!(r#"name="phone_number" value="{number}""#)));
    assert_eq!(bought.status, 303, "{}", bought.body);
    assert!(page.body.contains(&format!("Bought {number}")));
    let row = row_of(&page, number);
    assert!(
        row.contains("Ann&#39;s Bakery") && row.contains("1.15 USD"),
        "{row}"
    );
    assert_sent_from_the_page(
        &app,
        number,
        &admin,
        &["NumberProvisioned", "NumberAssigned"],
    )
    .await;
}

#[tokio::test]
async fn it_should_show_twilio_s_refusals_on_the_page_in_words_and_change_nothing() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let number = fresh_number();
    twilio("POST", "IncomingPhoneNumbers.json")
        .respond_with(twilio_error(
            400,
            21422,
            "PhoneNumber requested is not available",
        ))
        .expect(1)
        .mount(&twilio_api)
        .await;
    twilio("GET", "AvailablePhoneNumbers/US/Local.json")
        .respond_with(twilio_error(503, 20503, "Service Unavailable"))
        .mount(&twilio_api)
        .await;
    twilio("GET", "IncomingPhoneNumbers.json")
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"incoming_phone_numbers": []})),
        )
        .mount(&twilio_api)
        .await;
    let browser = browser_of(&app, &admin).await;

    let bought = browser
        .post_form("/admin/numbers/purchase", &[("phone_number", &number)])
        .await;
    let searched = browser.get("/admin/numbers?country=US").await;
    let registered = browser
        .post_form("/admin/numbers/register", &[("phone_number", &number)])
        .await;
    let malformed = browser
        .post_form("/admin/numbers/register", &[("phone_number", "12ab")])
        .await;

    assert_eq!(bought.status, 502);
    assert!(
        bought.body.contains(&format!(
            "Twilio refused to sell us {number}: PhoneNumber requested is not available \
             (Twilio error 21422, HTTP 400)."
        )),
        "{}",
        bought.body
    );
    assert!(bought.body.contains(r#"role="alert" id="numbers-error""#));
    assert_eq!(searched.status, 200);
    assert!(
        searched.body.contains(r#"id="search-error""#)
            && searched.body.contains("Service Unavailable"),
        "{}",
        searched.body
    );
    assert_eq!(registered.status, 404);
    assert!(registered
        .body
        .contains("The Twilio account does not hold this number"));
    assert!(
        registered.body.contains(&format!(r#"value="{number}""#)),
        "the form keeps what was typed"
    );
    assert_eq!(malformed.status, 400);
    assert!(malformed
        .body
        .contains("not a phone number in international format"));
    for page in [&bought, &searched, &registered, &malformed] {
        assert!(!page.body.contains(support::TEST_AUTH_TOKEN));
        assert!(!page.body.contains("problem+json") && !page.body.contains("\"code\""));
    }
    assert!(app.events_of(&number).await.is_empty());
}

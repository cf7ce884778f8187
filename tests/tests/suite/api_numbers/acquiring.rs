//! Buying, registering and searching numbers (admins), and what a Twilio refusal does.

use reqwest::Method;
use serde_json::{json, Value};
use support::expect_problem;
use wiremock::matchers::{any, query_param};
use wiremock::{Mock, ResponseTemplate};

use super::*;

#[tokio::test]
async fn it_should_let_an_admin_buy_a_number_pointed_at_our_webhooks_and_assign_it() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let owner = app.owner().await;
    let business = business_of(&app, Some(&owner)).await;
    let number = "+14155550100";
    let voice_url = format!("{}/twilio/voice/incoming", app.address);
    twilio("POST", "IncomingPhoneNumbers.json")
        .and(form_is(&[
            ("PhoneNumber", number),
            ("VoiceUrl", &voice_url),
            ("VoiceMethod", "POST"),
            (
                "StatusCallback",
                &format!("{}/twilio/voice/status", app.address),
            ),
            ("StatusCallbackMethod", "POST"),
        ]))
        .respond_with(ResponseTemplate::new(201).set_body_json(incoming_number(
            "PN0123456789abcdef0123456789abcdef",
            number,
            &voice_url,
        )))
        .expect(1)
        .mount(&twilio_api)
        .await;

    let response = app
        .api(
            Method::POST,
            "/api/v1/phone-numbers/purchase",
            Some(&admin.token),
            Some(json!({"phone_number": number, "business_id": business.0})),
        )
        .await;

    assert_eq!(
        response.headers()["location"],
        "/api/v1/phone-numbers/%2B14155550100"
    );
    let body = json_of(response, 201).await;
    assert_eq!(
        body,
        json!({
            "number": number, "twilio_sid": "PN0123456789abcdef0123456789abcdef",
            "country": "US", "area_code": "415", "business_id": business.0.to_string(),
            "status": "active", "monthly_cost_amount": "1.15", "monthly_cost_currency": "USD"
        })
    );
    assert_acted_by(
        &app,
        number,
        &admin,
        &["NumberProvisioned", "NumberAssigned"],
    )
    .await;
    app.projections_caught_up().await;
    let listed = app
        .api(
            Method::GET,
            "/api/v1/phone-numbers",
            Some(&owner.token),
            None,
        )
        .await;
    let listed = json_of(listed, 200).await;
    assert_eq!(listed["numbers"].as_array().unwrap().len(), 1);
    assert_eq!(listed["numbers"][0]["number"], number);
    assert_eq!(listed["numbers"][0]["monthly_cost_amount"], "1.15");
}

#[tokio::test]
async fn it_should_register_a_number_the_account_holds_and_point_it_at_our_webhooks() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let number = fresh_number();
    let number_sid = "PNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let voice_url = format!("{}/twilio/voice/incoming", app.address);
    twilio("GET", "IncomingPhoneNumbers.json")
        .and(query_param("PhoneNumber", number.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "incoming_phone_numbers": [
                incoming_number(number_sid, &number, "https://old.example/voice")
            ],
            "page": 0, "page_size": 50
        })))
        .expect(1)
        .mount(&twilio_api)
        .await;
    twilio("POST", &format!("IncomingPhoneNumbers/{number_sid}.json"))
        .and(form_is(&[
            ("VoiceUrl", &voice_url),
            ("VoiceMethod", "POST"),
            (
                "StatusCallback",
                &format!("{}/twilio/voice/status", app.address),
            ),
            ("StatusCallbackMethod", "POST"),
        ]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(incoming_number(number_sid, &number, &voice_url)),
        )
        .expect(1)
        .mount(&twilio_api)
        .await;

    let response = app
        .api(
            Method::POST,
            "/api/v1/phone-numbers/register",
            Some(&admin.token),
            Some(json!({"phone_number": number})),
        )
        .await;

    let body = json_of(response, 201).await;
    assert_eq!(body["twilio_sid"], number_sid);
    assert_eq!(body["business_id"], Value::Null);
    assert_eq!(body["status"], "active");
    assert_acted_by(&app, &number, &admin, &["NumberProvisioned"]).await;
}

#[tokio::test]
async fn it_should_not_register_a_number_the_account_does_not_hold() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let number = fresh_number();
    twilio("GET", "IncomingPhoneNumbers.json")
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"incoming_phone_numbers": []})),
        )
        .expect(1)
        .mount(&twilio_api)
        .await;

    let response = app
        .api(
            Method::POST,
            "/api/v1/phone-numbers/register",
            Some(&admin.token),
            Some(json!({"phone_number": number})),
        )
        .await;

    expect_problem(response, 404, "number_not_in_twilio_account").await;
    assert!(app.events_of(&number).await.is_empty());
}

#[tokio::test]
async fn it_should_not_ask_twilio_for_a_number_we_hold_or_for_a_business_that_does_not_exist() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let (held, _) = held_number(&app, None).await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&twilio_api)
        .await;
    let acquire = |action: &str, body: Value| {
        let (app, token) = (&app, admin.token.clone());
        let path = format!("/api/v1/phone-numbers/{action}");
        async move { app.api(Method::POST, &path, Some(&token), Some(body)).await }
    };

    let for_nobody = acquire(
        "purchase",
        json!({"phone_number": "+14155550100", "business_id": uuid::Uuid::new_v4()}),
    )
    .await;
    let bought_again = acquire("purchase", json!({"phone_number": held})).await;
    let registered_again = acquire("register", json!({"phone_number": held})).await;

    expect_problem(for_nobody, 404, "business_not_found").await;
    expect_problem(bought_again, 409, "number_already_provisioned").await;
    expect_problem(registered_again, 409, "number_already_provisioned").await;
}

#[tokio::test]
async fn it_should_say_how_to_finish_a_purchase_twilio_sold_but_we_could_not_record() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let number = fresh_number();
    twilio("POST", "IncomingPhoneNumbers.json")
        .respond_with(ResponseTemplate::new(201).set_body_json(incoming_number(
            "",
            &number,
            "https://x",
        )))
        .expect(1)
        .mount(&twilio_api)
        .await;

    let response = app
        .api(
            Method::POST,
            "/api/v1/phone-numbers/purchase",
            Some(&admin.token),
            Some(json!({"phone_number": number})),
        )
        .await;

    let problem = expect_problem(response, 502, "twilio_error").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("Twilio sold us") && detail.contains("POST /api/v1/phone-numbers/register"),
        "{detail}"
    );
    assert!(app.events_of(&number).await.is_empty());
}

#[tokio::test]
async fn it_should_answer_a_twilio_refusal_or_outage_with_a_502_and_append_nothing() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    let number = fresh_number();
    twilio("POST", "IncomingPhoneNumbers.json")
        .respond_with(twilio_error(
            400,
            21422,
            "PhoneNumber requested is not available",
        ))
        .up_to_n_times(1)
        .mount(&twilio_api)
        .await;
    twilio("POST", "IncomingPhoneNumbers.json")
        .respond_with(twilio_error(503, 20503, "Service Unavailable"))
        .mount(&twilio_api)
        .await;
    let buy = || {
        let (app, token, body) = (&app, admin.token.clone(), json!({"phone_number": number}));
        async move {
            app.api(
                Method::POST,
                "/api/v1/phone-numbers/purchase",
                Some(&token),
                Some(body),
            )
            .await
        }
    };

    let refused = expect_problem(buy().await, 502, "twilio_error").await;
    let down = expect_problem(buy().await, 502, "twilio_error").await;

    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("PhoneNumber requested is not available") && detail.contains("21422"),
        "{detail}"
    );
    assert!(
        down["detail"]
            .as_str()
            .unwrap()
            .contains("Service Unavailable"),
        "{down}"
    );
    for problem in [&refused, &down] {
        assert!(!problem.to_string().contains(TEST_AUTH_TOKEN));
    }
    assert!(app.events_of(&number).await.is_empty());
}

#[tokio::test]
async fn it_should_list_numbers_for_sale_by_country_and_area_code() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    twilio("GET", "AvailablePhoneNumbers/US/Local.json")
        .and(query_param("AreaCode", "415"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "uri": "/2010-04-01/…/Local.json?AreaCode=415",
            "available_phone_numbers": [{
                "phone_number": "+14155550101", "friendly_name": "(415) 555-0101",
                "locality": "San Francisco", "region": "CA", "iso_country": "US",
                "lata": "722", "capabilities": {"voice": true}
            }]
        })))
        .expect(1)
        .mount(&twilio_api)
        .await;

    let response = app
        .api(
            Method::GET,
            "/api/v1/phone-numbers/available?country=us&area_code=415",
            Some(&admin.token),
            None,
        )
        .await;

    assert_eq!(
        json_of(response, 200).await,
        json!({"numbers": [{
            "phone_number": "+14155550101", "friendly_name": "(415) 555-0101",
            "locality": "San Francisco", "region": "CA", "iso_country": "US"
        }]})
    );
}

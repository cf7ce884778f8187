//! Who may read and change numbers, and what input is refused before anything happens.

use reqwest::Method;
use serde_json::{json, Value};
use support::expect_problem;
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

use super::*;

#[tokio::test]
async fn it_should_forbid_an_owner_every_change_to_numbers() {
    let (app, twilio_api) = spawn().await;
    let owner = app.owner().await;
    let business = business_of(&app, Some(&owner)).await;
    let (number, _) = held_number(&app, Some(business)).await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&twilio_api)
        .await;
    let at = |action: &str| format!("/api/v1/phone-numbers/{}/{action}", in_path(&number));
    let acquire = json!({"phone_number": fresh_number(), "business_id": business.0});
    let requests = [
        (
            Method::GET,
            "/api/v1/phone-numbers/available?country=US".to_owned(),
            None,
        ),
        (
            Method::POST,
            "/api/v1/phone-numbers/purchase".to_owned(),
            Some(acquire.clone()),
        ),
        (
            Method::POST,
            "/api/v1/phone-numbers/register".to_owned(),
            Some(acquire),
        ),
        (
            Method::PUT,
            at("business"),
            Some(json!({"business_id": business.0})),
        ),
        (Method::POST, at("suspend"), Some(json!({"reason": "mine"}))),
        (Method::POST, at("reactivate"), None),
        (Method::POST, at("release"), None),
    ];

    for (verb, path, body) in requests {
        let response = app.api(verb.clone(), &path, Some(&owner.token), body).await;
        let problem = expect_problem(response, 403, "admin_only").await;
        assert!(!problem.to_string().contains(&number), "{verb} {path}");
    }
    assert_eq!(
        app.event_types_of(&number).await,
        ["NumberProvisioned", "NumberAssigned"]
    );
}

#[tokio::test]
async fn it_should_show_an_owner_only_the_numbers_of_their_own_businesses() {
    let (app, _twilio_api) = spawn().await;
    let (ann, bob, admin) = (app.owner().await, app.owner().await, app.admin().await);
    let (anns, _) = held_number(&app, Some(business_of(&app, Some(&ann)).await)).await;
    let (bobs, _) = held_number(&app, Some(business_of(&app, Some(&bob)).await)).await;
    app.projections_caught_up().await;
    let get = |path: String, user: &User| {
        let token = user.token.clone();
        let app = &app;
        async move { app.api(Method::GET, &path, Some(&token), None).await }
    };

    let anns_list = json_of(get("/api/v1/phone-numbers".into(), &ann).await, 200).await;
    let admins_list = json_of(get("/api/v1/phone-numbers".into(), &admin).await, 200).await;
    let own = get(format!("/api/v1/phone-numbers/{}", in_path(&anns)), &ann).await;
    let foreign = get(format!("/api/v1/phone-numbers/{}", in_path(&bobs)), &ann).await;
    let unknown = get(
        format!("/api/v1/phone-numbers/{}", in_path(&fresh_number())),
        &ann,
    )
    .await;

    let numbers = |list: &Value| -> Vec<String> {
        list["numbers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["number"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(numbers(&anns_list), vec![anns.clone()]);
    let everyone = numbers(&admins_list);
    assert!(
        everyone.contains(&anns) && everyone.contains(&bobs),
        "{everyone:?}"
    );
    assert_eq!(json_of(own, 200).await["number"], anns);
    let foreign = expect_problem(foreign, 404, "number_not_found").await;
    let unknown = expect_problem(unknown, 404, "number_not_found").await;
    assert_eq!(foreign["detail"], unknown["detail"], "no existence leak");
}

#[tokio::test]
async fn it_should_refuse_requests_without_a_token() {
    let (app, _twilio_api) = spawn().await;

    let response = app
        .api(Method::GET, "/api/v1/phone-numbers", None, None)
        .await;

    expect_problem(response, 401, "missing_token").await;
}

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_accept_the_number_in_a_path_with_a_plain_or_an_encoded_plus() {
    let (app, _twilio_api) = spawn().await;
    let admin = app.admin().await;
    let (number, _) = held_number(&app, None).await;
    app.projections_caught_up().await;

    for shown in [number.clone(), in_path(&number)] {
        let response = app
            .api(
                Method::GET,
                &format!("/api/v1/phone-numbers/{shown}"),
                Some(&admin.token),
                None,
            )
            .await;
        assert_eq!(json_of(response, 200).await["number"], number);
    }
}

#[tokio::test]
async fn it_should_refuse_a_malformed_number_or_body_with_a_400_before_asking_twilio() {
    let (app, twilio_api) = spawn().await;
    let admin = app.admin().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&twilio_api)
        .await;
    let (held, _) = held_number(&app, None).await;
    let post = |path: &str, body: Value| {
        let (app, path, token) = (&app, path.to_owned(), admin.token.clone());
        async move { app.api(Method::POST, &path, Some(&token), Some(body)).await }
    };

    let not_e164 = post(
        "/api/v1/phone-numbers/purchase",
        json!({"phone_number": "415-555-0100"}),
    )
    .await;
    let unknown_field = post(
        "/api/v1/phone-numbers/purchase",
        json!({"phone_number": "+14155550100", "price": 1}),
    )
    .await;
    let bad_country = post(
        "/api/v1/phone-numbers/register",
        json!({"phone_number": "+14155550100", "country": "USA"}),
    )
    .await;
    let unknown_calling_code = post(
        "/api/v1/phone-numbers/purchase",
        json!({"phone_number": "+99912345678"}),
    )
    .await;
    let bad_path = app
        .api(
            Method::GET,
            "/api/v1/phone-numbers/14155550100",
            Some(&admin.token),
            None,
        )
        .await;
    let empty_reason = post(
        &format!("/api/v1/phone-numbers/{}/suspend", in_path(&held)),
        json!({"reason": "  "}),
    )
    .await;
    let bad_search = app
        .api(
            Method::GET,
            "/api/v1/phone-numbers/available?country=US&area_code=41a",
            Some(&admin.token),
            None,
        )
        .await;

    expect_problem(not_e164, 400, "invalid_phone_number").await;
    expect_problem(unknown_field, 400, "malformed_body").await;
    expect_problem(bad_country, 400, "invalid_country").await;
    expect_problem(unknown_calling_code, 400, "country_required").await;
    expect_problem(bad_path, 400, "invalid_phone_number").await;
    expect_problem(empty_reason, 400, "invalid_input").await;
    expect_problem(bad_search, 400, "invalid_area_code").await;
}

//! Signing in and out of the dashboard: cookies, CSRF, renewal, redirects.

use support::pages::PageClient;
use support::{TestApp, TEST_PASSWORD};

#[tokio::test]
async fn it_should_send_a_visitor_to_the_login_page_and_back_after_signing_in() {
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let browser = PageClient::new(&app.address);

    let root = browser.get("/").await;
    assert_eq!((root.status, root.location()), (303, "/dashboard"));
    let dashboard = browser.get("/dashboard?from=mail").await;
    assert_eq!(dashboard.status, 303);
    assert_eq!(
        dashboard.location(),
        "/account/login?next=%2Fdashboard%3Ffrom%3Dmail"
    );
    let form = browser
        .get("/account/login?next=%2Fdashboard%3Ffrom%3Dmail")
        .await;
    assert!(form
        .body
        .contains(r#"name="next" value="/dashboard?from=mail""#));
    let signed_in = browser
        .post_form(
            "/account/login",
            &[
                ("email", &owner.email),
                ("password", TEST_PASSWORD),
                ("next", "/dashboard?from=mail"),
            ],
        )
        .await;

    assert_eq!(
        (signed_in.status, signed_in.location()),
        (303, "/dashboard?from=mail")
    );
    let page = browser.get("/dashboard").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Log out"));
}

#[tokio::test]
async fn it_should_keep_the_session_in_http_only_same_site_cookies_holding_the_api_jwt() {
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let browser = PageClient::new(&app.address);

    let signed_in = browser.log_in(&owner.email, TEST_PASSWORD).await;

    for name in ["ca_access", "ca_refresh"] {
        let cookies = signed_in.set_cookies(name);
        assert_eq!(cookies.len(), 1, "{name}");
        let cookie = &cookies[0];
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
    }
    let jwt = browser.cookie("ca_access").unwrap();
    let me = app
        .api(reqwest::Method::GET, "/api/v1/me", Some(&jwt), None)
        .await;
    assert_eq!(me.status(), 200, "the cookie holds the API's own token");
}

#[tokio::test]
async fn it_should_mark_cookies_secure_when_served_over_https() {
    let app = TestApp::spawn_with(&[("PUBLIC_BASE_URL", "https://calls.example.com")]).await;
    let owner = app.owner().await;
    let browser = PageClient::new(&app.address);

    let signed_in = browser.log_in(&owner.email, TEST_PASSWORD).await;

    assert!(signed_in.set_cookies("ca_access")[0].contains("Secure"));
    assert!(signed_in.set_cookies("ca_refresh")[0].contains("Secure"));
}

#[tokio::test]
async fn it_should_refuse_a_form_without_the_csrf_token_and_change_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let browser = PageClient::new(&app.address);
    browser.get("/account/login").await;
    assert!(
        browser.cookie("ca_csrf").is_some(),
        "the page hands out a token"
    );

    let form = |csrf: Option<&str>| {
        let mut form = vec![
            ("email".to_owned(), owner.email.clone()),
            ("password".to_owned(), TEST_PASSWORD.to_owned()),
        ];
        if let Some(csrf) = csrf {
            form.push(("csrf".to_owned(), csrf.to_owned()));
        }
        form
    };
    let missing = browser.post_raw_form("/account/login", &form(None)).await;
    let forged = browser
        .post_raw_form("/account/login", &form(Some("forged-token")))
        .await;

    for refused in [&missing, &forged] {
        assert_eq!(refused.status, 403);
        assert!(refused.body.contains("did not come from this site"));
        assert!(refused.set_cookies("ca_access").is_empty());
    }
    // A request from another site carries the cookie but not the token.
    let stranger = PageClient::new(&app.address);
    let no_cookie = stranger
        .post_raw_form("/account/login", &form(Some("anything")))
        .await;
    assert_eq!(no_cookie.status, 403);
}

#[tokio::test]
async fn it_should_accept_the_token_as_an_htmx_header() {
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let browser = PageClient::new(&app.address);
    browser.log_in(&owner.email, TEST_PASSWORD).await;
    let token = browser.cookie("ca_csrf").unwrap();
    let cookies = format!(
        "ca_csrf={token}; ca_access={}; ca_refresh={}",
        browser.cookie("ca_access").unwrap(),
        browser.cookie("ca_refresh").unwrap()
    );

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let logout = |header: Option<String>| {
        let mut request = client
            .post(format!("{}/account/logout", app.address))
            .header("cookie", cookies.clone());
        if let Some(header) = header {
            request = request.header("X-CSRF-Token", header);
        }
        request.send()
    };

    assert_eq!(logout(Some("wrong".into())).await.unwrap().status(), 403);
    assert_eq!(logout(Some(token)).await.unwrap().status(), 303);
}

#[tokio::test]
async fn it_should_show_a_wrong_password_on_the_form_and_keep_the_email() {
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let browser = PageClient::new(&app.address);
    browser.get("/account/login").await;

    let refused = browser
        .post_form(
            "/account/login",
            &[("email", &owner.email), ("password", "not the password")],
        )
        .await;

    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("Wrong email or password."));
    assert!(refused
        .body
        .contains(&format!(r#"value="{}""#, owner.email)));
    assert!(browser.cookie("ca_access").is_none());
}

#[tokio::test]
async fn it_should_renew_an_expired_access_cookie_from_the_refresh_cookie_once_for_concurrent_pages(
) {
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let browser = PageClient::new(&app.address);
    browser.log_in(&owner.email, TEST_PASSWORD).await;
    let refresh = browser.cookie("ca_refresh").unwrap();
    // The access token expired (the browser dropped the cookie at its Max-Age).
    browser.drop_cookie("ca_access");

    let (first, second) = tokio::join!(browser.get("/dashboard"), browser.get("/dashboard"));

    assert_eq!((first.status, second.status), (200, 200));
    let renewed: Vec<_> = [&first, &second]
        .iter()
        .map(|page| page.set_cookies("ca_refresh"))
        .collect();
    assert_eq!(renewed[0], renewed[1], "both got the same new pair");
    assert_ne!(browser.cookie("ca_refresh").unwrap(), refresh, "rotated");
    assert_eq!(browser.get("/dashboard").await.status, 200);
}

#[tokio::test]
async fn it_should_sign_out_a_browser_whose_refresh_token_no_longer_works() {
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let browser = PageClient::new(&app.address);
    browser.log_in(&owner.email, TEST_PASSWORD).await;
    browser.drop_cookie("ca_access");
    browser.set_cookie("ca_refresh", "not-a-refresh-token");

    let page = browser.get("/dashboard").await;

    assert_eq!(page.status, 303);
    assert!(page.location().starts_with("/account/login"));
    assert!(browser.cookie("ca_refresh").is_none(), "cleared");
}

#[tokio::test]
async fn it_should_log_out_and_end_the_refresh_token() {
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let browser = PageClient::new(&app.address);
    browser.log_in(&owner.email, TEST_PASSWORD).await;
    let refresh = browser.cookie("ca_refresh").unwrap();

    let out = browser.post_form("/account/logout", &[]).await;

    assert_eq!((out.status, out.location()), (303, "/account/login"));
    assert!(browser.cookie("ca_access").is_none());
    assert!(browser.cookie("ca_refresh").is_none());
    let reused = app
        .api(
            reqwest::Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(serde_json::json!({ "refresh_token": refresh })),
        )
        .await;
    assert_eq!(reused.status(), 401);
    assert_eq!(browser.get("/dashboard").await.status, 303);
}

#[tokio::test]
async fn it_should_register_an_owner_and_sign_them_in_or_explain_what_is_wrong() {
    let app = TestApp::spawn().await;
    let browser = PageClient::new(&app.address);
    browser.get("/account/register").await;
    let fields = |password: &'static str| {
        [
            ("first_name", "Ann"),
            ("last_name", "Smith"),
            ("email", "ann@example.com"),
            ("password", password),
        ]
    };

    let weak = browser
        .post_form("/account/register", &fields("short"))
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak
        .body
        .contains("The password must have at least 10 characters."));
    assert!(
        weak.body.contains(r#"value="Ann""#),
        "the form keeps what was typed"
    );

    let created = browser
        .post_form("/account/register", &fields(TEST_PASSWORD))
        .await;
    assert_eq!((created.status, created.location()), (303, "/dashboard"));
    assert_eq!(browser.get("/dashboard").await.status, 200);

    let again = PageClient::new(&app.address);
    again.get("/account/register").await;
    let taken = again
        .post_form("/account/register", &fields(TEST_PASSWORD))
        .await;
    assert_eq!(taken.status, 422);
    assert!(taken
        .body
        .contains("An account with this email already exists."));
}

#[tokio::test]
async fn it_should_send_an_htmx_request_without_a_session_to_the_login_page_as_a_whole_page() {
    let app = TestApp::spawn().await;
    let browser = PageClient::new(&app.address);

    let fragment = browser
        .get_with(
            "/dashboard",
            &[
                ("HX-Request", "true"),
                ("HX-Current-URL", "http://127.0.0.1/dashboard?route=ai"),
            ],
        )
        .await;

    assert_eq!(
        fragment.status, 200,
        "htmx does not follow a 303 into a swap"
    );
    assert_eq!(
        fragment.headers["HX-Redirect"],
        "/account/login?next=%2Fdashboard%3Froute%3Dai"
    );
    assert!(fragment.body.is_empty());
}

#[tokio::test]
async fn it_should_never_redirect_to_another_site_after_signing_in() {
    let app = TestApp::spawn().await;
    let owner = app.owner().await;
    let browser = PageClient::new(&app.address);
    browser.get("/account/login").await;

    let signed_in = browser
        .post_form(
            "/account/login",
            &[
                ("email", &owner.email),
                ("password", TEST_PASSWORD),
                ("next", "//evil.example/phish"),
            ],
        )
        .await;

    assert_eq!(signed_in.location(), "/dashboard");
}

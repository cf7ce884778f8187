//! A business's controls on the dashboard: the businesses list and the new-business form, the
//! availability switch (with and without htmx, and the next call following it), the hours
//! editor, the ring timeout, the AI agent (its key never shown), and who may use them.

mod agent;
mod availability;
mod create;
mod hours;
mod notifications;
mod tenancy;

use support::pages::PageClient;
use support::{TestApp, User, TEST_PASSWORD};

/// A business owner signed in to the dashboard.
async fn signed_in_owner(app: &TestApp) -> (User, PageClient) {
    let owner = app.owner().await;
    let browser = PageClient::new(&app.address);
    browser.log_in(&owner.email, TEST_PASSWORD).await;
    (owner, browser)
}

/// Creates a business from the new-business form; returns its id.
async fn create_business(browser: &PageClient, name: &str, owner_phone: &str) -> String {
    let created = browser
        .post_form(
            "/dashboard/businesses",
            &[
                ("name", name),
                ("description", "Pipes, fast."),
                ("owner_phone", owner_phone),
                ("timezone", "Europe/Berlin"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    created
        .location()
        .strip_prefix("/dashboard/businesses/")
        .and_then(|rest| rest.strip_suffix("?saved=created"))
        .unwrap_or_else(|| panic!("the new business' page: {}", created.location()))
        .to_owned()
}

/// `POST path` as htmx sends it from a page: `HX-Request` and the CSRF token in a header, with
/// the browser's cookies. Returns status and body.
async fn htmx_post(
    app: &TestApp,
    browser: &PageClient,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let cookies: Vec<String> = ["ca_access", "ca_refresh", "ca_csrf"]
        .iter()
        .filter_map(|name| browser.cookie(name).map(|value| format!("{name}={value}")))
        .collect();
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .header("Cookie", cookies.join("; "))
        .header("HX-Request", "true")
        .header(
            "X-CSRF-Token",
            browser.cookie("ca_csrf").unwrap_or_default(),
        )
        .form(fields)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// How many events the business has.
async fn event_count(app: &TestApp, id: &str) -> usize {
    app.events_of(id).await.len()
}

/// The business as the write side holds it.
async fn business(app: &TestApp, id: &str) -> domain::business::Business {
    app.stores().businesses.load(id).await.unwrap().aggregate
}

//! The business owner's dashboard over HTTP: today's numbers and the calls table (filters,
//! paging, htmx fragments), the live stream ([`live`]) and a call's page with its audio
//! ([`call_page`]) — with calls made through signed Twilio webhooks for two owners, so that every
//! answer is also a check that one owner never sees the other's calls.

mod call_page;
mod live;
mod table;

use std::time::Duration;

use reqwest::header::COOKIE;
use support::calls::{
    completed, dial_result, incoming, owned_business, post, webhook, Owned, CALLER,
};
use support::new_call_sid;
use support::pages::{Page, PageClient};
use support::{TestApp, User, TEST_PASSWORD};

/// The owner's phone rang out: the call goes to the AI agent.
async fn owner_missed(app: &TestApp, sid: &str, number: &str) {
    dial_result(app, sid, number, "no-answer", "false").await;
}

/// A browser signed in as `user`.
async fn browser_of(app: &TestApp, user: &User) -> PageClient {
    let browser = PageClient::new(&app.address);
    browser.log_in(&user.email, TEST_PASSWORD).await;
    browser
}

/// `GET path` as `browser`, with extra headers (htmx's), returning the status and body.
async fn get_with(
    app: &TestApp,
    browser: &PageClient,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .get(format!("{}{path}", app.address))
        .timeout(Duration::from_secs(10))
        .header(COOKIE, session_cookie(browser));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The `Cookie` header of the browser's session.
fn session_cookie(browser: &PageClient) -> String {
    format!("ca_access={}", browser.cookie("ca_access").unwrap())
}

/// The value of the first `attribute="…"` in `html`, unescaped.
fn attribute(html: &str, attribute: &str) -> Option<String> {
    let start = html.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// The CallSids of the table's rows, in order.
fn rows(page: &str) -> Vec<String> {
    page.split("<tr id=\"call-")
        .skip(1)
        .map(|rest| rest[..34].to_owned())
        .collect()
}

/// The number shown in the numbers-at-a-glance box `id`.
fn number_in(page: &Page, id: &str) -> i64 {
    let at = page
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &page.body[at..];
    let start = rest.find("class=\"value\">").unwrap() + "class=\"value\">".len();
    let end = start + rest[start..].find('<').unwrap();
    rest[start..end].parse().unwrap()
}

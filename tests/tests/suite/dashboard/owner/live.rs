//! The dashboard's live stream (`GET /dashboard/live`, Server-Sent Events): rows for new and
//! changed calls, toasts for messages taken, only the viewer's calls, and nothing left running
//! once the client goes away.

use std::time::Instant;

use domain::call::{CallCommand, Urgency};
use domain::{Actor, CommandMetadata};

use super::*;

/// One Server-Sent Event.
#[derive(Debug, Clone)]
struct Event {
    name: String,
    id: String,
    data: String,
}

/// A stream as a browser's `EventSource` reads it.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    /// Opens `path` with `browser`'s session.
    async fn open(app: &TestApp, browser: &PageClient, path: &str) -> Self {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", app.address))
            .header(COOKIE, session_cookie(browser))
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["cache-control"], "no-store");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The stream of the dashboard page `browser` sees at `page` (its `sse-connect` URL).
    async fn of_page(app: &TestApp, browser: &PageClient, page: &str) -> Self {
        let page = browser.get(page).await;
        let url = attribute(&page.body, "sse-connect").expect("the page connects a stream");
        Self::open(app, browser, &url).await
    }

    /// The next event (comments and `retry:` skipped), or `None` after `within`.
    async fn next(&mut self, within: Duration) -> Option<Event> {
        let deadline = Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Event {
                    name: "message".into(),
                    id: String::new(),
                    data: String::new(),
                };
                let mut has_data = false;
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        event.name = name.to_owned();
                    } else if let Some(id) = line.strip_prefix("id: ") {
                        event.id = id.to_owned();
                    } else if let Some(data) = line.strip_prefix("data: ") {
                        if has_data {
                            event.data.push('\n');
                        }
                        event.data.push_str(data);
                        has_data = true;
                    }
                }
                if has_data {
                    return Some(event);
                }
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return None,
            }
        }
    }

    /// Reads events until one named `name`; returns it and every event before it.
    async fn until(&mut self, name: &str) -> (Event, Vec<Event>) {
        self.until_holding(name, "").await
    }

    /// Reads events until one named `name` whose data holds `text`; returns it and every
    /// event before it.
    async fn until_holding(&mut self, name: &str, text: &str) -> (Event, Vec<Event>) {
        let mut before = Vec::new();
        loop {
            let event = self
                .next(Duration::from_secs(15))
                .await
                .unwrap_or_else(|| panic!("no {name} event holding {text:?}; got {before:?}"));
            if event.name == name && event.data.contains(text) {
                return (event, before);
            }
            before.push(event);
        }
    }
}

/// Takes a message on `sid` as the voice bridge would (through the write side directly, as
/// another node would: this node's append signal is not woken, the stream's poll finds it).
async fn take_message(app: &TestApp, sid: &str, name: &str) {
    let meta = CommandMetadata::new(
        sid,
        "test:dashboard",
        Actor::VoiceBridge,
        chrono::Utc::now(),
    );
    let stores = app.stores();
    for command in [
        CallCommand::StartAiSession {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
        },
        CallCommand::TakeMessage {
            caller_name: Some(name.into()),
            callback_number: Some(CALLER.into()),
            message: "The sink leaks; call back today.".into(),
            urgency: Urgency::High,
        },
    ] {
        stores.calls.execute(sid, command, &meta).await.unwrap();
    }
}

/// The value of `callassist_dashboard_live_streams` in `/metrics`.
async fn open_streams(app: &TestApp) -> i64 {
    let metrics = app.get("/metrics").await.text().await.unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("callassist_dashboard_live_streams "))
        .and_then(|value| value.trim().parse().ok())
        .expect("the gauge is exported")
}

#[tokio::test]
async fn it_should_stream_the_row_of_a_new_call_and_then_its_changes() {
    let app = TestApp::spawn().await;
    let ann = app.owner().await;
    let a = owned_business(&app, &ann, "Ann's Bakery", true, chrono_tz::UTC).await;
    let browser = browser_of(&app, &ann).await;
    let mut stream = Stream::of_page(&app, &browser, "/dashboard").await;

    let sid = incoming(&app, &a.number).await;
    let (new, _) = stream.until("new-call").await;
    owner_missed(&app, &sid, &a.number).await;
    let (routed, _) = stream
        .until_holding(&format!("call-{sid}"), r#"data-route="ai""#)
        .await;
    completed(&app, &sid, &a.number, "42").await;
    let (ended, _) = stream
        .until_holding(&format!("call-{sid}"), r#"data-status="completed""#)
        .await;

    // A new row is lit up; its changes replace it and settle at once, so that a change right
    // behind it finds its listener (src/dashboard/owner/live/frames.rs).
    let row =
        format!(r#"<tr id="call-{sid}" class="arrived" data-route="owner" data-status="ringing""#);
    assert!(new.data.starts_with(&row), "{}", new.data);
    assert!(new.data.contains(&format!(
        r#"sse-swap="call-{sid}" hx-swap="outerHTML settle:0ms""#
    )));
    assert!(!new.id.is_empty(), "every event says where to resume");
    assert!(routed
        .data
        .starts_with(&format!(r#"<tr id="call-{sid}" data-route="ai""#)));
    assert!(ended.data.contains(">0:42<"), "{}", ended.data);
}

#[tokio::test]
async fn it_should_announce_a_message_taken_with_a_toast() {
    let app = TestApp::spawn().await;
    let ann = app.owner().await;
    let a = owned_business(&app, &ann, "Ann's Bakery", false, chrono_tz::UTC).await;
    let sid = incoming(&app, &a.number).await;
    app.projections_caught_up().await;
    let browser = browser_of(&app, &ann).await;
    let mut stream = Stream::of_page(&app, &browser, "/dashboard").await;

    take_message(&app, &sid, "Ann Baker").await;
    let (toast, _) = stream.until("message-taken").await;

    assert!(
        toast
            .data
            .starts_with(r##"<div hx-swap-oob="beforeend:#toasts">"##),
        "{}",
        toast.data
    );
    assert!(toast.data.contains("New message from Ann Baker"));
    assert!(toast.data.contains(&format!(
        r#"<a href="/dashboard/calls/{sid}">open the call</a>"#
    )));
    assert!(toast.data.contains("Urgent"));
}

#[tokio::test]
async fn it_should_never_stream_one_owner_anything_of_another_owner_s_calls() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (app.owner().await, app.owner().await);
    let a = owned_business(&app, &ann, "Ann's Bakery", true, chrono_tz::UTC).await;
    let b = owned_business(&app, &bob, "Bob's Garage", false, chrono_tz::UTC).await;
    let (anns_browser, bobs_browser) = (browser_of(&app, &ann).await, browser_of(&app, &bob).await);
    let mut anns_stream = Stream::of_page(&app, &anns_browser, "/dashboard").await;
    let mut bobs_stream = Stream::of_page(&app, &bobs_browser, "/dashboard").await;

    let bobs = incoming(&app, &b.number).await;
    take_message(&app, &bobs, "Bob's caller").await;
    completed(&app, &bobs, &b.number, "12").await;
    let (bobs_toast, _) = bobs_stream.until("message-taken").await;
    let anns_call = incoming(&app, &a.number).await;
    let (anns_new, before) = anns_stream.until("new-call").await;

    assert!(bobs_toast.data.contains(&bobs));
    assert!(anns_new.data.contains(&anns_call));
    for event in &before {
        assert!(
            !event.data.contains(&bobs) && !event.name.contains(&bobs),
            "{event:?}"
        );
    }
    assert!(!anns_new.data.contains(&bobs));
}

#[tokio::test]
async fn it_should_resume_after_the_last_event_the_browser_received() {
    let app = TestApp::spawn().await;
    let ann = app.owner().await;
    let a = owned_business(&app, &ann, "Ann's Bakery", true, chrono_tz::UTC).await;
    let browser = browser_of(&app, &ann).await;
    let mut stream = Stream::of_page(&app, &browser, "/dashboard").await;
    let first = incoming(&app, &a.number).await;
    let (seen, _) = stream.until("new-call").await;
    drop(stream);

    let second = incoming(&app, &a.number).await;
    app.projections_caught_up().await;
    let response = reqwest::Client::new()
        .get(format!("{}/dashboard/live", app.address))
        .header(COOKIE, session_cookie(&browser))
        .header("Last-Event-ID", &seen.id)
        .send()
        .await
        .unwrap();
    let mut resumed = Stream {
        response,
        buffer: String::new(),
    };
    let (next, _) = resumed.until("new-call").await;

    assert!(seen.data.contains(&first));
    assert!(next.data.contains(&second), "{}", next.data);
    assert!(!next.data.contains(&first));
}

#[tokio::test]
async fn it_should_end_the_stream_when_the_client_goes_away() {
    let app = TestApp::spawn().await;
    let ann = app.owner().await;
    let a = owned_business(&app, &ann, "Ann's Bakery", true, chrono_tz::UTC).await;
    let browser = browser_of(&app, &ann).await;
    assert_eq!(open_streams(&app).await, 0);

    let stream = Stream::of_page(&app, &browser, "/dashboard").await;
    assert_eq!(open_streams(&app).await, 1);
    drop(stream);
    // The server learns that the client is gone when a write fails: a heartbeat (every 15 s)
    // or, sooner, the rows of new calls.
    let deadline = Instant::now() + Duration::from_secs(40);
    while open_streams(&app).await != 0 {
        assert!(Instant::now() < deadline, "the stream outlived its client");
        incoming(&app, &a.number).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn it_should_send_a_visitor_without_a_session_to_the_login_page() {
    let app = TestApp::spawn().await;

    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/dashboard/live", app.address))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 303);
}

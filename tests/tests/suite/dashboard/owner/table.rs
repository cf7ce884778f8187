//! Today's numbers and the calls table: what each viewer sees, the filters, paging, and the
//! fragments htmx asks for.

use chrono::{Days, Utc};

use super::*;

/// The owner's phone was answered.
async fn owner_answered(app: &TestApp, sid: &str, number: &str) {
    let extra = [
        ("DialCallStatus", "completed"),
        ("DialCallSid", "CAffffffffffffffffffffffffffffffff"),
        ("DialBridged", "true"),
    ];
    post(
        app,
        "/twilio/voice/dial-result",
        &webhook(sid, number, &extra),
    )
    .await;
}

/// Ann (Ann's Bakery, owner available) and Bob (Bob's Garage, owner away), and their calls:
/// Ann's `answered` (by her, 30 s), `to_ai` (missed, then the agent, 75 s) and `ringing`;
/// Bob's `bobs` (the agent, 12 s).
struct World {
    app: TestApp,
    ann: User,
    bob: User,
    admin: User,
    b: Owned,
    answered: String,
    to_ai: String,
    ringing: String,
    bobs: String,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let (ann, bob, admin) = (app.owner().await, app.owner().await, app.admin().await);
        let a = owned_business(&app, &ann, "Ann's Bakery", true, chrono_tz::UTC).await;
        let b = owned_business(&app, &bob, "Bob's Garage", false, chrono_tz::UTC).await;
        let answered = incoming(&app, &a.number).await;
        owner_answered(&app, &answered, &a.number).await;
        completed(&app, &answered, &a.number, "30").await;
        let to_ai = incoming(&app, &a.number).await;
        owner_missed(&app, &to_ai, &a.number).await;
        completed(&app, &to_ai, &a.number, "75").await;
        let bobs = incoming(&app, &b.number).await;
        completed(&app, &bobs, &b.number, "12").await;
        let ringing = incoming(&app, &a.number).await;
        app.projections_caught_up().await;
        Self {
            app,
            ann,
            bob,
            admin,
            b,
            answered,
            to_ai,
            ringing,
            bobs,
        }
    }
}

#[tokio::test]
async fn it_should_show_each_owner_today_s_numbers_and_only_the_calls_of_their_businesses() {
    let w = World::new().await;
    let (ann, bob, admin) = (
        browser_of(&w.app, &w.ann).await,
        browser_of(&w.app, &w.bob).await,
        browser_of(&w.app, &w.admin).await,
    );

    let anns = ann.get("/dashboard").await;
    let bobs = bob.get("/dashboard").await;
    let all = admin.get("/dashboard").await;

    assert_eq!(anns.status, 200);
    assert_eq!(
        rows(&anns.body),
        [w.ringing.as_str(), &w.to_ai, &w.answered]
    );
    assert!(!anns.body.contains(&w.bobs));
    assert_eq!(rows(&bobs.body), [w.bobs.as_str()]);
    assert_eq!(rows(&all.body).len(), 4);
    let today: Vec<i64> = [
        "today-calls",
        "today-owner",
        "today-ai",
        "today-voicemails",
        "today-missed",
    ]
    .iter()
    .map(|id| number_in(&anns, id))
    .collect();
    assert_eq!(today, [3, 1, 1, 0, 0]);
    assert_eq!(number_in(&bobs, "today-calls"), 1);
    assert_eq!(number_in(&all, "today-calls"), 4);
    let answered_row = format!(
        r#"<tr id="call-{}" data-route="owner" data-status="completed""#,
        w.answered
    );
    assert!(anns.body.contains(&answered_row), "{}", anns.body);
    assert!(anns
        .body
        .contains(&format!(r#"id="call-{}" data-route="ai""#, w.to_ai)));
    assert!(
        anns.body.contains(">AI agent</span>"),
        "the route is a word"
    );
    assert!(!anns.body.contains("<th scope=\"col\">Business</th>"));
    assert!(all.body.contains("<th scope=\"col\">Business</th>"));
    assert!(all.body.contains("Bob&#39;s Garage") || all.body.contains("Bob&#x27;s Garage"));
}

#[tokio::test]
async fn it_should_answer_another_owner_s_call_page_as_a_missing_one() {
    let w = World::new().await;
    let ann = browser_of(&w.app, &w.ann).await;

    let own = ann.get(&format!("/dashboard/calls/{}", w.answered)).await;
    let others = ann.get(&format!("/dashboard/calls/{}", w.bobs)).await;
    let unknown = ann
        .get(&format!("/dashboard/calls/{}", new_call_sid()))
        .await;
    let malformed = ann.get("/dashboard/calls/not-a-call").await;

    assert_eq!(own.status, 200);
    assert_eq!(others.status, 404);
    assert_eq!(others.body, unknown.body, "never told apart");
    assert_eq!(malformed.status, 404);
    assert!(!others.body.contains(&w.bobs));
    let admin = browser_of(&w.app, &w.admin).await;
    assert_eq!(
        admin
            .get(&format!("/dashboard/calls/{}", w.bobs))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn it_should_filter_the_calls_by_route_status_day_and_business() {
    let w = World::new().await;
    let (ann, admin) = (
        browser_of(&w.app, &w.ann).await,
        browser_of(&w.app, &w.admin).await,
    );
    let today = Utc::now().date_naive();
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap();
    let yesterday = today.checked_sub_days(Days::new(1)).unwrap();
    let anns = |query: String| {
        let ann = &ann;
        async move { rows(&ann.get(&format!("/dashboard?{query}")).await.body) }
    };

    assert_eq!(anns("route=ai".into()).await, [w.to_ai.as_str()]);
    assert_eq!(anns("status=ringing".into()).await, [w.ringing.as_str()]);
    assert_eq!(anns("route=&status=&from=&to=".into()).await.len(), 3);
    assert_eq!(anns(format!("from={today}&to={today}")).await.len(), 3);
    assert!(anns(format!("from={tomorrow}")).await.is_empty());
    assert!(anns(format!("to={yesterday}")).await.is_empty());
    let page = ann.get("/dashboard?route=ai&status=completed").await;
    assert!(page.body.contains(r#"<option value="ai" selected>"#));
    assert!(page.body.contains(r#"<option value="completed" selected>"#));
    let bobs_for_admin = admin
        .get(&format!("/dashboard?business={}", w.b.business_id))
        .await;
    assert_eq!(rows(&bobs_for_admin.body), [w.bobs.as_str()]);
    assert_eq!(number_in(&bobs_for_admin, "today-calls"), 1);
    let bobs_for_ann = ann
        .get(&format!("/dashboard?business={}", w.b.business_id))
        .await;
    assert_eq!(bobs_for_ann.status, 404);
    for bad in [
        "status=lost",
        "route=fax",
        "from=yesterday",
        "cursor=garbage!",
    ] {
        assert_eq!(
            ann.get(&format!("/dashboard?{bad}")).await.status,
            400,
            "{bad}"
        );
    }
    let _ = &w.bob;
}

#[tokio::test]
async fn it_should_answer_htmx_with_the_table_alone_and_the_numbers_out_of_band() {
    let w = World::new().await;
    let ann = browser_of(&w.app, &w.ann).await;
    let htmx = [("HX-Request", "true"), ("HX-Target", "calls-panel")];

    let (status, fragment) = get_with(&w.app, &ann, "/dashboard?route=ai", &htmx).await;
    let (_, numbers) = get_with(&w.app, &ann, "/dashboard/today", &[("HX-Request", "true")]).await;
    let plain = ann.get("/dashboard/today").await;

    assert_eq!(status, 200);
    assert!(
        fragment
            .trim_start()
            .starts_with(r#"<div id="calls-panel""#),
        "{fragment}"
    );
    assert!(!fragment.contains("<html") && !fragment.contains("<form"));
    assert_eq!(rows(&fragment), [w.to_ai.as_str()]);
    assert!(
        fragment.contains(r#"hx-swap-oob="true""#),
        "the numbers come along"
    );
    assert!(
        numbers.trim_start().starts_with(r#"<section id="today""#),
        "{numbers}"
    );
    assert!(
        numbers
            .contains(r#"hx-trigger="every 10s, htmx:sseMessage from:#calls-panel delay:500ms""#),
        "the numbers refresh on a timer and after each live event: {numbers}"
    );
    assert_eq!((plain.status, plain.location()), (303, "/dashboard"));
}

#[tokio::test]
async fn it_should_page_through_the_calls_with_the_api_s_cursor_keeping_the_filters() {
    let app = TestApp::spawn().await;
    let ann = app.owner().await;
    let a = owned_business(&app, &ann, "Ann's Bakery", true, chrono_tz::UTC).await;
    let mut made = Vec::new();
    for _ in 0..52 {
        made.push(incoming(&app, &a.number).await);
    }
    made.reverse();
    app.projections_caught_up().await;
    let browser = browser_of(&app, &ann).await;

    let first = browser.get("/dashboard?status=ringing").await;
    let older = attribute(&first.body, "id=\"older-calls\" href").unwrap();
    let second = browser.get(&older).await;

    let mut seen = rows(&first.body);
    assert_eq!(seen.len(), 50);
    assert!(
        older.starts_with("/dashboard?status=ringing&cursor="),
        "{older}"
    );
    assert!(
        first.body.contains(r#"sse-swap="new-call""#),
        "new calls go on top"
    );
    seen.extend(rows(&second.body));
    assert_eq!(seen, made);
    assert!(!second.body.contains("id=\"older-calls\""));
    assert!(second.body.contains("id=\"newest-calls\""));
    assert!(
        !second.body.contains(r#"sse-swap="new-call""#),
        "an older page stays put"
    );
}

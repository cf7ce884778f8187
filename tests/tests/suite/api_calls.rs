//! The read side of the REST API through the real server: calls (list, filters, cursor paging),
//! a call's detail, timeline and audit history, the statistics and the admin overview — with
//! calls driven through signed webhooks for two businesses of two owners, so every answer is
//! also a check that one owner never sees the other's calls.

use chrono_tz::UTC;
use reqwest::Method;
use serde_json::Value;
use support::calls::{completed, dial_result, incoming, owned_business, Owned, CALLER};
use support::{expect_problem, new_call_sid, TestApp, User};

/// Two owners, a business each, and calls driven through the webhooks:
/// Ann's: `answered` (the owner took it, 30 s), `to_ai` (missed, then the agent), `ringing`;
/// Bob's (owner unavailable): `b_done` (the agent, ended), `b_open` (the agent, going on).
struct World {
    app: TestApp,
    admin: User,
    ann: User,
    bob: User,
    a: Owned,
    b: Owned,
    answered: String,
    to_ai: String,
    ringing: String,
    b_done: String,
    b_open: String,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let (admin, ann, bob) = (app.admin().await, app.owner().await, app.owner().await);
        let a = owned_business(&app, &ann, &format!("Business of {}", ann.email), true, UTC).await;
        let b = owned_business(
            &app,
            &bob,
            &format!("Business of {}", bob.email),
            false,
            UTC,
        )
        .await;

        let answered = incoming(&app, &a.number).await;
        dial_result(&app, &answered, &a.number, "completed", "true").await;
        completed(&app, &answered, &a.number, "30").await;
        let to_ai = incoming(&app, &a.number).await;
        dial_result(&app, &to_ai, &a.number, "no-answer", "false").await;
        completed(&app, &to_ai, &a.number, "75").await;
        let b_done = incoming(&app, &b.number).await;
        completed(&app, &b_done, &b.number, "12").await;
        let ringing = incoming(&app, &a.number).await;
        let b_open = incoming(&app, &b.number).await;
        app.projections_caught_up().await;
        Self {
            app,
            admin,
            ann,
            bob,
            a,
            b,
            answered,
            to_ai,
            ringing,
            b_done,
            b_open,
        }
    }

    async fn get(&self, who: &User, path: &str) -> reqwest::Response {
        self.app
            .api(Method::GET, path, Some(&who.token), None)
            .await
    }

    async fn ok(&self, who: &User, path: &str) -> Value {
        let response = self.get(who, path).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// The CallSids Ann's list shows with `query`.
    async fn anns(&self, query: &str) -> Vec<String> {
        self.sids(&self.ann, &format!("/api/v1/calls?{query}"))
            .await
    }

    /// The CallSids of a list answer, in order.
    async fn sids(&self, who: &User, path: &str) -> Vec<String> {
        let body = self.ok(who, path).await;
        body["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|call| call["call_sid"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn it_should_list_to_each_owner_only_the_calls_of_their_businesses_newest_first() {
    let w = World::new().await;

    let anns = w.sids(&w.ann, "/api/v1/calls").await;
    let bobs = w.sids(&w.bob, "/api/v1/calls").await;
    let all = w.sids(&w.admin, "/api/v1/calls").await;

    assert_eq!(
        anns,
        [w.ringing.as_str(), w.to_ai.as_str(), w.answered.as_str()]
    );
    assert_eq!(bobs, [w.b_open.as_str(), w.b_done.as_str()]);
    assert_eq!(
        all,
        [
            w.b_open.as_str(),
            w.ringing.as_str(),
            w.b_done.as_str(),
            w.to_ai.as_str(),
            w.answered.as_str()
        ]
    );
    let page = w.ok(&w.ann, "/api/v1/calls").await;
    assert_eq!(page["next_cursor"], Value::Null);
    let first = &page["calls"][2];
    assert_eq!(first["business_id"], w.a.business_id.as_str());
    assert_eq!(first["phone_number"], w.a.number.as_str());
    assert_eq!(first["caller"], CALLER);
    assert_eq!(first["handled_by"], "owner");
    assert_eq!(first["status"], "completed");
    assert_eq!(first["duration_secs"], 30);
    assert_eq!(first["cost_amount"], "-0.0085", "a decimal is a string");
    assert_eq!(first["cost_currency"], "USD");
}

#[tokio::test]
async fn it_should_filter_calls_by_route_handler_status_business_and_time() {
    let w = World::new().await;

    let by_route = w.anns("route=ai").await;
    let by_owner = w.anns("handled_by=owner").await;
    let by_status = w.anns("status=ringing").await;
    let all = w.ok(&w.ann, "/api/v1/calls").await;
    let to_ai_start = all["calls"][1]["started_at"].as_str().unwrap().to_owned();
    let since = w.anns(&format!("from={to_ai_start}")).await;
    let before = w.anns(&format!("to={to_ai_start}")).await;
    let bobs_for_admin = w
        .sids(
            &w.admin,
            &format!("/api/v1/calls?business_id={}", w.b.business_id),
        )
        .await;
    let anns_own = w
        .anns(&format!("business_id={}&status=completed", w.a.business_id))
        .await;

    assert_eq!(by_route, [w.to_ai.as_str()]);
    assert_eq!(by_owner, [w.answered.as_str()]);
    assert_eq!(by_status, [w.ringing.as_str()]);
    assert_eq!(since, [w.ringing.as_str(), w.to_ai.as_str()]);
    assert_eq!(before, [w.answered.as_str()]);
    assert_eq!(bobs_for_admin, [w.b_open.as_str(), w.b_done.as_str()]);
    assert_eq!(anns_own, [w.to_ai.as_str(), w.answered.as_str()]);
}

#[tokio::test]
async fn it_should_page_through_every_call_exactly_once_with_the_cursor() {
    let w = World::new().await;
    let all = w.sids(&w.admin, "/api/v1/calls").await;

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = "/api/v1/calls?limit=2".to_owned();
    loop {
        let page = w.ok(&w.admin, &path).await;
        pages += 1;
        let calls = page["calls"].as_array().unwrap();
        assert!(calls.len() <= 2);
        seen.extend(
            calls
                .iter()
                .map(|c| c["call_sid"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/calls?limit=2&cursor={cursor}"),
            None => break,
        }
    }

    assert_eq!(pages, 3);
    assert_eq!(seen, all);
}

#[tokio::test]
async fn it_should_refuse_bad_filter_values_limits_dates_and_cursors_with_400() {
    let w = World::new().await;

    for query in [
        "status=lost",
        "route=fax",
        "handled_by=nobody",
        "from=yesterday",
        "to=2026-13-01T00:00:00Z",
        "business_id=not-a-uuid",
        "limit=0",
        "limit=201",
        "limit=ten",
        "colour=red",
        "status=ringing&status=completed",
    ] {
        let response = w.get(&w.ann, &format!("/api/v1/calls?{query}")).await;
        let body = expect_problem(response, 400, "malformed_query").await;
        assert!(!body["detail"].as_str().unwrap().is_empty(), "{query}");
    }
    let reversed = "from=2026-03-09T00:00:00Z&to=2026-03-08T00:00:00Z";
    expect_problem(
        w.get(&w.ann, &format!("/api/v1/calls?{reversed}")).await,
        400,
        "invalid_range",
    )
    .await;
    for cursor in ["garbage!", "e30", "eyJzdGFydGVkX2F0IjoxfQ"] {
        let response = w
            .get(&w.ann, &format!("/api/v1/calls?cursor={cursor}"))
            .await;
        expect_problem(response, 400, "invalid_cursor").await;
    }
    for query in [
        "from=2026-02-30",
        "to=yesterday",
        "from=2026-03-09&to=2026-03-08",
        "from=2024-01-01&to=2025-01-02",
        "business=1",
    ] {
        let response = w.get(&w.ann, &format!("/api/v1/stats/daily?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
    }
    expect_problem(
        w.get(&w.ann, "/api/v1/stats/hourly").await,
        400,
        "malformed_query",
    )
    .await;
}

#[tokio::test]
async fn it_should_answer_a_filter_by_someone_elses_or_an_unknown_business_with_404() {
    let w = World::new().await;
    let unknown = uuid::Uuid::new_v4();

    for (who, business) in [
        (&w.ann, w.b.business_id.clone()),
        (&w.bob, w.a.business_id.clone()),
        (&w.ann, unknown.to_string()),
        (&w.admin, unknown.to_string()),
    ] {
        for path in [
            "/api/v1/calls",
            "/api/v1/stats/daily",
            "/api/v1/stats/hourly",
        ] {
            let response = w.get(who, &format!("{path}?business_id={business}")).await;
            expect_problem(response, 404, "business_not_found").await;
        }
    }
}

#[tokio::test]
async fn it_should_show_an_own_call_with_its_detail_and_timeline() {
    let w = World::new().await;

    let detail = w.ok(&w.ann, &format!("/api/v1/calls/{}", w.to_ai)).await;
    let timeline = w
        .ok(&w.ann, &format!("/api/v1/calls/{}/timeline", w.to_ai))
        .await;

    assert_eq!(detail["call_sid"], w.to_ai.as_str());
    assert_eq!(detail["route"], "ai");
    assert_eq!(detail["handled_by"], "ai");
    assert_eq!(detail["owner_outcome"], "no_answer");
    assert_eq!(detail["status"], "completed");
    assert_eq!(detail["duration_secs"], 75);
    assert_eq!(detail["message"], Value::Null);
    assert_eq!(detail["transcript"], serde_json::json!([]));
    assert_eq!(timeline["call_sid"], w.to_ai.as_str());
    let entries = timeline["entries"].as_array().unwrap();
    let types: Vec<&str> = entries
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, w.app.event_types_of(&w.to_ai).await);
    let sequences: Vec<i64> = entries
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(sequences, (1..=entries.len() as i64).collect::<Vec<_>>());
    assert_eq!(entries[0]["actor"], "twilio");
    assert_eq!(entries[2]["data"]["reason"], "no_answer");
}

#[tokio::test]
async fn it_should_answer_another_tenants_call_as_if_it_did_not_exist() {
    let w = World::new().await;
    let unknown = new_call_sid();

    for sid in [
        w.b_done.as_str(),
        unknown.as_str(),
        "not-a-call-sid",
        "CA%00",
    ] {
        for suffix in ["", "/timeline", "/history"] {
            let path = format!("/api/v1/calls/{sid}{suffix}");
            expect_problem(w.get(&w.ann, &path).await, 404, "call_not_found").await;
        }
    }
    for suffix in ["", "/timeline", "/history"] {
        let path = format!("/api/v1/calls/{}{suffix}", w.b_done);
        w.ok(&w.bob, &path).await;
        w.ok(&w.admin, &path).await;
    }
}

#[tokio::test]
async fn it_should_replay_the_history_of_a_call_from_the_event_store_with_the_state_after_each_event(
) {
    let w = World::new().await;
    // Not waiting for the projections: the history does not read a read model.
    let fresh = incoming(&w.app, &w.a.number).await;

    let history = w
        .ok(&w.ann, &format!("/api/v1/calls/{}/history", w.answered))
        .await;
    let just_now = w
        .ok(&w.ann, &format!("/api/v1/calls/{fresh}/history"))
        .await;

    assert_eq!(history["aggregate_type"], "Call");
    assert_eq!(history["aggregate_id"], w.answered.as_str());
    let stored = w.app.events_of(&w.answered).await;
    let entries = history["entries"].as_array().unwrap();
    assert_eq!(entries.len(), stored.len());
    for (index, (entry, (event_type, payload, metadata))) in entries.iter().zip(&stored).enumerate()
    {
        assert_eq!(entry["sequence"], index + 1);
        assert_eq!(entry["event_type"], event_type.as_str());
        assert_eq!(&entry["event"], payload);
        assert_eq!(entry["actor"], metadata["actor"]);
        assert_eq!(entry["correlation_id"], w.answered.as_str());
        assert_eq!(
            entry["state_after"]["received"]["call_sid"],
            w.answered.as_str()
        );
    }
    let legs: Vec<&str> = entries
        .iter()
        .map(|e| e["state_after"]["leg"].as_str().unwrap())
        .collect();
    assert_eq!(legs[..3], ["not_received", "ringing_owner", "with_owner"]);
    let ended = entries
        .iter()
        .position(|e| e["event_type"] == "CallEnded")
        .unwrap();
    assert!(entries[..ended]
        .iter()
        .all(|e| e["state_after"]["end"].is_null()));
    assert_eq!(entries[ended]["state_after"]["end"]["status"], "completed");
    assert_eq!(just_now["entries"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn it_should_count_each_owners_calls_per_day_and_per_hour() {
    let w = World::new().await;

    let daily = w.ok(&w.ann, "/api/v1/stats/daily").await;
    let everyone = w.ok(&w.admin, "/api/v1/stats/daily").await;
    let hourly = w
        .ok(
            &w.ann,
            &format!("/api/v1/stats/hourly?business_id={}", w.a.business_id),
        )
        .await;

    let today = chrono::Utc::now().date_naive();
    assert_eq!(daily["to"], today.to_string());
    assert_eq!(daily["from"], (today - chrono::Days::new(29)).to_string());
    let days = daily["days"].as_array().unwrap();
    assert_eq!(days.len(), 1, "{daily}");
    assert_eq!(days[0]["business_id"], w.a.business_id.as_str());
    assert_eq!(days[0]["calls"], 3);
    assert_eq!(days[0]["answered_by_owner"], 1);
    assert_eq!(days[0]["handled_by_ai"], 1);
    assert_eq!(days[0]["total_cost"], "-0.0170", "a decimal is a string");
    let businesses: Vec<&Value> = everyone["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["business_id"])
        .collect();
    assert_eq!(businesses.len(), 2);
    let hours = hourly["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    assert_eq!(
        hours
            .iter()
            .map(|h| h["calls"].as_i64().unwrap())
            .sum::<i64>(),
        3
    );
}

#[tokio::test]
async fn it_should_give_the_admin_the_overview_and_refuse_it_to_an_owner() {
    let w = World::new().await;

    let overview = w.ok(&w.admin, "/api/v1/admin/overview").await;
    let refused = w.get(&w.ann, "/api/v1/admin/overview").await;

    assert_eq!(overview["totals"]["calls"], 5);
    assert_eq!(overview["totals"]["businesses"], 2);
    assert!(overview["head"]["global_position"].as_i64().unwrap() > 0);
    assert!(overview["projections"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "calls"));
    expect_problem(refused, 403, "admin_only").await;
}

#[tokio::test]
async fn it_should_refuse_every_read_without_a_token() {
    let app = TestApp::spawn().await;
    let sid = new_call_sid();

    for path in [
        "/api/v1/calls".to_owned(),
        format!("/api/v1/calls/{sid}"),
        format!("/api/v1/calls/{sid}/timeline"),
        format!("/api/v1/calls/{sid}/history"),
        "/api/v1/stats/daily".to_owned(),
        format!("/api/v1/stats/hourly?business_id={}", uuid::Uuid::new_v4()),
        "/api/v1/admin/overview".to_owned(),
    ] {
        let response = app.api(Method::GET, &path, None, None).await;
        expect_problem(response, 401, "missing_token").await;
    }
}

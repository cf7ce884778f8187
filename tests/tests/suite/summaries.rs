//! Post-call summaries, end to end: calls driven through the real server (signed webhooks; the
//! voice bridge's events appended directly), OpenAI's Responses API faked with wiremock, and the
//! outcome read back from the event store and the REST API. The summariser's restarts and its
//! dead-letter rule are tested on a summariser run directly over a test database; voicemails,
//! summarised from Twilio's transcription, in [`voicemail`].

mod voicemail;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::business::{AgentSettings, BusinessCommand, SealedSecret};
use domain::call::{CallCommand, FinalStatus, IncomingCall, Speaker, Urgency};
use domain::routing::{Route, RouteReason};
use domain::values::{BusinessId, CallSid, CallerId, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{AppendSignal, Stores};
use infrastructure::openai::summary::SummaryClient;
use infrastructure::summarizer::{RetryPolicy, Summarizer};
use infrastructure::vault::Vault;
use serde_json::{json, Value};
use support::{new_call_sid, seed, SeedBusiness, Seeded, TestApp, TestDatabase};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CALLER: &str = "+14155550111";
/// The business' own OpenAI key, sealed at rest and opened by the summariser.
const OPENAI_KEY: &str = "sk-proj-test-summaries-0123456789WXYZ";
/// `ENCRYPTION_KEY` of `support::test_settings`, decoded.
const ENCRYPTION_KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
const SUMMARY: &str = "Ann Baker called: her kitchen sink leaks. The receptionist promised a call back today. Follow-up: call Ann on +14155550111 before 5 pm.";
const MODEL: &str = "gpt-test-summary";

/// A Responses API answer as OpenAI sends it.
fn answer(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b", "object": "response",
        "created_at": 1_741_476_542u64, "status": "completed", "error": null,
        "incomplete_details": null, "model": "gpt-4o-mini-2024-07-18",
        "output": [{
            "type": "message", "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
            "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]
        }],
        "parallel_tool_calls": true, "store": false, "temperature": 1.0, "tool_choice": "auto",
        "tools": [], "top_p": 1.0, "truncation": "disabled", "metadata": {},
        "usage": {"input_tokens": 328, "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": 52, "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": 380}
    }))
}

fn openai_error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}
    }))
}

fn meta(sid: &str, actor: Actor) -> CommandMetadata {
    CommandMetadata::new(sid, "test:summaries", actor, Utc::now())
}

/// Gives the seeded business an agent with [`OPENAI_KEY`], sealed as the REST API seals it.
async fn give_agent_key(stores: &Stores, business: BusinessId) {
    let sealed = Vault::new(ENCRYPTION_KEY, [])
        .seal(business, OPENAI_KEY)
        .unwrap();
    stores
        .businesses
        .execute(
            &business.to_string(),
            BusinessCommand::ConfigureAgent(AgentSettings {
                model: "gpt-realtime".into(),
                voice: "marin".into(),
                instructions: "Take a message.".into(),
                api_key: Some(sealed),
            }),
            &meta("seed", Actor::Cli),
        )
        .await
        .unwrap();
}

/// The real server, talking to `openai` for summaries, and a business whose calls go to its AI
/// agent (owner unavailable) with a real sealed key.
async fn app_with_ai_business(openai: &MockServer) -> (TestApp, Seeded) {
    let app = TestApp::spawn_with(&[
        ("OPENAI_API_BASE", &openai.uri()),
        ("OPENAI_SUMMARY_MODEL", MODEL),
    ])
    .await;
    let stores = app.stores();
    let seeded = seed(
        &stores,
        SeedBusiness {
            owner_available: false,
            agent: false,
            ..SeedBusiness::default()
        },
    )
    .await;
    give_agent_key(&stores, seeded.business_id).await;
    (app, seeded)
}

fn webhook<'a>(sid: &'a str, seeded: &'a Seeded, status: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CallSid", sid),
        ("AccountSid", support::TEST_ACCOUNT_SID),
        ("From", CALLER),
        ("To", &seeded.number),
        ("CallStatus", status),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ]
}

/// Twilio's first webhook: the call goes to the AI agent.
async fn call_comes_in(app: &TestApp, seeded: &Seeded) -> String {
    let sid = new_call_sid();
    let response = app
        .post_twilio("/twilio/voice/incoming", &webhook(&sid, seeded, "ringing"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.event_types_of(&sid).await,
        vec!["CallReceived", "CallRoutedToAi"]
    );
    sid
}

/// What the voice bridge records of a conversation (it is not wired in yet).
async fn conversation(stores: &Stores, sid: &str, lines: &[(Speaker, &str)], close: bool) {
    let bridge = meta(sid, Actor::VoiceBridge);
    stores
        .calls
        .execute(
            sid,
            CallCommand::StartAiSession {
                model: "gpt-realtime".into(),
                voice: "marin".into(),
            },
            &bridge,
        )
        .await
        .unwrap();
    say(stores, sid, lines).await;
    stores
        .calls
        .execute(
            sid,
            CallCommand::TakeMessage {
                caller_name: Some("Ann Baker".into()),
                callback_number: Some(CALLER.into()),
                message: "Kitchen sink leaks; call back today.".into(),
                urgency: Urgency::High,
            },
            &bridge,
        )
        .await
        .unwrap();
    if close {
        end_session(stores, sid).await;
    }
}

async fn say(stores: &Stores, sid: &str, lines: &[(Speaker, &str)]) {
    for (n, (speaker, text)) in lines.iter().enumerate() {
        stores
            .calls
            .execute(
                sid,
                CallCommand::RecordTranscriptSegment {
                    speaker: *speaker,
                    text: (*text).into(),
                    offset_ms: n as u64 * 2_500,
                },
                &meta(sid, Actor::VoiceBridge),
            )
            .await
            .unwrap();
    }
}

async fn end_session(stores: &Stores, sid: &str) {
    stores
        .calls
        .execute(
            sid,
            CallCommand::EndAiSession {
                reason: "caller hung up".into(),
            },
            &meta(sid, Actor::VoiceBridge),
        )
        .await
        .unwrap();
}

const LINES: &[(Speaker, &str)] = &[
    (
        Speaker::Agent,
        "Joe's Plumbing, this is the assistant. How can I help?",
    ),
    (
        Speaker::Caller,
        "Hi, I'm Ann Baker, my kitchen sink is leaking.",
    ),
    (
        Speaker::Agent,
        "I'm sorry to hear that. Joe will call you back today.",
    ),
];

/// Twilio's status callback: the call is over.
async fn call_ends(app: &TestApp, seeded: &Seeded, sid: &str) {
    let mut params = webhook(sid, seeded, "completed");
    params.push(("CallDuration", "73"));
    let response = app.post_twilio("/twilio/voice/status", &params).await;
    assert_eq!(response.status(), 204);
}

/// The events of `sid` once one of type `event_type` is among them (waits up to 30 s).
async fn events_once(
    pool: &sqlx::PgPool,
    sid: &str,
    event_type: &str,
) -> Vec<(String, Value, Value)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // The calls' personal fields (the summary among them) opened, as readers see them.
        let events = support::opened_events_of(pool, sid).await;
        if events.iter().any(|(t, _, _)| t == event_type) {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "no {event_type} for {sid}: {:?}",
            events.iter().map(|(t, _, _)| t).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn of_type<'a>(
    events: &'a [(String, Value, Value)],
    event_type: &str,
) -> Vec<&'a (String, Value, Value)> {
    events.iter().filter(|(t, _, _)| t == event_type).collect()
}

async fn requests(openai: &MockServer) -> Vec<Request> {
    openai.received_requests().await.unwrap()
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn it_should_summarise_an_ai_call_after_it_ends_with_the_business_key() {
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(answer(SUMMARY))
        .mount(&openai)
        .await;
    let (app, seeded) = app_with_ai_business(&openai).await;
    let sid = call_comes_in(&app, &seeded).await;
    conversation(&app.stores(), &sid, LINES, true).await;

    call_ends(&app, &seeded, &sid).await;

    let events = events_once(&app.db.pool, &sid, "CallSummarized").await;
    let summarized = of_type(&events, "CallSummarized");
    assert_eq!(summarized.len(), 1);
    let (_, payload, metadata) = summarized[0];
    assert_eq!(payload["CallSummarized"]["summary"], SUMMARY);
    assert_eq!(metadata["actor"], "system");
    assert_eq!(metadata["correlation_id"], sid.as_str());
    let causation = metadata["causation"].as_str().unwrap();
    assert!(
        causation
            .strip_prefix("summary:")
            .is_some_and(|n| n.parse::<i64>().is_ok()),
        "{causation}"
    );
    let sent = requests(&openai).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].headers["authorization"],
        format!("Bearer {OPENAI_KEY}").as_str()
    );
    let request = body(&sent[0]);
    assert_eq!(request["model"], MODEL);
    assert_eq!(request["store"], false);
    assert!(request["instructions"]
        .as_str()
        .unwrap()
        .contains("follow-up"));
    let input = request["input"].as_str().unwrap();
    for expected in [
        "Business: Joe's Plumbing",
        "Caller's number: +14155550111",
        "[00:02] Caller: Hi, I'm Ann Baker, my kitchen sink is leaking.",
        "[00:05] Receptionist: I'm sorry to hear that. Joe will call you back today.",
        "from Ann Baker, call back on +14155550111 (urgency high): Kitchen sink leaks; call back today.",
    ] {
        assert!(input.contains(expected), "{expected:?} not in:\n{input}");
    }
    app.projections_caught_up().await;
    let admin = app.admin().await;
    let detail: Value = app
        .api(
            reqwest::Method::GET,
            &format!("/api/v1/calls/{sid}"),
            Some(&admin.token),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["summary"], SUMMARY, "{detail}");
}

#[tokio::test]
async fn it_should_ask_again_when_openai_is_unavailable_twice() {
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(openai_error(503, "The engine is currently overloaded"))
        .up_to_n_times(2)
        .mount(&openai)
        .await;
    Mock::given(method("POST"))
        .respond_with(answer(SUMMARY))
        .mount(&openai)
        .await;
    let (app, seeded) = app_with_ai_business(&openai).await;
    let sid = call_comes_in(&app, &seeded).await;
    conversation(&app.stores(), &sid, LINES, true).await;

    call_ends(&app, &seeded, &sid).await;

    let events = events_once(&app.db.pool, &sid, "CallSummarized").await;
    assert_eq!(
        of_type(&events, "CallSummarized")[0].1["CallSummarized"]["summary"],
        SUMMARY
    );
    assert!(of_type(&events, "CallSummaryFailed").is_empty());
    assert_eq!(requests(&openai).await.len(), 3);
}

#[tokio::test]
async fn it_should_record_a_refused_summary_once_and_not_ask_again() {
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(openai_error(
            401,
            "Incorrect API key provided: sk-proj-****WXYZ.",
        ))
        .mount(&openai)
        .await;
    let (app, seeded) = app_with_ai_business(&openai).await;
    let sid = call_comes_in(&app, &seeded).await;
    conversation(&app.stores(), &sid, LINES, true).await;

    call_ends(&app, &seeded, &sid).await;

    events_once(&app.db.pool, &sid, "CallSummaryFailed").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await; // would the summariser try again?
    let events = app.events_of(&sid).await;
    let failed = of_type(&events, "CallSummaryFailed");
    assert_eq!(failed.len(), 1);
    let reason = failed[0].1["CallSummaryFailed"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("401") && reason.contains("Incorrect API key"),
        "{reason}"
    );
    assert!(!reason.contains(OPENAI_KEY), "{reason}");
    assert_eq!(failed[0].2["actor"], "system");
    assert!(of_type(&events, "CallSummarized").is_empty());
    assert_eq!(requests(&openai).await.len(), 1, "a 401 is not retried");
    assert_eq!(Summarizer::pending(&app.db.pool).await.unwrap(), 0);
}

#[tokio::test]
async fn it_should_not_summarise_a_call_without_an_ai_conversation() {
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer(SUMMARY))
        .mount(&openai)
        .await;
    let (app, seeded) = app_with_ai_business(&openai).await;
    let silent = call_comes_in(&app, &seeded).await;
    let talked = call_comes_in(&app, &seeded).await;
    conversation(&app.stores(), &talked, LINES, true).await;

    call_ends(&app, &seeded, &silent).await;
    call_ends(&app, &seeded, &talked).await;

    // The summariser reads in stream order: once the second call is summarised, it has passed
    // the end of the first.
    events_once(&app.db.pool, &talked, "CallSummarized").await;
    assert_eq!(
        app.event_types_of(&silent).await,
        vec!["CallReceived", "CallRoutedToAi", "CallEnded"]
    );
    assert_eq!(requests(&openai).await.len(), 1);
}

#[tokio::test]
async fn it_should_wait_for_the_agents_last_words_before_summarising() {
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer(SUMMARY))
        .mount(&openai)
        .await;
    let (app, seeded) = app_with_ai_business(&openai).await;
    let sid = call_comes_in(&app, &seeded).await;
    let stores = app.stores();
    conversation(&stores, &sid, LINES, false).await;

    // Twilio reports the end while the bridge still writes the conversation's last lines.
    call_ends(&app, &seeded, &sid).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    say(&stores, &sid, &[(Speaker::Agent, "Goodbye, Ann!")]).await;
    end_session(&stores, &sid).await;

    events_once(&app.db.pool, &sid, "CallSummarized").await;
    let sent = requests(&openai).await;
    assert_eq!(sent.len(), 1);
    let input = body(&sent[0])["input"].as_str().unwrap().to_owned();
    assert!(input.contains("Receptionist: Goodbye, Ann!"), "{input}");
}

#[tokio::test]
async fn it_should_record_that_a_business_without_an_openai_key_gets_no_summary() {
    let openai = MockServer::start().await;
    let app = TestApp::spawn_with(&[("OPENAI_API_BASE", &openai.uri())]).await;
    let stores = app.stores();
    let seeded = seed(
        &stores,
        SeedBusiness {
            agent: false,
            ..SeedBusiness::default()
        },
    )
    .await;
    let sid = new_call_sid();
    ai_call_without_webhooks(&stores, &sid, seeded.business_id, LINES).await;

    let events = events_once(&app.db.pool, &sid, "CallSummaryFailed").await;

    assert_eq!(
        of_type(&events, "CallSummaryFailed")[0].1["CallSummaryFailed"]["reason"],
        infrastructure::summarizer::NO_KEY
    );
    assert!(requests(&openai).await.is_empty());
}

#[tokio::test]
async fn it_should_record_no_key_for_the_demo_business_whose_placeholder_key_opens_nothing() {
    let openai = MockServer::start().await;
    let app = TestApp::spawn_with(&[("OPENAI_API_BASE", &openai.uri())]).await;
    let stores = app.stores();
    let seeded = seed(&stores, SeedBusiness::default()).await;
    stores
        .businesses
        .execute(
            &seeded.business_id.to_string(),
            BusinessCommand::ConfigureAgent(AgentSettings {
                model: "gpt-realtime".into(),
                voice: "marin".into(),
                instructions: "Take a message.".into(),
                api_key: Some(SealedSecret {
                    key_id: infrastructure::vault::PLACEHOLDER_KEY_ID.into(),
                    ciphertext: String::new(),
                    last_four: "none".into(),
                }),
            }),
            &meta("seed", Actor::Cli),
        )
        .await
        .unwrap();
    let sid = new_call_sid();
    ai_call_without_webhooks(&stores, &sid, seeded.business_id, LINES).await;

    let events = events_once(&app.db.pool, &sid, "CallSummaryFailed").await;

    assert_eq!(
        of_type(&events, "CallSummaryFailed")[0].1["CallSummaryFailed"]["reason"],
        infrastructure::summarizer::NO_KEY,
        "not a key that 'cannot be opened'"
    );
    assert!(requests(&openai).await.is_empty());
}

/// A whole AI call recorded straight into the event store (no server needed).
async fn ai_call_without_webhooks(
    stores: &Stores,
    sid: &str,
    business: BusinessId,
    lines: &[(Speaker, &str)],
) {
    stores
        .calls
        .execute(
            sid,
            CallCommand::Receive {
                call: IncomingCall {
                    call_sid: CallSid::parse(sid).unwrap(),
                    from: CallerId::Number(E164::parse(CALLER).unwrap()),
                    to: "+14155550100".into(),
                    business_id: Some(business),
                },
                route: Route::AiAgent {
                    why: RouteReason::OwnerUnavailable,
                },
            },
            &meta(sid, Actor::Twilio),
        )
        .await
        .unwrap();
    conversation(stores, sid, lines, true).await;
    stores
        .calls
        .execute(
            sid,
            CallCommand::End {
                status: FinalStatus::Completed,
                duration_secs: Some(73),
            },
            &meta(sid, Actor::Twilio),
        )
        .await
        .unwrap();
}

/// A summariser of its own over `db` (as `callassist serve` runs one), talking to `openai`.
fn summarizer(db: &TestDatabase, stores: &Arc<Stores>, openai: &MockServer) -> Summarizer {
    let settings = support::test_settings(&db.url, &[("OPENAI_API_BASE", &openai.uri())]);
    let client = SummaryClient::new(
        &settings.openai.api_base,
        "gpt-4o-mini",
        Duration::from_secs(5),
    )
    .unwrap()
    .with_retries(1, Duration::from_millis(1));
    Summarizer::new(
        db.pool.clone(),
        stores.clone(),
        Arc::new(Vault::new(ENCRYPTION_KEY, [])),
        client,
    )
}

/// A business with an agent and a key, for tests without a server.
async fn business_with_key(stores: &Stores) -> BusinessId {
    let seeded = seed(
        stores,
        SeedBusiness {
            agent: false,
            ..SeedBusiness::default()
        },
    )
    .await;
    give_agent_key(stores, seeded.business_id).await;
    seeded.business_id
}

#[tokio::test]
async fn it_should_not_summarise_a_call_twice_when_the_summarizer_restarts() {
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer(SUMMARY))
        .mount(&openai)
        .await;
    let db = TestDatabase::fresh().await;
    let stores = Arc::new(Stores::new(&db.pool, AppendSignal::new()));
    let business = business_with_key(&stores).await;
    let first = new_call_sid();
    ai_call_without_webhooks(&stores, &first, business, LINES).await;
    let running = tokio::spawn(summarizer(&db, &stores, &openai).run());
    events_once(&db.pool, &first, "CallSummarized").await;

    // A crash after OpenAI answered and the summary was appended, before the job was done: the
    // job is back, and the checkpoint is behind the call's end.
    running.abort();
    let _ = running.await;
    sqlx::query(
        "INSERT INTO summary_jobs (call_sid, global_position) VALUES ($1, 1) \
         ON CONFLICT (call_sid) DO NOTHING",
    )
    .bind(&first)
    .execute(&db.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE summary_checkpoints SET transaction_id = 0, global_position = 0")
        .execute(&db.pool)
        .await
        .unwrap();
    let restarted = tokio::spawn(summarizer(&db, &stores, &openai).run());
    let second = new_call_sid();
    ai_call_without_webhooks(&stores, &second, business, LINES).await;
    events_once(&db.pool, &second, "CallSummarized").await;

    let summaries: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'CallSummarized'",
    )
    .bind(&first)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(summaries, 1);
    assert_eq!(requests(&openai).await.len(), 2, "one request per call");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Summarizer::pending(&db.pool).await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "the replayed job was never done");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(Summarizer::position(&db.pool).await.unwrap().is_some());
    restarted.abort();
}

#[tokio::test]
async fn it_should_give_up_on_a_call_openai_keeps_failing_for_without_holding_up_others() {
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("Hopeless"))
        .respond_with(openai_error(500, "The server had an error"))
        .mount(&openai)
        .await;
    Mock::given(method("POST"))
        .respond_with(answer(SUMMARY))
        .mount(&openai)
        .await;
    let db = TestDatabase::fresh().await;
    let stores = Arc::new(Stores::new(&db.pool, AppendSignal::new()));
    let business = business_with_key(&stores).await;
    let hopeless = new_call_sid();
    ai_call_without_webhooks(
        &stores,
        &hopeless,
        business,
        &[(Speaker::Caller, "Hopeless")],
    )
    .await;
    let fine = new_call_sid();
    ai_call_without_webhooks(&stores, &fine, business, LINES).await;
    let policy = RetryPolicy {
        first_delay: Duration::from_millis(300),
        max_delay: Duration::from_millis(300),
        give_up_after_attempts: 3,
        give_up_after: Duration::from_millis(500),
        session_grace: Duration::from_secs(60),
    };
    let running = tokio::spawn(
        summarizer(&db, &stores, &openai)
            .with_retry_policy(policy)
            .run(),
    );

    let fine_events = events_once(&db.pool, &fine, "CallSummarized").await;
    let hopeless_events = events_once(&db.pool, &hopeless, "CallSummaryFailed").await;

    assert!(of_type(&fine_events, "CallSummaryFailed").is_empty());
    let reason = of_type(&hopeless_events, "CallSummaryFailed")[0].1["CallSummaryFailed"]["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.starts_with("gave up after 3 attempts"), "{reason}");
    assert!(reason.contains("The server had an error"), "{reason}");
    let asked: usize = requests(&openai)
        .await
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("Hopeless"))
        .count();
    assert_eq!(asked, 3);
    running.abort();
}

//! Audit: a call's history replayed from the event store, on the real PostgreSQL — through the
//! real webhooks, and from rows written straight into `events` (old versions, odd metadata,
//! payloads that no longer read).

use chrono::{TimeZone, Utc};
use domain::business::Business;
use domain::values::CallSid;
use infrastructure::audit::{self, AuditError, History};
use serde_json::{json, Value};
use sqlx::PgPool;
use support::{new_call_sid, seed, SeedBusiness, Seeded, TestApp, TestDatabase};
use uuid::Uuid;

const CALLER: &str = "+14155550111";

fn incoming<'a>(sid: &'a str, seeded: &'a Seeded) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CallSid", sid),
        ("AccountSid", support::TEST_ACCOUNT_SID),
        ("From", CALLER),
        ("To", &seeded.number),
        ("Caller", CALLER),
        ("Called", &seeded.number),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ]
}

/// Writes `events` (type, version, payload, metadata) as sequences 1, 2, … of one aggregate,
/// straight into the table: nothing else (no command, no projection) sees them.
async fn store_rows(
    pool: &PgPool,
    aggregate_type: &str,
    id: &str,
    events: &[(&str, &str, Value, Value)],
) {
    for (index, (event_type, version, payload, metadata)) in events.iter().enumerate() {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(aggregate_type)
        .bind(id)
        .bind(i64::try_from(index).unwrap() + 1)
        .bind(event_type)
        .bind(version)
        .bind(payload)
        .bind(metadata)
        .execute(pool)
        .await
        .unwrap();
    }
}

fn webhook_metadata(sid: &str, path: &str, at: &str) -> Value {
    json!({"correlation_id": sid, "causation": format!("webhook:{path}"), "actor": "twilio",
           "received_at": at, "From": CALLER})
}

fn call_received(sid: &str) -> Value {
    json!({"CallReceived": {"call_sid": sid, "from": {"kind": "number", "value": CALLER},
                            "to": "+15555550100", "business_id": null}})
}

fn column<'a>(
    history: &'a History,
    pick: impl Fn(&'a audit::HistoryEntry) -> Option<&'a str>,
) -> Vec<Option<&'a str>> {
    history.entries.iter().map(pick).collect()
}

#[tokio::test]
async fn it_should_replay_a_call_driven_through_the_webhooks_with_the_state_after_each_event() {
    let app = TestApp::spawn().await;
    let seeded = seed(
        &app.stores(),
        SeedBusiness {
            agent: false,
            ..SeedBusiness::default()
        },
    )
    .await;
    let sid = new_call_sid();
    let mut dial = incoming(&sid, &seeded);
    dial.extend([
        ("DialCallStatus", "no-answer"),
        ("DialCallSid", "CAffffffffffffffffffffffffffffffff"),
    ]);
    let mut voicemail = incoming(&sid, &seeded);
    voicemail.extend([
        ("RecordingUrl", "https://api.twilio.com/Recordings/RE1"),
        ("RecordingDuration", "9"),
        ("Digits", "hangup"),
    ]);
    let mut status = incoming(&sid, &seeded);
    status.retain(|(key, _)| *key != "CallStatus");
    status.extend([("CallStatus", "completed"), ("CallDuration", "17")]);
    for (path, params) in [
        ("/twilio/voice/incoming", incoming(&sid, &seeded)),
        ("/twilio/voice/dial-result", dial),
        ("/twilio/voice/voicemail", voicemail),
        ("/twilio/voice/status", status),
    ] {
        let response = app.post_twilio(path, &params).await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    let history = audit::call_history(
        &app.db.pool,
        Some(&support::personal_data(&app.db.pool)),
        &CallSid::parse(&sid).unwrap(),
    )
    .await
    .unwrap()
    .expect("the call has events");

    assert_eq!(
        (history.aggregate_type, history.aggregate_id.as_str()),
        ("Call", sid.as_str())
    );
    let sequences: Vec<usize> = history.entries.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, vec![1, 2, 3, 4, 5, 6]);
    let types: Vec<&str> = history
        .entries
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        types,
        vec![
            "CallReceived",
            "CallRoutedToOwner",
            "OwnerMissed",
            "CallRoutedToVoicemail",
            "VoicemailRecorded",
            "CallEnded"
        ]
    );
    assert!(history
        .entries
        .iter()
        .all(|e| e.event_version == "1.0" && e.stored_version == "1.0"));
    assert_eq!(
        column(&history, |e| e.actor.as_deref()),
        vec![Some("twilio"); 6]
    );
    assert_eq!(
        column(&history, |e| e.correlation_id.as_deref()),
        vec![Some(sid.as_str()); 6]
    );
    assert_eq!(
        column(&history, |e| e.causation.as_deref()),
        [
            "incoming",
            "incoming",
            "dial-result",
            "dial-result",
            "voicemail",
            "status",
        ]
        .map(|path| format!("webhook:/twilio/voice/{path}"))
        .iter()
        .map(|c| Some(c.as_str()))
        .collect::<Vec<_>>()
    );
    let times: Vec<_> = history
        .entries
        .iter()
        .map(|e| e.received_at.expect("received_at"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in the order received: {times:?}"
    );
    let stored: Vec<Value> = app
        .events_of(&sid)
        .await
        .into_iter()
        .map(|(_, payload, _)| payload)
        .collect();
    let replayed: Vec<Value> = history.entries.iter().map(|e| e.event.clone()).collect();
    assert_eq!(replayed, stored, "the payloads as stored");

    let state = |i: usize| &history.entries[i].state_after;
    assert_eq!(state(0)["leg"], "not_received");
    assert_eq!(state(0)["received"]["call_sid"], sid.as_str());
    assert_eq!(state(1)["leg"], "ringing_owner");
    assert_eq!(
        state(1)["route"],
        json!({"to": "owner", "owner_phone": seeded.owner_phone, "ring_timeout": 20})
    );
    assert_eq!(state(2)["leg"], "owner_missed");
    assert_eq!(state(2)["owner_outcome"], json!({"missed": "no_answer"}));
    assert_eq!(state(3)["leg"], "voicemail");
    assert_eq!(state(3)["voicemail_recorded"], false);
    assert_eq!(state(4)["voicemail_recorded"], true);
    assert_eq!(state(4)["end"], Value::Null, "not over before its end");
    assert_eq!(state(5)["end"]["status"], "completed");
    assert_eq!(state(5)["end"]["duration_secs"], 17);

    let document = serde_json::to_value(&history).unwrap();
    let mut keys: Vec<&str> = document["entries"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "actor",
            "causation",
            "correlation_id",
            "event",
            "event_type",
            "event_version",
            "received_at",
            "sequence",
            "state_after",
            "stored_version"
        ]
    );
    assert_eq!(document["aggregate_type"], "Call");
    assert_eq!(
        document["entries"][5]["state_after"]["end"]["status"],
        "completed"
    );
    assert!(document["entries"][0]["received_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
}

#[tokio::test]
async fn it_should_read_the_history_from_stored_events_alone_and_upcast_old_versions() {
    let db = TestDatabase::fresh().await;
    let id = Uuid::new_v4().to_string();
    store_rows(
        &db.pool,
        "Business",
        &id,
        &[
            (
                "BusinessRegistered",
                "1.0",
                json!({"BusinessRegistered": {"id": id, "name": "Old Shop", "description": "",
                                              "owner_user_id": null, "owner_phone": "+14155550100"}}),
                json!({"correlation_id": "import-1", "causation": "cli:legacy import", "actor": "cli",
                       "received_at": "2020-01-02T03:04:05.000000Z"}),
            ),
            (
                "OwnerAvailabilityChanged",
                "1.0",
                json!({"OwnerAvailabilityChanged": {"available": false}}),
                json!({"actor": 42, "received_at": "yesterday at noon"}),
            ),
            (
                "TimezoneChanged",
                "1.0",
                json!({"TimezoneChanged": {"timezone": "Europe/Paris"}}),
                json!({}),
            ),
        ],
    )
    .await;

    let history = audit::history::<Business>(&db.pool, &domain::business::upcasters(), &id)
        .await
        .unwrap()
        .expect("three stored events");

    let [registered, unavailable, moved] = &history.entries[..] else {
        panic!("three entries: {history:?}");
    };
    assert_eq!(
        (
            registered.event_version.as_str(),
            registered.stored_version.as_str()
        ),
        ("2.0", "1.0")
    );
    assert_eq!(
        registered.event["BusinessRegistered"]["timezone"], "UTC",
        "the payload after upcasting"
    );
    assert_eq!(registered.state_after["timezone"], "UTC");
    assert_eq!(registered.state_after["name"], "Old Shop");
    assert_eq!(
        registered.received_at,
        Some(Utc.with_ymd_and_hms(2020, 1, 2, 3, 4, 5).unwrap())
    );
    assert_eq!(registered.actor.as_deref(), Some("cli"));
    assert_eq!(
        (
            unavailable.received_at,
            unavailable.actor.as_deref(),
            unavailable.causation.as_deref()
        ),
        (None, None, None),
        "odd metadata shows as absent, it does not fail the audit"
    );
    assert_eq!(unavailable.state_after["owner_available"], false);
    assert_eq!(unavailable.state_after["timezone"], "UTC");
    assert_eq!(moved.state_after["timezone"], "Europe/Paris");
    assert_eq!(
        registered.state_after["timezone"], "UTC",
        "each entry keeps the state of its time"
    );
}

#[tokio::test]
async fn it_should_answer_none_for_an_aggregate_without_events() {
    let db = TestDatabase::fresh().await;
    let sid = new_call_sid();
    store_rows(
        &db.pool,
        "Call",
        &sid,
        &[("CallReceived", "1.0", call_received(&sid), json!({}))],
    )
    .await;

    let unknown = audit::call_history(
        &db.pool,
        Some(&support::personal_data(&db.pool)),
        &CallSid::parse(&new_call_sid()).unwrap(),
    )
    .await;
    let other_type = audit::history::<Business>(&db.pool, &[], &sid).await;

    assert!(matches!(unknown, Ok(None)), "{unknown:?}");
    assert!(
        matches!(other_type, Ok(None)),
        "a Business with the call's id has no events: {other_type:?}"
    );
}

#[tokio::test]
async fn it_should_name_the_sequence_of_a_stored_event_that_no_longer_reads() {
    let db = TestDatabase::fresh().await;
    let sid = new_call_sid();
    let meta = webhook_metadata(
        &sid,
        "/twilio/voice/incoming",
        "2026-03-08T12:00:00.000000Z",
    );
    store_rows(
        &db.pool,
        "Call",
        &sid,
        &[
            ("CallReceived", "1.0", call_received(&sid), meta.clone()),
            (
                "CallTeleported",
                "1.0",
                json!({"CallTeleported": {"to": "the moon"}}),
                meta.clone(),
            ),
            (
                "CallEnded",
                "1.0",
                json!({"CallEnded": {"status": "completed", "duration_secs": 3}}),
                meta,
            ),
        ],
    )
    .await;
    let business = Uuid::new_v4().to_string();
    store_rows(
        &db.pool,
        "Business",
        &business,
        &[(
            "BusinessRegistered",
            "1.0",
            json!({"BusinessRegistered": {"id": business, "name": "Old Shop", "description": "",
                                          "owner_user_id": null, "owner_phone": null}}),
            json!({}),
        )],
    )
    .await;

    let corrupt = audit::call_history(
        &db.pool,
        Some(&support::personal_data(&db.pool)),
        &CallSid::parse(&sid).unwrap(),
    )
    .await;
    let without_upcaster = audit::history::<Business>(&db.pool, &[], &business).await;

    match corrupt {
        Err(err @ AuditError::Corrupt { sequence: 2, .. }) => {
            let message = err.to_string();
            assert!(
                message.contains("event #2")
                    && message.contains("CallTeleported")
                    && message.contains(&sid),
                "{message}"
            );
        }
        other => panic!("expected the corrupt event #2: {other:?}"),
    }
    assert!(
        matches!(&without_upcaster, Err(AuditError::Corrupt { sequence: 1, stored_version, .. }) if stored_version == "1.0"),
        "a 1.0 registration needs its upcaster: {without_upcaster:?}"
    );
}

#[tokio::test]
async fn it_should_render_one_text_block_per_event_with_its_type_actor_and_state() {
    let db = TestDatabase::fresh().await;
    let sid = new_call_sid();
    let long_text = "é".repeat(1000);
    let bridge = json!({"correlation_id": sid, "actor": "voice-bridge"});
    store_rows(
        &db.pool,
        "Call",
        &sid,
        &[
            ("CallReceived", "1.0", call_received(&sid), webhook_metadata(&sid, "/twilio/voice/incoming", "2026-03-08T12:00:00.000000Z")),
            ("CallRoutedToAi", "1.0", json!({"CallRoutedToAi": {"why": "owner_unavailable"}}), webhook_metadata(&sid, "/twilio/voice/incoming", "2026-03-08T12:00:00.000000Z")),
            ("AiSessionStarted", "1.0", json!({"AiSessionStarted": {"model": "gpt-realtime", "voice": "marin"}}), bridge.clone()),
            ("TranscriptSegmentRecorded", "1.0", json!({"TranscriptSegmentRecorded": {"speaker": "caller", "text": long_text, "offset_ms": 1200}}), bridge),
        ],
    )
    .await;
    let history = audit::call_history(
        &db.pool,
        Some(&support::personal_data(&db.pool)),
        &CallSid::parse(&sid).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();

    let text = audit::render_text(&history);

    let lines: Vec<&str> = text.lines().collect();
    let headers: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with('#'))
        .collect();
    assert_eq!(
        headers,
        vec![
            "#1  2026-03-08T12:00:00.000000Z  CallReceived v1.0  by twilio  (webhook:/twilio/voice/incoming)",
            "#2  2026-03-08T12:00:00.000000Z  CallRoutedToAi v1.0  by twilio  (webhook:/twilio/voice/incoming)",
            "#3  -  AiSessionStarted v1.0  by voice-bridge  (-)",
            "#4  -  TranscriptSegmentRecorded v1.0  by voice-bridge  (-)",
        ],
        "{text}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("  state: ")).count(),
        4,
        "{text}"
    );
    let block = |n: usize| {
        let start = lines
            .iter()
            .position(|l| l.starts_with(&format!("#{n} ")))
            .unwrap();
        &lines[start..start + 3]
    };
    assert_eq!(block(2)[1], r#"  {"why":"owner_unavailable"}"#);
    assert_eq!(
        block(2)[2],
        "  state: leg=with_ai_agent route=ai_agent(owner_unavailable) owner_outcome=- ai_session=not_started end=-"
    );
    assert!(block(3)[2].contains("ai_session=running"), "{text}");
    let long = block(4)[1];
    assert!(
        long.ends_with('…') && long.chars().count() <= 302,
        "cut to one readable line: {long}"
    );
    assert!(
        text.starts_with(&format!("Call {sid}: 4 events\n")),
        "{text}"
    );
}

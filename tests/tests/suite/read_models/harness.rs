//! Running projections in tests, writing calls through the domain, and the independent fold
//! that the read models are compared with.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::call::{Call, CallCommand, CallEvent, FinalStatus, IncomingCall, OwnerOutcome};
use domain::routing::Route;
use domain::values::{BusinessId, CallSid, CallerId, RingTimeout, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{AppendSignal, StoreError, Stores};
use projections::calls::{CallRoute, CallRow, CallStatus, HandledBy, TakenMessage};
use projections::runtime::Runner;
use serde_json::Value;
use sqlx::PgPool;
use tokio::task::JoinHandle;

/// Runner tasks of some projections; aborted when dropped (also when a test panics).
pub struct Projectors {
    handles: Vec<JoinHandle<()>>,
}

impl Projectors {
    /// One runner per projection named (every registered one when `names` is empty).
    pub fn start(pool: &PgPool, signal: &AppendSignal, names: &[&str]) -> Self {
        let handles = projections::registry::all()
            .into_iter()
            .filter(|p| names.is_empty() || names.contains(&p.name()))
            .map(|p| tokio::spawn(Runner::new(pool.clone(), p, signal.clone()).run()))
            .collect();
        Self { handles }
    }
}

impl Drop for Projectors {
    fn drop(&mut self) {
        for handle in &self.handles {
            handle.abort();
        }
    }
}

/// Events of this database after the checkpoint of `name` (all of them without a checkpoint).
pub async fn remaining(pool: &PgPool, name: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT CASE WHEN c.name IS NULL THEN (SELECT count(*) FROM events) ELSE \
           (SELECT count(*) FROM events e \
            WHERE (e.transaction_id::text::bigint, e.global_position) > (c.transaction_id, c.global_position)) END \
         FROM (SELECT 1) AS one LEFT JOIN projection_checkpoints c ON c.name = $1",
    )
    .bind(name)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Waits until every projection named (all when empty) has applied every event of the database.
/// Open transactions of other tests on the server may hold readers back for a moment.
pub async fn wait_caught_up(pool: &PgPool, names: &[&str]) {
    let names: Vec<&'static str> = projections::registry::all()
        .iter()
        .map(|p| p.name())
        .filter(|name| names.is_empty() || names.contains(name))
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for name in names {
        loop {
            let left = remaining(pool, name).await;
            if left == 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "projection {name} still has {left} events to apply"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Metadata of a webhook received at `at`.
pub fn twilio_at(sid: &str, at: DateTime<Utc>) -> CommandMetadata {
    CommandMetadata::new(sid, "test:read-models", Actor::Twilio, at)
}

/// Carries out a call command; a refusal by the domain is fine (the workload tries anything).
/// Returns whether events were appended.
pub async fn call_command(
    stores: &Stores,
    sid: &str,
    command: CallCommand,
    at: DateTime<Utc>,
) -> bool {
    match stores
        .calls
        .execute(sid, command, &twilio_at(sid, at))
        .await
    {
        Ok(committed) => !committed.events.is_empty(),
        Err(StoreError::Rejected(_)) => false,
        Err(err) => panic!("the store failed: {err}"),
    }
}

/// The facts of a new call to `number`.
pub fn incoming(
    sid: &str,
    number: &str,
    business: Option<BusinessId>,
    from: CallerId,
) -> IncomingCall {
    IncomingCall {
        call_sid: CallSid::parse(sid).unwrap(),
        from,
        to: number.to_owned(),
        business_id: business,
    }
}

/// The owner route used by the tests.
pub fn owner_route() -> Route {
    Route::Owner {
        owner_phone: E164::parse("+14155550123").unwrap(),
        ring_timeout: RingTimeout::from_secs(20).unwrap(),
    }
}

/// A call's stored events: `(sequence, event, payload, metadata)`.
pub async fn stored_call_events(pool: &PgPool, sid: &str) -> Vec<(i64, CallEvent, Value, Value)> {
    let rows: Vec<(i64, Value, Value)> = sqlx::query_as(
        "SELECT sequence, payload, metadata FROM events \
         WHERE aggregate_type = 'Call' AND aggregate_id = $1 ORDER BY sequence",
    )
    .bind(sid)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(sequence, payload, metadata)| {
            let event = serde_json::from_value(payload.clone()).unwrap();
            (sequence, event, payload, metadata)
        })
        .collect()
}

/// Every CallSid in the store.
pub async fn stored_call_sids(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT DISTINCT aggregate_id FROM events WHERE aggregate_type = 'Call' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn received_at(metadata: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(metadata["received_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn snake<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .unwrap()
        .as_str()
        .unwrap()
        .replace('-', "_")
}

/// What a call's read model should hold, folded here from the aggregate (as the write side
/// loads it) and the call's stored events, without the projection's code.
pub struct ExpectedCall {
    /// The `calls` row.
    pub row: CallRow,
    /// The last message taken.
    pub message: Option<TakenMessage>,
    /// The transcript: `(sequence, speaker, text)`.
    pub transcript: Vec<(i64, String, String)>,
    /// The latest voicemail transcription's text.
    pub voicemail_transcript: Option<String>,
    /// The timeline: `(sequence, event_type, data)`.
    pub timeline: Vec<(i64, String, Value)>,
    /// The aggregate.
    pub call: Call,
}

/// Folds call `sid` independently of the projection.
pub async fn expected_call(stores: &Stores, pool: &PgPool, sid: &str) -> ExpectedCall {
    let call = stores.calls.load(sid).await.unwrap().aggregate;
    let events = stored_call_events(pool, sid).await;
    let received = call.received.clone().expect("a stored call was received");
    let answered = call.owner_outcome == Some(OwnerOutcome::Answered);
    let session_ever = events
        .iter()
        .any(|(_, e, _, _)| matches!(e, CallEvent::AiSessionStarted { .. }));
    let status = match (&call.rejected, &call.end) {
        (Some(_), _) => CallStatus::Rejected,
        (None, Some(end)) => match end.status {
            FinalStatus::Completed => CallStatus::Completed,
            FinalStatus::Busy => CallStatus::Busy,
            FinalStatus::Failed => CallStatus::Failed,
            FinalStatus::NoAnswer => CallStatus::NoAnswer,
            FinalStatus::Canceled => CallStatus::Canceled,
        },
        (None, None) if answered || session_ever => CallStatus::InProgress,
        (None, None) => CallStatus::Ringing,
    };
    let handled_by = if answered {
        Some(HandledBy::Owner)
    } else if call.voicemail_recorded {
        Some(HandledBy::Voicemail)
    } else if call.handled_by_ai {
        Some(HandledBy::Ai)
    } else {
        None
    };
    let mut row = CallRow {
        call_sid: sid.to_owned(),
        business_id: received.business_id.map(|b| b.0),
        phone_number: received.to.clone(),
        caller: Some(match &received.from {
            CallerId::Number(number) => number.to_string(),
            CallerId::Withheld => "withheld".to_owned(),
            CallerId::Other(raw) => raw.clone(),
        }),
        route: call.route.as_ref().map(|route| match route {
            Route::Owner { .. } => CallRoute::Owner,
            Route::AiAgent { .. } => CallRoute::Ai,
            Route::Voicemail { .. } => CallRoute::Voicemail,
        }),
        handled_by,
        status,
        reject_reason: call.rejected.map(snake),
        owner_outcome: call.owner_outcome.map(|outcome| match outcome {
            OwnerOutcome::Answered => "answered".to_owned(),
            OwnerOutcome::Missed(reason) => snake(reason),
        }),
        started_at: received_at(&events[0].3),
        ended_at: None,
        duration_secs: call
            .end
            .as_ref()
            .and_then(|end| end.duration_secs)
            .map(|d| d as i32),
        summary: None,
        messages_taken: call.messages_taken as i32,
        voicemail_url: None,
        voicemail_duration_secs: None,
        recording_sid: call.recordings.last().cloned(),
        recording_url: None,
        recording_duration_secs: None,
        cost_amount: call.price.as_ref().map(|p| p.amount),
        cost_currency: call.price.as_ref().map(|p| p.currency.clone()),
    };
    let mut message = None;
    let mut voicemail_transcript = None;
    let mut transcript = Vec::new();
    let mut timeline = Vec::new();
    for (sequence, event, payload, metadata) in &events {
        let (event_type, data) = payload
            .as_object()
            .and_then(|o| o.iter().next())
            .map(|(k, v)| (k.clone(), v.clone()))
            .unwrap();
        timeline.push((*sequence, event_type, data));
        match event {
            CallEvent::CallEnded { .. } => row.ended_at = Some(received_at(metadata)),
            CallEvent::CallSummarized { summary } => row.summary = Some(summary.clone()),
            CallEvent::VoicemailRecorded {
                recording_url,
                duration_secs,
            } => {
                row.voicemail_url = Some(recording_url.clone());
                row.voicemail_duration_secs = Some(*duration_secs as i32);
            }
            CallEvent::RecordingAvailable {
                recording_url,
                duration_secs,
                ..
            } => {
                row.recording_url = Some(recording_url.clone());
                row.recording_duration_secs = Some(*duration_secs as i32);
            }
            CallEvent::MessageTaken {
                caller_name,
                callback_number,
                message: text,
                urgency,
            } => {
                message = Some(TakenMessage {
                    caller_name: caller_name.clone(),
                    callback_number: callback_number.clone(),
                    message: text.clone(),
                    urgency: snake(urgency),
                });
            }
            CallEvent::TranscriptSegmentRecorded { speaker, text, .. } => {
                transcript.push((*sequence, snake(speaker), text.clone()));
            }
            CallEvent::VoicemailTranscribed { text, .. } => {
                voicemail_transcript = Some(text.clone());
            }
            _ => {}
        }
    }
    ExpectedCall {
        row,
        message,
        transcript,
        voicemail_transcript,
        timeline,
        call,
    }
}

/// Asserts that the `calls` read model (rows, detail, transcript, timeline) equals the
/// independent fold of every stored call, and holds nothing else.
pub async fn assert_calls_match_the_fold(stores: &Stores, pool: &PgPool) -> Vec<ExpectedCall> {
    let sids = stored_call_sids(pool).await;
    let mut folded = Vec::with_capacity(sids.len());
    for sid in &sids {
        let expected = expected_call(stores, pool, sid).await;
        let detail = projections::calls::call_detail(pool, sid, None)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("call {sid} is missing from the read model"));
        assert_eq!(detail.call, expected.row, "calls row of {sid}");
        assert_eq!(detail.message, expected.message, "message of {sid}");
        assert_eq!(
            detail.voicemail_transcript, expected.voicemail_transcript,
            "voicemail transcript of {sid}"
        );
        let transcript: Vec<(i64, String, String)> = detail
            .transcript
            .into_iter()
            .map(|line| (line.sequence, line.speaker, line.text))
            .collect();
        assert_eq!(transcript, expected.transcript, "transcript of {sid}");
        let timeline: Vec<(i64, String, Value)> =
            projections::calls::call_timeline(pool, sid, None)
                .await
                .unwrap()
                .into_iter()
                .map(|entry| (entry.sequence, entry.event_type, entry.data))
                .collect();
        assert_eq!(timeline, expected.timeline, "timeline of {sid}");
        folded.push(expected);
    }
    let (rows, timeline_rows): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM rm_calls.calls), (SELECT count(*) FROM rm_calls.call_events)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Call'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(rows, sids.len() as i64, "one row per call, nothing else");
    assert_eq!(timeline_rows, events, "one timeline row per call event");
    folded
}

/// A new call to `number` of `business`, routed to the owner, who answers; it ends after
/// `duration` seconds. Returns its sid.
pub async fn answered_call(
    stores: &Stores,
    number: &str,
    business: BusinessId,
    at: DateTime<Utc>,
    duration: u32,
) -> String {
    let sid = support::new_call_sid();
    let from = CallerId::Number(E164::parse("+14155550111").unwrap());
    let call = incoming(&sid, number, Some(business), from);
    assert!(
        call_command(
            stores,
            &sid,
            CallCommand::Receive {
                call,
                route: owner_route()
            },
            at
        )
        .await
    );
    let later = at + chrono::Duration::seconds(i64::from(duration));
    assert!(
        call_command(
            stores,
            &sid,
            CallCommand::RecordOwnerAnswered {
                dial_call_sid: None
            },
            later
        )
        .await
    );
    assert!(
        call_command(
            stores,
            &sid,
            CallCommand::End {
                status: FinalStatus::Completed,
                duration_secs: Some(duration)
            },
            later
        )
        .await
    );
    sid
}

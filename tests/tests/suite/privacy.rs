//! Personal data on the immutable event store (docs/privacy.md): sealed in the `events` table,
//! opened for every reader, erased on request (CLI and admin API) and by retention, after which
//! replay, audit, the API and rebuilt read models show `[erased]` and nothing of the caller.

mod erase;
mod legacy;
mod retention;

use chrono::{DateTime, Utc};
use domain::call::{CallCommand, FinalStatus, IncomingCall, Speaker, Urgency};
use domain::routing::{Route, RouteReason};
use domain::values::{BusinessId, CallSid, CallerId, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::Stores;
use reqwest::Method;
use support::{new_call_sid, TestApp};

/// What one caller said and left, all of it personal; `marker` is in every piece of text.
pub struct Conversation {
    pub call_sid: String,
    pub caller: String,
    pub marker: String,
    /// The recordings Twilio holds of the call: the voicemail's and the call's, sorted.
    pub recordings: Vec<String>,
}

/// Records a whole call of `caller` to `business` through the write side, as the webhooks and
/// the voice bridge would: received at `at`, a conversation with the agent, a message taken,
/// a voicemail and its transcription, a recording, the end and a summary. Every text carries
/// `marker`; the metadata carries Twilio's `From` and `CallerName`.
pub async fn record_call(
    stores: &Stores,
    business: &str,
    caller: &str,
    marker: &str,
    at: DateTime<Utc>,
) -> Conversation {
    let sid = new_call_sid();
    let meta = || {
        CommandMetadata::new(&sid, "test:privacy", Actor::Twilio, at)
            .with("From", caller)
            .with("CallerName", format!("{marker} Name"))
    };
    let business_id = BusinessId(business.parse().unwrap());
    let recording = format!("RE{}", &sid[2..]);
    let voicemail: String = format!("RE{}", sid[2..].chars().rev().collect::<String>());
    let commands = [
        CallCommand::Receive {
            call: IncomingCall {
                call_sid: CallSid::parse(&sid).unwrap(),
                from: CallerId::Number(E164::parse(caller).unwrap()),
                to: "+14155550000".into(),
                business_id: Some(business_id),
            },
            route: Route::AiAgent {
                why: RouteReason::OwnerUnavailable,
            },
        },
        CallCommand::StartAiSession {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
        },
        CallCommand::RecordTranscriptSegment {
            speaker: Speaker::Caller,
            text: format!("{marker} words said to the agent"),
            offset_ms: 1_000,
        },
        CallCommand::TakeMessage {
            caller_name: Some(format!("{marker} Name")),
            callback_number: Some(caller.to_owned()),
            message: format!("{marker} message for the owner"),
            urgency: Urgency::High,
        },
        CallCommand::EndAiSession {
            reason: "caller hung up".into(),
        },
        CallCommand::RouteToVoicemail {
            why: RouteReason::AgentFailed,
        },
        CallCommand::RecordVoicemail {
            recording_url: format!("https://api.twilio.com/{marker}-voicemail"),
            duration_secs: 12,
        },
        CallCommand::RecordVoicemailTranscription {
            transcription_sid: "TR0001".into(),
            recording_sid: voicemail.clone(),
            text: format!("{marker} voicemail words"),
        },
        CallCommand::AttachRecording {
            recording_sid: recording.clone(),
            recording_url: format!("https://api.twilio.com/{marker}-recording"),
            duration_secs: 40,
        },
        // One command, so the summariser cannot record its own outcome in between.
        CallCommand::Batch(vec![
            CallCommand::End {
                status: FinalStatus::Completed,
                duration_secs: Some(60),
            },
            CallCommand::RecordSummary {
                summary: format!("{marker} summary of the call"),
            },
        ]),
    ];
    for command in commands {
        stores.calls.execute(&sid, command, &meta()).await.unwrap();
    }
    let mut recordings = vec![recording, voicemail];
    recordings.sort();
    Conversation {
        call_sid: sid,
        caller: caller.to_owned(),
        marker: marker.to_owned(),
        recordings,
    }
}

/// A fake Twilio REST API that serves recordings' audio and deletes recordings (204).
pub async fn twilio_deleting_recordings() -> wiremock::MockServer {
    use wiremock::matchers::{method, path_regex};
    let twilio = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("GET"))
        .and(path_regex(
            r"^/2010-04-01/Accounts/AC[0-9a-f]{32}/Recordings/RE[0-9a-f]{32}\.mp3$",
        ))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("content-type", "audio/mpeg")
                .set_body_bytes(b"ID3 audio".to_vec()),
        )
        .mount(&twilio)
        .await;
    wiremock::Mock::given(method("DELETE"))
        .and(path_regex(
            r"^/2010-04-01/Accounts/AC[0-9a-f]{32}/Recordings/RE[0-9a-f]{32}\.json$",
        ))
        .respond_with(wiremock::ResponseTemplate::new(204))
        .mount(&twilio)
        .await;
    twilio
}

/// The recordings `twilio` was asked to delete, sorted.
pub async fn deleted_recordings(twilio: &wiremock::MockServer) -> Vec<String> {
    let mut sids: Vec<String> = twilio
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.method.as_str() == "DELETE")
        .filter_map(|request| {
            let last = request.url.path_segments()?.next_back()?;
            Some(last.trim_end_matches(".json").to_owned())
        })
        .collect();
    sids.sort();
    sids
}

/// Everything the `events` table holds, as text.
pub async fn raw_events(app: &TestApp) -> String {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT payload::text || ' ' || metadata::text FROM events")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    rows.join("\n")
}

/// Everything the `calls` read model holds, as text.
pub async fn read_model(app: &TestApp) -> String {
    let mut all = Vec::new();
    for table in ["calls", "call_events", "transcript_segments"] {
        let rows: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT row_to_json(t)::text FROM rm_calls.{table} t"
        ))
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
        all.extend(rows);
    }
    all.join("\n")
}

/// The caller's number without its `+`, as it would show inside any text.
pub fn digits(caller: &str) -> &str {
    caller.trim_start_matches('+')
}

/// What an erased field reads.
pub const ERASED: &str = "[erased]";

/// `GET /api/v1/calls/{sid}{part}` as `token`, asserting 200.
pub async fn call_json(app: &TestApp, token: &str, sid: &str, part: &str) -> String {
    let response = app
        .api(
            Method::GET,
            &format!("/api/v1/calls/{sid}{part}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(response.status(), 200, "GET /api/v1/calls/{sid}{part}");
    response.text().await.unwrap()
}

/// Everything the API shows of one call: detail, timeline and history.
pub async fn api_view(app: &TestApp, token: &str, call: &Conversation) -> String {
    let mut all = String::new();
    for part in ["", "/timeline", "/history"] {
        all.push_str(&call_json(app, token, &call.call_sid, part).await);
    }
    all
}

/// Asserts `text` holds neither the call's marker nor its caller's number.
pub fn assert_gone(text: &str, call: &Conversation, context: &str) {
    assert!(
        !text.contains(&call.marker),
        "{context} still holds {}: {text}",
        call.marker
    );
    assert!(
        !text.contains(digits(&call.caller)),
        "{context} still holds the number {}: {text}",
        call.caller
    );
}

/// Asserts `text` still holds the call's words and summary.
pub fn assert_kept(text: &str, call: &Conversation, context: &str) {
    assert!(
        text.contains(&format!("{} words said to the agent", call.marker)),
        "{context} lost {}'s words: {text}",
        call.marker
    );
    assert!(
        text.contains(&format!("{} summary of the call", call.marker)),
        "{context} lost {}'s summary",
        call.marker
    );
}

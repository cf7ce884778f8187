//! `GET /dashboard/calls/{sid}`: one call — who, when, where it went, how long, what it cost —
//! with its summary, the messages taken, the conversation with the AI agent, the voicemail's
//! transcription, players for its audio, and its timeline (every event, in order). The same
//! reads as `GET /api/v1/calls/{sid}` and `…/timeline`; another owner's call is the same 404
//! page as a missing one.

use actix_web::{get, web, HttpResponse};
use askama::Template;
use domain::values::CallSid;
use projections::businesses::business;
use projections::calls::{call_detail, call_timeline, CallDetail, TakenMessage, TimelineEntry};

use super::board::Visible;
use super::rows::{self, RowView};
use super::{database, from_api};
use crate::dashboard::page::{html, Layout, PageError};
use crate::dashboard::session::Viewer;
use crate::startup::AppState;

/// A message the agent took.
struct MessageView {
    name: String,
    callback: String,
    text: String,
    urgency: String,
}

/// One line of the conversation.
struct LineView {
    /// `caller` or `agent` (the bubble's class).
    speaker_key: String,
    speaker: &'static str,
    text: String,
    /// Since the AI session started, `m:ss`.
    offset: String,
}

/// An audio player's source.
struct AudioView {
    url: String,
    duration: String,
}

/// One event of the timeline.
struct EventView {
    time: String,
    time_iso: String,
    name: String,
    actor: String,
    /// The event's fields, pretty-printed (empty when it has none).
    data: String,
}

#[derive(Template)]
#[template(path = "owner/call.html")]
struct CallPage {
    layout: Layout,
    call: RowView,
    number: String,
    business: String,
    time: String,
    timezone: String,
    cost: String,
    outcome: Option<String>,
    summary: Option<String>,
    messages: Vec<MessageView>,
    transcript: Vec<LineView>,
    voicemail_transcript: Option<String>,
    recording: Option<AudioView>,
    voicemail: Option<AudioView>,
    timeline: Vec<EventView>,
}

/// `GET /dashboard/calls/{sid}`.
#[get("/calls/{sid}")]
async fn call_page(
    state: web::Data<AppState>,
    viewer: Viewer,
    sid: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let sid = CallSid::parse(&sid).map_err(|_| PageError::NotFound)?;
    let pool = &state.pool;
    let scope = viewer.who.business_scope(pool).await.map_err(from_api)?;
    let detail = call_detail(pool, sid.as_ref(), scope.as_deref())
        .await
        .map_err(database)?
        .ok_or(PageError::NotFound)?;
    let timeline = call_timeline(pool, sid.as_ref(), scope.as_deref())
        .await
        .map_err(database)?;
    let owner = match detail.call.business_id {
        Some(id) => business(pool, id).await.map_err(database)?,
        None => None,
    };
    let visible = Visible::single(owner.as_ref());
    let timezone = visible.timezone_of(detail.call.business_id);
    html(&page(&viewer, &detail, &timeline, &visible, timezone))
}

fn page(
    viewer: &Viewer,
    detail: &CallDetail,
    timeline: &[TimelineEntry],
    visible: &Visible,
    timezone: chrono_tz::Tz,
) -> CallPage {
    let call = &detail.call;
    let row = RowView::of(call, visible);
    let sid = &call.call_sid;
    let mut messages: Vec<MessageView> = timeline
        .iter()
        .filter(|entry| entry.event_type == "MessageTaken")
        .filter_map(|entry| serde_json::from_value::<TakenMessage>(entry.data.clone()).ok())
        .map(message)
        .collect();
    if messages.is_empty() {
        messages.extend(detail.message.clone().map(message));
    }
    CallPage {
        layout: Layout::for_viewer(viewer, format!("Call from {}", row.caller), "home"),
        number: call.phone_number.clone(),
        business: row.business.clone(),
        time: rows::local_time(call.started_at, timezone, "%A %-d %B %Y, %H:%M:%S"),
        timezone: timezone.name().to_owned(),
        cost: rows::cost(call.cost_amount, call.cost_currency.as_deref()),
        outcome: outcome(call.owner_outcome.as_deref(), call.reject_reason.as_deref()),
        summary: call.summary.clone(),
        messages,
        transcript: detail
            .transcript
            .iter()
            .map(|line| LineView {
                speaker: if line.speaker == "agent" {
                    "Agent"
                } else {
                    "Caller"
                },
                speaker_key: line.speaker.clone(),
                text: line.text.clone(),
                offset: rows::minutes(i32::try_from(line.offset_ms / 1000).unwrap_or(i32::MAX)),
            })
            .collect(),
        voicemail_transcript: detail.voicemail_transcript.clone(),
        recording: call.recording_sid.as_ref().map(|_| AudioView {
            url: format!("/dashboard/calls/{sid}/recording"),
            duration: call
                .recording_duration_secs
                .map(rows::minutes)
                .unwrap_or_default(),
        }),
        voicemail: call.voicemail_url.as_ref().map(|_| AudioView {
            url: format!("/dashboard/calls/{sid}/voicemail"),
            duration: call
                .voicemail_duration_secs
                .map(rows::minutes)
                .unwrap_or_default(),
        }),
        timeline: timeline
            .iter()
            .map(|entry| event(entry, timezone))
            .collect(),
        call: row,
    }
}

fn message(taken: TakenMessage) -> MessageView {
    MessageView {
        name: taken.caller_name.unwrap_or_else(|| "Not given".to_owned()),
        callback: taken
            .callback_number
            .unwrap_or_else(|| "Not given".to_owned()),
        text: taken.message,
        urgency: taken.urgency,
    }
}

/// What became of the owner's ring, or why the call was turned away, in words.
fn outcome(owner: Option<&str>, rejected: Option<&str>) -> Option<String> {
    if let Some(reason) = rejected {
        return Some(format!("Turned away: {}", reason.replace('_', " ")));
    }
    owner.map(|outcome| match outcome {
        "answered" => "The owner answered".to_owned(),
        missed => format!("The owner's phone: {}", missed.replace('_', " ")),
    })
}

fn event(entry: &TimelineEntry, timezone: chrono_tz::Tz) -> EventView {
    let data = match &entry.data {
        serde_json::Value::Object(fields) if fields.is_empty() => String::new(),
        serde_json::Value::Null => String::new(),
        data => serde_json::to_string_pretty(data).unwrap_or_default(),
    };
    EventView {
        time: entry
            .occurred_at
            .map(|at| rows::local_time(at, timezone, "%H:%M:%S"))
            .unwrap_or_default(),
        time_iso: entry
            .occurred_at
            .map(|at| at.to_rfc3339())
            .unwrap_or_default(),
        name: humanise(&entry.event_type),
        actor: entry.actor.clone().unwrap_or_default(),
        data,
    }
}

/// `CallRoutedToAi` → `Call routed to AI`.
fn humanise(event_type: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for c in event_type.chars() {
        match words.last_mut() {
            Some(word) if !c.is_uppercase() => word.push(c),
            _ => words.push(c.to_string()),
        }
    }
    words
        .iter()
        .enumerate()
        .map(|(n, word)| match word.as_str() {
            "Ai" => "AI".to_owned(),
            _ if n == 0 => word.clone(),
            _ => word.to_lowercase(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_name_events_in_words() {
        assert_eq!(humanise("CallRoutedToAi"), "Call routed to AI");
        assert_eq!(humanise("MessageTaken"), "Message taken");
        assert_eq!(humanise("AiSessionStarted"), "AI session started");
    }
}

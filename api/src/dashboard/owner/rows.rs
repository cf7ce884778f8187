//! A call as the dashboard shows it: times in its business's time zone, the route and status as
//! words (badges carry text, never colour alone), durations as minutes and seconds. The same
//! row template renders the table and the rows the live stream sends.

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use projections::calls::{CallRoute, CallRow, CallStatus};
use rust_decimal::Decimal;

use super::board::Visible;

/// How many characters of the summary the table shows.
const SNIPPET: usize = 90;

/// One call, ready to show.
#[derive(Debug, Clone)]
pub(super) struct RowView {
    /// The CallSid (also the row's id, `call-<sid>`).
    pub sid: String,
    /// The business's name.
    pub business: String,
    /// When it started, in the business's time zone.
    pub time: String,
    /// The same instant, RFC 3339 (for `<time datetime>`).
    pub time_iso: String,
    /// Who called.
    pub caller: String,
    /// `owner`, `ai`, `voicemail`, `rejected` or `none` (the badge's class, `data-route`).
    pub route_key: &'static str,
    /// The route in words.
    pub route_label: &'static str,
    /// The status as stored (`data-status`).
    pub status_key: &'static str,
    /// The status in words.
    pub status_label: &'static str,
    /// `m:ss`, or an empty string while unknown.
    pub duration: String,
    /// The start of the summary.
    pub summary: String,
}

impl RowView {
    /// `call`, with its business named and timed from `visible`.
    pub fn of(call: &CallRow, visible: &Visible) -> Self {
        let business = call.business_id.and_then(|id| visible.find(id));
        let timezone = business.map_or(Tz::UTC, |b| b.timezone);
        let (route_key, route_label) = route(call);
        Self {
            sid: call.call_sid.clone(),
            business: business.map_or_else(|| "—".to_owned(), |b| b.name.clone()),
            time: local_time(call.started_at, timezone, "%Y-%m-%d %H:%M"),
            time_iso: call.started_at.to_rfc3339(),
            caller: caller(call.caller.as_deref()),
            route_key,
            route_label,
            status_key: call.status.as_str(),
            status_label: status_label(call.status),
            duration: call.duration_secs.map(minutes).unwrap_or_default(),
            summary: call.summary.as_deref().map(snippet).unwrap_or_default(),
        }
    }
}

/// One row of the calls table (the same markup in the page and in a live update).
#[derive(Template)]
#[template(path = "owner/row.html")]
pub(super) struct RowTemplate<'a> {
    /// The call.
    pub row: &'a RowView,
    /// Whether the table has a business column.
    pub show_business: bool,
    /// Whether the call came in while the page was open (its row is lit up for a moment).
    pub arrived: bool,
}

/// The route's key and words: where the call was last routed, or why it was turned away.
pub(super) fn route(call: &CallRow) -> (&'static str, &'static str) {
    match (call.route, call.status) {
        (_, CallStatus::Rejected) => ("rejected", "Rejected"),
        (Some(CallRoute::Owner), _) => ("owner", "Owner"),
        (Some(CallRoute::Ai), _) => ("ai", "AI agent"),
        (Some(CallRoute::Voicemail), _) => ("voicemail", "Voicemail"),
        (None, _) => ("none", "Not routed"),
    }
}

/// A status in words.
pub(super) fn status_label(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Ringing => "Ringing",
        CallStatus::InProgress => "In progress",
        CallStatus::Completed => "Completed",
        CallStatus::Busy => "Busy",
        CallStatus::Failed => "Failed",
        CallStatus::NoAnswer => "No answer",
        CallStatus::Canceled => "Canceled",
        CallStatus::Rejected => "Rejected",
    }
}

/// The caller as a person reads it.
pub(super) fn caller(raw: Option<&str>) -> String {
    match raw {
        None | Some("") => "Unknown caller".to_owned(),
        Some("withheld") => "Withheld number".to_owned(),
        Some(number) => number.to_owned(),
    }
}

/// `instant` in `timezone`, formatted.
pub(super) fn local_time(instant: DateTime<Utc>, timezone: Tz, format: &str) -> String {
    instant.with_timezone(&timezone).format(format).to_string()
}

/// Seconds as `m:ss` (`h:mm:ss` past an hour).
pub(super) fn minutes(secs: i32) -> String {
    let secs = secs.max(0);
    let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

/// A price as Twilio gives it (negative: a charge), as what it cost.
pub(super) fn cost(amount: Option<Decimal>, currency: Option<&str>) -> String {
    match amount {
        Some(amount) => format!("{} {}", amount.abs(), currency.unwrap_or_default())
            .trim_end()
            .to_owned(),
        None => "Not known yet".to_owned(),
    }
}

fn snippet(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(SNIPPET) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_show_durations_as_minutes_and_seconds() {
        assert_eq!(minutes(0), "0:00");
        assert_eq!(minutes(75), "1:15");
        assert_eq!(minutes(3_725), "1:02:05");
    }

    #[test]
    fn it_should_cut_a_long_summary_at_a_character_boundary() {
        let long = "é".repeat(200);
        let cut = snippet(&long);
        assert_eq!(cut.chars().count(), SNIPPET + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(snippet(" short "), "short");
    }

    #[test]
    fn it_should_show_a_charge_as_what_it_cost() {
        let amount = "-0.0085".parse().ok();
        assert_eq!(cost(amount, Some("USD")), "0.0085 USD");
        assert_eq!(cost(None, None), "Not known yet");
    }
}

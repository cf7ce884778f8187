//! The Server-Sent Events a dashboard's stream sends, and the HTML they carry for htmx's SSE
//! extension to swap in:
//!
//! - `new-call`: the row of a call that just came in (and matches the page's filters); the
//!   first page's table body (`sse-swap="new-call"`, `hx-swap="afterbegin"`) puts it on top;
//! - `call-<sid>`: the row of a call that changed; only that call's row listens for it
//!   (`sse-swap="call-<sid>"`, `hx-swap="outerHTML"`), so a call the page does not show is
//!   simply not listened for (no out-of-band swap without a target, no error);
//! - `message-taken`: a toast, swapped out of band into `#toasts`.
//!
//! Both row swaps settle at once (`settle:0ms`): htmx registers a swapped-in row's listener
//! only when the swap settles, so with its default 20 ms delay a change that came right behind
//! the row (a short call, or a busy tab whose events queued up) found no listener and was
//! lost, and the row stayed stale.
//!
//! Every event carries the stream position it was read up to as its `id`, so the browser's
//! reconnection (`Last-Event-ID`) resumes after it.

use actix_web::web::Bytes;
use askama::Template;
use infrastructure::event_store::Position;
use projections::calls::{CallRow, TakenMessage};

use super::super::board::Visible;
use super::super::filters::Filters;
use super::super::rows::{self, RowTemplate, RowView};
use super::changes::{Batch, Message};

/// How long the browser waits before it reconnects a stream that ended.
const RETRY_MS: u32 = 2_000;

/// A position as an event id (and as the page's `after`): `<transaction>.<position>`.
pub(in crate::dashboard::owner) fn position_text(position: Position) -> String {
    format!("{}.{}", position.transaction_id, position.global_position)
}

/// Reads [`position_text`] back; anything else is `None`.
pub(super) fn parse_position(raw: &str) -> Option<Position> {
    let (transaction, global) = raw.trim().split_once('.')?;
    let position = Position {
        transaction_id: transaction.parse().ok()?,
        global_position: global.parse().ok()?,
    };
    (position.transaction_id >= 0 && position.global_position >= 0).then_some(position)
}

/// The first frame: how soon to reconnect.
pub(super) fn opening() -> Bytes {
    Bytes::from(format!("retry: {RETRY_MS}\n\n"))
}

/// A comment that keeps proxies from closing an idle stream.
pub(super) fn heartbeat() -> Bytes {
    Bytes::from_static(b": keep-alive\n\n")
}

/// One event: `event`, `id`, and `data` split into `data:` lines.
fn event(name: &str, id: Position, data: &str) -> Bytes {
    let mut frame = format!("event: {name}\nid: {}\n", position_text(id));
    for line in data.lines() {
        frame.push_str("data: ");
        frame.push_str(line);
        frame.push('\n');
    }
    frame.push('\n');
    Bytes::from(frame)
}

/// A toast announcing a message taken.
#[derive(Template)]
#[template(path = "owner/toast.html")]
struct Toast<'a> {
    call_sid: &'a str,
    sequence: i64,
    from: String,
    urgent: bool,
}

/// The events for `batch`, given the rows of its calls the viewer may see (`calls`): new calls
/// first (oldest first, so the newest ends on top), then changed ones, then the toasts.
/// A row that cannot be rendered is logged and left out.
pub(super) fn render(
    batch: &Batch,
    calls: &[CallRow],
    visible: &Visible,
    filters: &Filters,
) -> Vec<Bytes> {
    let id = batch.reached;
    let page_timezone = visible.page_timezone(filters.business);
    let show_business = visible.several();
    let mut new: Vec<&CallRow> = calls
        .iter()
        .filter(|call| batch.new.contains(&call.call_sid) && filters.matches(call, page_timezone))
        .collect();
    new.sort_by(|a, b| (a.started_at, &a.call_sid).cmp(&(b.started_at, &b.call_sid)));
    let changed = calls
        .iter()
        .filter(|call| !new.iter().any(|n| n.call_sid == call.call_sid));
    let mut frames = Vec::new();
    for (name, call, arrived) in new
        .iter()
        .map(|call| ("new-call".to_owned(), *call, true))
        .chain(changed.map(|call| (format!("call-{}", call.call_sid), call, false)))
    {
        let row = RowView::of(call, visible);
        match (RowTemplate {
            row: &row,
            show_business,
            arrived,
        })
        .render()
        {
            Ok(html) => frames.push(event(&name, id, &html)),
            Err(err) => {
                tracing::error!(call_sid = %call.call_sid, error = %err, "cannot render a live row")
            }
        }
    }
    for Message {
        call_sid,
        sequence,
        taken,
    } in &batch.messages
    {
        let Some(call) = calls.iter().find(|call| &call.call_sid == call_sid) else {
            continue;
        };
        match toast(call, *sequence, taken).render() {
            Ok(html) => frames.push(event("message-taken", id, &html)),
            Err(err) => tracing::error!(%call_sid, error = %err, "cannot render a toast"),
        }
    }
    frames
}

fn toast<'a>(call: &'a CallRow, sequence: i64, taken: &TakenMessage) -> Toast<'a> {
    let name = taken
        .caller_name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty());
    Toast {
        call_sid: &call.call_sid,
        sequence,
        from: name.map_or_else(|| rows::caller(call.caller.as_deref()), str::to_owned),
        urgent: taken.urgency == "high",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_read_back_the_positions_it_writes_and_nothing_else() {
        let position = Position {
            transaction_id: 812,
            global_position: 4_051,
        };
        assert_eq!(position_text(position), "812.4051");
        assert_eq!(parse_position("812.4051"), Some(position));
        for raw in [
            "",
            "812",
            "a.b",
            "-1.5",
            "1.2.3",
            "9999999999999999999999.1",
        ] {
            assert_eq!(parse_position(raw), None, "{raw}");
        }
    }

    #[test]
    fn it_should_put_every_line_of_the_html_on_a_data_line() {
        let frame = event("new-call", Position::START, "<tr>\n<td>1</td>\n</tr>");
        assert_eq!(
            frame,
            "event: new-call\nid: 0.0\ndata: <tr>\ndata: <td>1</td>\ndata: </tr>\n\n"
        );
    }
}

//! `GET /dashboard/live`: the dashboard's live updates, as Server-Sent Events (see [`frames`]
//! for what is sent and how the page swaps it in).
//!
//! A stream looks for changes of the `calls` read model ([`changes`]) when this node appends
//! events (the in-process [`AppendSignal`](infrastructure::event_store::AppendSignal), woken
//! after every commit: the projector needs a few milliseconds, so the stream looks soon after and
//! backs off), and at least every second as the safety net for changes other nodes made. Only
//! calls of the viewer's businesses are sent: their rows are read through the same tenant scope
//! as every query, again for each batch.
//!
//! The stream is the response body itself: no task is spawned, so when the client goes away
//! and the server drops the body, nothing is left running. A comment every 15 s keeps proxies
//! from closing an idle stream (and lets the server notice a client that vanished). A stream
//! lasts at most [`LIFETIME`]: the browser then reconnects with `Last-Event-ID`, through the
//! session cookies again, so a signed-out user stops receiving within that time. A stream also
//! ends when the node stops ([`Stopping`]), so open dashboards do not hold up a graceful stop.

mod changes;
mod frames;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{get, web, HttpRequest, HttpResponse};
use infrastructure::event_store::Position;
use infrastructure::privacy::PersonalData;
use projections::calls::calls_by_sid;
use prometheus::IntGauge;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

use super::board::Visible;
use super::database;
use super::filters::{FilterQuery, Filters};
use crate::access::Authenticated;
use crate::dashboard::page::PageError;
use crate::dashboard::session::Viewer;
use crate::metrics::Metrics;
use crate::startup::AppState;
use crate::stopping::Stopping;

pub(super) use changes::checkpoint;
pub(super) use frames::position_text;

/// The longest pause between two looks when nothing woke the stream.
const POLL: Duration = Duration::from_secs(1);
/// The first look after this node appended (then doubling up to [`POLL`]).
const SOON: Duration = Duration::from_millis(30);
/// A comment is sent after this long without anything else.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long one stream lasts before the browser is made to reconnect.
const LIFETIME: Duration = Duration::from_secs(10 * 60);
/// A stream asked to resume further back than this many events starts from now instead (the
/// page is stale: its rows are long gone from view).
const MAX_BEHIND: i64 = 10_000;

/// Counts an open stream in `callassist_dashboard_live_streams` for as long as it lives.
struct Open(IntGauge);

impl Open {
    fn new(gauge: IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
        tracing::debug!("a dashboard live stream ended");
    }
}

/// Where a look left the stream.
enum Looked {
    /// Nothing new.
    Nothing,
    /// Caught up with the read model.
    Moved,
    /// Read a full batch: there is more to read right away.
    More,
}

/// One viewer's stream.
struct Feed {
    pool: PgPool,
    /// Opens the messages' personal fields (sealed in the event store).
    privacy: Option<PersonalData>,
    who: Authenticated,
    filters: Filters,
    appended: watch::Receiver<u64>,
    appended_open: bool,
    /// The last position whose changes were sent.
    seen: Position,
    pending: VecDeque<Bytes>,
    interval: Duration,
    next_look: Instant,
    last_sent: Instant,
    ends_at: Instant,
    /// Set when the node stops: the stream ends (the browser reconnects elsewhere).
    stopping: watch::Receiver<bool>,
    _open: Open,
}

impl Feed {
    /// The next frame to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                self.last_sent = Instant::now();
                return Some(frame);
            }
            if Instant::now() >= self.ends_at {
                return None;
            }
            let heartbeat_at = self.last_sent + HEARTBEAT;
            tokio::select! {
                changed = self.appended.changed(), if self.appended_open => {
                    match changed {
                        Ok(()) => self.next_look = self.next_look.min(Instant::now() + SOON),
                        Err(_) => self.appended_open = false,
                    }
                    self.interval = SOON;
                    continue;
                }
                () = sleep_until(self.next_look) => {}
                () = sleep_until(heartbeat_at) => {
                    self.pending.push_back(frames::heartbeat());
                    continue;
                }
                () = sleep_until(self.ends_at) => return None,
                _ = self.stopping.wait_for(|stopping| *stopping) => return None,
            }
            self.interval = match self.look().await {
                Ok(Looked::More) => Duration::ZERO,
                Ok(Looked::Moved) => SOON,
                Ok(Looked::Nothing) => (self.interval * 2).min(POLL),
                Err(err) => {
                    tracing::warn!(error = %err, "a dashboard live stream could not read changes");
                    POLL
                }
            };
            self.next_look = Instant::now() + self.interval;
        }
    }

    /// Reads what changed since `seen` and queues its events.
    async fn look(&mut self) -> Result<Looked, sqlx::Error> {
        let Some(head) = checkpoint(&self.pool).await? else {
            return Ok(Looked::Nothing);
        };
        if head <= self.seen {
            return Ok(Looked::Nothing);
        }
        let batch = changes::between(&self.pool, self.privacy.as_ref(), self.seen, head).await?;
        if !batch.call_sids.is_empty() {
            let visible = Visible::load(&self.pool, &self.who).await?;
            let calls =
                calls_by_sid(&self.pool, &batch.call_sids, visible.scope().as_deref()).await?;
            self.pending
                .extend(frames::render(&batch, &calls, &visible, &self.filters));
        }
        self.seen = batch.reached;
        Ok(if batch.full {
            Looked::More
        } else {
            Looked::Moved
        })
    }
}

/// Where a stream starts: after the event the browser last received (`Last-Event-ID`, on a
/// reconnection), else after the position the page was read at (`after`), else now; never
/// ahead of the read model, nor further back than [`MAX_BEHIND`].
fn start(request: &HttpRequest, query: &FilterQuery, head: Position) -> Position {
    let resume = request
        .headers()
        .get("Last-Event-ID")
        .and_then(|value| value.to_str().ok())
        .and_then(frames::parse_position)
        .or_else(|| query.after.as_deref().and_then(frames::parse_position));
    match resume {
        Some(from)
            if from <= head
                && head.global_position.saturating_sub(from.global_position) <= MAX_BEHIND =>
        {
            from
        }
        _ => head,
    }
}

/// `GET /dashboard/live`: `text/event-stream` of the viewer's calls as they change.
#[get("/live")]
async fn live(
    request: HttpRequest,
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
    stopping: web::Data<Stopping>,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let query = FilterQuery::parse(request.query_string());
    let filters = Filters::parse(&query)?;
    let pool = state.pool.clone();
    let visible = Visible::load(&pool, &viewer.who).await.map_err(database)?;
    if let Some(id) = filters.business {
        visible.find(id).ok_or(PageError::NotFound)?;
    }
    let head = checkpoint(&pool)
        .await
        .map_err(database)?
        .unwrap_or(Position::START);
    let now = Instant::now();
    let feed = Feed {
        pool,
        privacy: state.stores.privacy.clone(),
        who: viewer.who,
        filters,
        appended: state.stores.appended.subscribe(),
        appended_open: true,
        seen: start(&request, &query, head),
        pending: VecDeque::from([frames::opening()]),
        interval: POLL,
        next_look: now,
        last_sent: now,
        ends_at: now + LIFETIME,
        stopping: stopping.subscribe(),
        _open: Open::new(metrics.live_streams()),
    };
    tracing::debug!(user_id = %viewer.who.user_id, "a dashboard live stream started");
    let body = futures::stream::unfold(feed, |mut feed| async move {
        let frame = feed.next().await?;
        Some((Ok::<_, Infallible>(frame), feed))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

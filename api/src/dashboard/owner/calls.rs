//! `GET /dashboard`: today's numbers, the filters and one page of the calls table, newest first,
//! paged with the opaque cursors of `GET /api/v1/calls`. A plain GET form filters it; the same
//! form and the pager, through htmx (`HX-Target: calls-panel`), get the table alone with the
//! numbers out of band, and push the URL so the back button and a reload show the same page.
//!
//! The table's live stream starts where the `calls` read model stood when the table was read
//! (`after`: its projection's checkpoint), so a call that arrives between the page and its
//! stream is neither missed nor shown twice.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use infrastructure::event_store::Position;
use projections::calls::{list_calls, CallFilter, CallPage, CallRoute, CallStatus};
use sqlx::PgPool;

use super::board::Visible;
use super::database;
use super::filters::{FilterQuery, Filters};
use super::live::{checkpoint, position_text};
use super::rows::{status_label, RowView};
use super::today::Today;
use crate::dashboard::page::{html, Layout, PageError};
use crate::dashboard::session::Viewer;
use crate::routes::calls::cursor::{decode_cursor, encode_cursor};
use crate::startup::AppState;

/// Calls per page of the table.
const PAGE_SIZE: u32 = 50;
/// How often the page and the checkpoint are read again when the read model moved meanwhile.
const CONSISTENT_READS: usize = 3;

/// One choice of a `<select>`.
pub(super) struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// The filter form, filled in with the filters in force.
pub(super) struct FilterForm {
    /// The business choices (none when the viewer has a single business).
    businesses: Vec<Choice>,
    routes: Vec<Choice>,
    statuses: Vec<Choice>,
    from: String,
    to: String,
    /// The time zone the days are read in.
    timezone: String,
    /// Whether any filter is set (offer to clear them).
    any: bool,
}

/// The calls table and its pager, with the live stream it listens to.
pub(super) struct Panel {
    rows: Vec<RowView>,
    show_business: bool,
    /// No cursor: new calls are put on top as they come in.
    first_page: bool,
    live_url: String,
    next_url: Option<String>,
    newest_url: String,
}

/// The whole dashboard (`home.html`).
#[derive(Template)]
#[template(path = "home.html")]
struct DashboardPage {
    layout: Layout,
    no_business: bool,
    today: Today,
    form: FilterForm,
    panel: Panel,
}

/// The table alone, and the numbers out of band (an htmx request).
#[derive(Template)]
#[template(path = "owner/panel_fragment.html")]
struct PanelFragment {
    today: Today,
    panel: Panel,
}

/// `GET /dashboard` (registered by [`crate::dashboard::home`]).
pub(in crate::dashboard) async fn dashboard(
    request: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let query = FilterQuery::parse(request.query_string());
    let filters = Filters::parse(&query)?;
    let cursor = query
        .cursor
        .as_deref()
        .map(decode_cursor)
        .transpose()
        .map_err(|_| {
            PageError::BadRequest(
                "This page link is damaged. Start again from the newest calls.".to_owned(),
            )
        })?;
    let pool = &state.pool;
    let visible = Visible::load(pool, &viewer.who).await.map_err(database)?;
    if let Some(id) = filters.business {
        visible.find(id).ok_or(PageError::NotFound)?;
    }
    let timezone = visible.page_timezone(filters.business);
    let scope = filters
        .business
        .map(|id| vec![id])
        .or_else(|| visible.scope());
    let first_page = cursor.is_none();
    let call_filter = CallFilter {
        before: cursor,
        ..filters.call_filter(scope, timezone, PAGE_SIZE)
    };
    let (page, after) = read_consistently(pool, &call_filter)
        .await
        .map_err(database)?;
    let mut today = Today::load(pool, &visible, filters.business, Utc::now())
        .await
        .map_err(database)?;
    let panel = panel(&filters, &visible, page, first_page, after)?;
    if wants_panel(&request) {
        today.oob = true;
        return html(&PanelFragment { today, panel });
    }
    html(&DashboardPage {
        layout: Layout::for_viewer(&viewer, "Calls", "home"),
        no_business: !viewer.is_admin() && visible.businesses.is_empty(),
        today,
        form: form(&filters, &visible, timezone.name()),
        panel,
    })
}

/// An htmx request for the table (the filter form, the pager), not a history restore.
fn wants_panel(request: &HttpRequest) -> bool {
    let header = |name| request.headers().get(name).and_then(|v| v.to_str().ok());
    header("HX-Request") == Some("true")
        && header("HX-Target") == Some("calls-panel")
        && header("HX-History-Restore-Request").is_none()
}

/// One page of calls and the checkpoint the read model had when it was read: both are read
/// again (a few times at most) while the checkpoint moves in between; if it keeps moving, the
/// checkpoint read before the page is kept (a call may then show twice, never go missing).
async fn read_consistently(
    pool: &PgPool,
    filter: &CallFilter,
) -> Result<(CallPage, Position), sqlx::Error> {
    let mut before = checkpoint(pool).await?.unwrap_or(Position::START);
    let mut reads = 0;
    loop {
        let page = list_calls(pool, filter).await?;
        let after = checkpoint(pool).await?.unwrap_or(Position::START);
        reads += 1;
        if after == before || reads == CONSISTENT_READS {
            return Ok((page, before));
        }
        before = after;
    }
}

fn panel(
    filters: &Filters,
    visible: &Visible,
    page: CallPage,
    first_page: bool,
    after: Position,
) -> Result<Panel, PageError> {
    let base = filters.query();
    let with = |extra: &str| {
        [base.as_str(), extra]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("&")
    };
    let next_url = match &page.next {
        Some(next) => {
            let cursor = encode_cursor(next).map_err(|err| PageError::Unexpected(err.into()))?;
            Some(format!("/dashboard?{}", with(&format!("cursor={cursor}"))))
        }
        None => None,
    };
    Ok(Panel {
        rows: page
            .calls
            .iter()
            .map(|call| RowView::of(call, visible))
            .collect(),
        show_business: visible.several(),
        first_page,
        live_url: format!(
            "/dashboard/live?{}",
            with(&format!("after={}", position_text(after)))
        ),
        next_url,
        newest_url: match base.as_str() {
            "" => "/dashboard".to_owned(),
            query => format!("/dashboard?{query}"),
        },
    })
}

fn form(filters: &Filters, visible: &Visible, timezone: &str) -> FilterForm {
    let businesses = if visible.several() {
        visible
            .businesses
            .iter()
            .map(|b| Choice {
                value: b.id.to_string(),
                label: b.name.clone(),
                selected: filters.business == Some(b.id),
            })
            .collect()
    } else {
        Vec::new()
    };
    let routes = [
        (CallRoute::Owner, "Owner"),
        (CallRoute::Ai, "AI agent"),
        (CallRoute::Voicemail, "Voicemail"),
    ]
    .into_iter()
    .map(|(route, label)| Choice {
        value: route.as_str().to_owned(),
        label: label.to_owned(),
        selected: filters.route == Some(route),
    })
    .collect();
    let statuses = [
        CallStatus::Ringing,
        CallStatus::InProgress,
        CallStatus::Completed,
        CallStatus::NoAnswer,
        CallStatus::Busy,
        CallStatus::Failed,
        CallStatus::Canceled,
        CallStatus::Rejected,
    ]
    .into_iter()
    .map(|status| Choice {
        value: status.as_str().to_owned(),
        label: status_label(status).to_owned(),
        selected: filters.status == Some(status),
    })
    .collect();
    FilterForm {
        businesses,
        routes,
        statuses,
        from: filters.from.map(|d| d.to_string()).unwrap_or_default(),
        to: filters.to.map(|d| d.to_string()).unwrap_or_default(),
        timezone: timezone.to_owned(),
        any: filters.any(),
    }
}

//! Today's numbers at a glance — calls, answered by the owner, handled by the AI agent,
//! voicemails, missed — from the `daily_stats` read model, read as `GET /api/v1/stats/daily`
//! reads it.
//!
//! "Today" is each business's own day, in its time zone. A viewer with several businesses sees
//! the sum of each one's today (one in Tokyo may already be on tomorrow while one in New York is
//! not), which is what "how did my businesses do today" means; choosing a business in the
//! filters narrows the numbers to it. The page polls this fragment every 10 seconds.

use std::collections::HashMap;

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use projections::daily_stats::daily_stats;
use sqlx::PgPool;
use uuid::Uuid;

use super::board::Visible;
use super::filters::{FilterQuery, Filters};
use super::{database, rows};
use crate::dashboard::page::{html, see_other, PageError};
use crate::dashboard::session::Viewer;
use crate::startup::AppState;

/// The numbers, and what the fragment needs to refresh itself.
#[derive(Debug, Clone, Default)]
pub(super) struct Today {
    /// Calls received.
    pub calls: i64,
    /// Calls the owner answered.
    pub answered_by_owner: i64,
    /// Calls the AI agent handled.
    pub handled_by_ai: i64,
    /// Calls that left a voicemail.
    pub voicemails: i64,
    /// Calls nobody took.
    pub missed: i64,
    /// Which day, in words.
    pub day: String,
    /// The query string the fragment polls with (`?business=…`, or empty).
    pub query: String,
    /// Sent out of band, beside the calls table an htmx request asked for.
    pub oob: bool,
}

impl Today {
    /// The numbers of `business` (or of every business the viewer sees) as of `now`.
    pub async fn load(
        pool: &PgPool,
        visible: &Visible,
        business: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Self, sqlx::Error> {
        let in_view: Vec<_> = visible
            .businesses
            .iter()
            .filter(|b| business.is_none_or(|id| b.id == id))
            .collect();
        let utc_today = now.date_naive();
        let todays: HashMap<Uuid, NaiveDate> = in_view
            .iter()
            .map(|b| (b.id, now.with_timezone(&b.timezone).date_naive()))
            .collect();
        let first = todays.values().copied().chain([utc_today]).min();
        let last = todays.values().copied().chain([utc_today]).max();
        let scope = match business {
            Some(id) => Some(vec![id]),
            None => visible.scope(),
        };
        let mut numbers = Self {
            day: day_in_words(visible, business, now),
            query: match business {
                Some(id) => format!("?business={id}"),
                None => String::new(),
            },
            ..Self::default()
        };
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(numbers);
        };
        for row in daily_stats(pool, scope.as_deref(), first, last).await? {
            if todays.get(&row.business_id).copied().unwrap_or(utc_today) != row.day {
                continue;
            }
            numbers.calls += row.calls;
            numbers.answered_by_owner += row.answered_by_owner;
            numbers.handled_by_ai += row.handled_by_ai;
            numbers.voicemails += row.voicemails;
            numbers.missed += row.missed;
        }
        Ok(numbers)
    }
}

/// "Sunday 8 March 2026", when the businesses in view share a time zone.
fn day_in_words(visible: &Visible, business: Option<Uuid>, now: DateTime<Utc>) -> String {
    let several_zones = business.is_none()
        && visible
            .businesses
            .windows(2)
            .any(|pair| pair[0].timezone != pair[1].timezone);
    if several_zones {
        return "in each business's time zone".to_owned();
    }
    let timezone = visible.page_timezone(business);
    rows::local_time(now, timezone, "%A %-d %B %Y")
}

/// The numbers alone (what the page polls).
#[derive(Template)]
#[template(path = "owner/today_fragment.html")]
struct TodayFragment {
    today: Today,
}

/// `GET /dashboard/today`: the numbers as a fragment for htmx; a browser that opens it goes
/// to the dashboard instead.
#[get("/today")]
async fn today(
    request: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let query = FilterQuery::parse(request.query_string());
    let filters = Filters::parse(&query)?;
    if request.headers().get("HX-Request").is_none() {
        let back = filters.query();
        return Ok(see_other(&if back.is_empty() {
            "/dashboard".to_owned()
        } else {
            format!("/dashboard?{back}")
        }));
    }
    let visible = Visible::load(&state.pool, &viewer.who)
        .await
        .map_err(database)?;
    if let Some(id) = filters.business {
        visible.find(id).ok_or(PageError::NotFound)?;
    }
    let numbers = Today::load(&state.pool, &visible, filters.business, Utc::now())
        .await
        .map_err(database)?;
    html(&TodayFragment { today: numbers })
}

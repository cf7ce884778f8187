//! `GET /admin`: the system at a glance. Totals from the admin overview read model (what
//! `GET /api/v1/admin/overview` answers), the last 30 days of calls across all businesses from
//! the daily stats read model (volume per day, and who took the calls: the owner, the AI agent,
//! or nobody — voicemail or missed), and projector and relay health.

use actix_web::{get, web, HttpResponse};
use askama::Template;
use chrono::{Days, NaiveDate, Utc};
use projections::daily_stats::{daily_stats, DailyStatsRow};
use projections::overview::{overview as read_overview, Totals};

use super::charts::{self, Column, Part};
use super::health::{health, Broker, Health};
use super::{database, Admin, AdminPage};
use crate::dashboard::page::{html, Layout, PageError};
use crate::routes::health::BrokerProbe;
use crate::startup::AppState;

/// How many days the charts cover, today included.
const DAYS: u64 = 30;
/// The colours of the share chart's parts (the badges' hues, dark enough on white; the legend's
/// swatches in `app.css` repeat them).
const OWNER_COLOUR: &str = "#1e7b3c";
const AI_COLOUR: &str = "#1f5fbf";
const NOBODY_COLOUR: &str = "#9a5b00";

/// One day of the volume chart's data table.
struct DayRow {
    day: String,
    calls: i64,
}

/// One part of the share chart's legend and data table.
struct ShareRow {
    label: &'static str,
    /// The legend swatch's class (`app.css`), in the part's colour.
    class: &'static str,
    calls: i64,
    percent: i64,
}

#[derive(Template)]
#[template(path = "admin/overview.html")]
struct OverviewPage {
    layout: Layout,
    admin_page: &'static str,
    totals: Totals,
    volume_svg: String,
    volume_summary: String,
    volume: Vec<DayRow>,
    share_svg: String,
    share_summary: String,
    share: Vec<ShareRow>,
    health: Health,
}

/// `GET /admin`.
#[get("")]
pub(super) async fn page(
    admin: Admin,
    state: web::Data<AppState>,
    probe: web::Data<BrokerProbe>,
) -> Result<HttpResponse, PageError> {
    let overview = read_overview(&state.pool).await.map_err(database)?;
    let to = Utc::now().date_naive();
    let from = to.checked_sub_days(Days::new(DAYS - 1)).unwrap_or(to);
    let rows = daily_stats(&state.pool, None, from, to)
        .await
        .map_err(database)?;
    let volume = per_day(&rows, from, to);
    let volume_summary = volume_summary(&volume, from, to);
    let columns: Vec<Column> = volume
        .iter()
        .map(|day| Column {
            label: day.day.clone(),
            value: day.calls,
            title: format!("{}: {}", day.day, calls(day.calls)),
        })
        .collect();
    let share = shares(&rows);
    let share_summary = share_summary(&share);
    let parts: Vec<Part> = share
        .iter()
        .zip([OWNER_COLOUR, AI_COLOUR, NOBODY_COLOUR])
        .map(|(row, colour)| Part {
            label: row.label.to_owned(),
            value: row.calls,
            colour,
        })
        .collect();
    html(&OverviewPage {
        layout: Layout::for_viewer(&admin.0, "Admin", "admin"),
        admin_page: AdminPage::Overview.name(),
        totals: overview.totals.clone(),
        volume_svg: charts::columns(&columns, &volume_summary, "No calls in the last 30 days"),
        volume_summary,
        volume,
        share_svg: charts::share(&parts, &share_summary, "No answered or missed calls yet"),
        share_summary,
        share,
        health: health(&overview, &probe).await,
    })
}

/// `n calls` (or `1 call`).
fn calls(n: i64) -> String {
    if n == 1 {
        "1 call".to_owned()
    } else {
        format!("{n} calls")
    }
}

/// Calls per day from `from` to `to`, every day present (0 without calls), all businesses
/// added up (each counts its calls on its own local day).
fn per_day(rows: &[DailyStatsRow], from: NaiveDate, to: NaiveDate) -> Vec<DayRow> {
    from.iter_days()
        .take_while(|day| *day <= to)
        .map(|day| DayRow {
            day: day.format("%Y-%m-%d").to_string(),
            calls: rows
                .iter()
                .filter(|row| row.day == day)
                .map(|row| row.calls)
                .sum(),
        })
        .collect()
}

fn volume_summary(volume: &[DayRow], from: NaiveDate, to: NaiveDate) -> String {
    let total: i64 = volume.iter().map(|day| day.calls).sum();
    let busiest = volume
        .iter()
        .filter(|day| day.calls > 0)
        .max_by_key(|day| day.calls);
    let mut summary = format!(
        "Calls per day from {from} to {to}, all businesses: {} in total",
        calls(total)
    );
    if let Some(busiest) = busiest {
        summary.push_str(&format!(
            ", the busiest day {} with {}",
            busiest.day,
            calls(busiest.calls)
        ));
    }
    summary.push('.');
    summary
}

/// Who took the calls: the owner, the AI agent, or nobody (voicemail or missed). Calls turned
/// away and calls still ringing are in none of them.
fn shares(rows: &[DailyStatsRow]) -> Vec<ShareRow> {
    let sum = |pick: fn(&DailyStatsRow) -> i64| rows.iter().map(pick).sum::<i64>();
    let owner = sum(|row| row.answered_by_owner);
    let ai = sum(|row| row.handled_by_ai);
    let nobody = sum(|row| row.voicemails + row.missed);
    let total = owner + ai + nobody;
    [
        ("Owner answered", "owner", owner),
        ("AI agent handled", "ai", ai),
        ("Voicemail or missed", "nobody", nobody),
    ]
    .into_iter()
    .map(|(label, class, calls)| ShareRow {
        label,
        class,
        calls,
        percent: charts::percent(calls, total),
    })
    .collect()
}

fn share_summary(share: &[ShareRow]) -> String {
    let total: i64 = share.iter().map(|row| row.calls).sum();
    match share {
        [owner, ai, nobody] if total > 0 => format!(
            "Of the {} of the last 30 days that rang through, the owner answered {} ({}%), the \
             AI agent handled {} ({}%), and {} ({}%) went to voicemail or were missed.",
            calls(total),
            owner.calls,
            owner.percent,
            ai.calls,
            ai.percent,
            nobody.calls,
            nobody.percent
        ),
        _ => "No call of the last 30 days was answered, handled or missed yet.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, calls: i64) -> DailyStatsRow {
        DailyStatsRow {
            business_id: uuid::Uuid::nil(),
            day: date.parse().unwrap(),
            calls,
            answered_by_owner: 1,
            handled_by_ai: 2,
            voicemails: 1,
            missed: 0,
            rejected: 0,
            ended_calls: 0,
            timed_calls: 0,
            total_duration_secs: 0,
            average_duration_secs: None,
            owner_answer_rate: None,
            total_cost: rust_decimal::Decimal::ZERO,
            cost_currency: None,
        }
    }

    #[test]
    fn it_should_add_up_businesses_per_day_and_fill_days_without_calls() {
        let from: NaiveDate = "2026-03-01".parse().unwrap();
        let to: NaiveDate = "2026-03-03".parse().unwrap();
        let rows = [
            day("2026-03-01", 2),
            day("2026-03-01", 3),
            day("2026-03-03", 1),
        ];

        let volume = per_day(&rows, from, to);

        let shown: Vec<(&str, i64)> = volume.iter().map(|d| (d.day.as_str(), d.calls)).collect();
        assert_eq!(
            shown,
            [("2026-03-01", 5), ("2026-03-02", 0), ("2026-03-03", 1)]
        );
        assert_eq!(
            volume_summary(&volume, from, to),
            "Calls per day from 2026-03-01 to 2026-03-03, all businesses: 6 calls in total, \
             the busiest day 2026-03-01 with 5 calls."
        );
    }

    #[test]
    fn it_should_split_the_calls_between_owner_agent_and_nobody() {
        let share = shares(&[day("2026-03-01", 4), day("2026-03-02", 4)]);

        let shown: Vec<(i64, i64)> = share.iter().map(|r| (r.calls, r.percent)).collect();
        assert_eq!(shown, [(2, 25), (4, 50), (2, 25)]);
        assert!(share_summary(&shares(&[])).starts_with("No call"));
        assert_eq!(
            share_summary(&share),
            "Of the 8 calls of the last 30 days that rang through, the owner answered 2 (25%), \
             the AI agent handled 4 (50%), and 2 (25%) went to voicemail or were missed."
        );
    }
}

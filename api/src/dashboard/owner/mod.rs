//! The business owner's dashboard: today's numbers at a glance, the calls table with filters
//! and paging, live updates over Server-Sent Events, and a call's own page with its recording.
//! An admin sees the same pages over every business.
//!
//! Every page reads the query layer of `/api/v1` (the `calls`, `daily_stats` and `businesses`
//! read models) under the same tenant rules: an owner sees the calls of their own businesses
//! only, and another owner's call answers the same 404 page as a missing one.
//!
//! - [`board`]: which businesses the viewer sees; [`filters`]: the calls table's filters.
//! - [`calls`]: `GET /dashboard` (served through [`super::home`]): the numbers, the filters,
//!   the table; an htmx request gets the table alone. [`today`]: the numbers, also as a
//!   fragment the page polls.
//! - [`live`]: `GET /dashboard/live`, the rows and toasts the page swaps in as calls change.
//! - [`detail`]: `GET /dashboard/calls/{sid}`. [`recording`]: its audio player's sources.

mod board;
mod calls;
mod detail;
mod filters;
mod live;
mod recording;
mod rows;
mod today;

use actix_web::web;

use super::page::PageError;
use crate::api_error::ApiError;

pub(super) use calls::dashboard;

pub(super) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(today::today)
        .service(live::live)
        .service(detail::call_page)
        .service(recording::recording)
        .service(recording::voicemail);
}

/// A read that failed: the database being away is a "try again" page, anything else is logged.
fn database(err: sqlx::Error) -> PageError {
    match ApiError::database(err) {
        ApiError::Unavailable(_) => PageError::Unavailable,
        other => PageError::Unexpected(anyhow::Error::new(other).context("reading the dashboard")),
    }
}

/// An error of the REST layer's shared functions, as a page.
fn from_api(err: ApiError) -> PageError {
    match err {
        ApiError::NotFound { .. } => PageError::NotFound,
        ApiError::BadRequest { message, .. } => PageError::BadRequest(message),
        ApiError::Unavailable(_) => PageError::Unavailable,
        other => PageError::Unexpected(anyhow::Error::new(other)),
    }
}

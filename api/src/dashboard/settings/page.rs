//! The settings page of one business: every control on one page, each in a section with a
//! form of its own that posts, then comes back here (303), or — refused — re-renders this page
//! with the error on that form and the values as they were typed (422).
//!
//! The business is read from the write side (as the commands leave it), so a change shows right
//! after its redirect; its numbers come from the `phone_numbers` read model, as in
//! `GET /api/v1/numbers`.

use actix_web::{get, web, HttpResponse};
use askama::Template;
use domain::business::Business;
use serde::Deserialize;
use uuid::Uuid;

use super::agent::AgentForm;
use super::availability::Switch;
use super::form::{self, settings_path};
use super::hours::HoursForm;
use super::notifications::NotificationsForm;
use super::profile::ProfileForm;
use super::ring::RingForm;
use crate::dashboard::page::{html, Layout, PageError};
use crate::dashboard::session::Viewer;
use crate::startup::AppState;

/// A phone number of the business, read-only (assigning numbers is the admin's).
pub(super) struct NumberLine {
    /// E.164.
    pub number: String,
    /// `active`, `suspended` or `released`.
    pub status: String,
    /// What it costs a month, e.g. `1.15 USD`.
    pub monthly_cost: String,
}

/// The settings page.
#[derive(Template)]
#[template(path = "settings/business.html")]
pub(super) struct SettingsPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub active: bool,
    pub notice: Option<&'static str>,
    pub switch: Switch,
    pub profile: ProfileForm,
    pub hours: HoursForm,
    pub ring: RingForm,
    pub agent: AgentForm,
    pub notifications: NotificationsForm,
    pub numbers: Vec<NumberLine>,
}

impl SettingsPage {
    /// The page of `business` (whose id is `id`) with every form showing what it holds.
    pub async fn load(
        state: &AppState,
        viewer: &Viewer,
        id: Uuid,
        business: &Business,
    ) -> Result<Self, PageError> {
        let numbers = projections::phone_numbers::list_numbers(&state.pool, Some(&[id]))
            .await
            .map_err(database)?
            .into_iter()
            .map(|row| NumberLine {
                number: row.number,
                status: row.status,
                monthly_cost: format!("{} {}", row.monthly_cost_amount, row.monthly_cost_currency),
            })
            .collect();
        Ok(Self {
            layout: Layout::for_viewer(viewer, business.name.clone(), "businesses"),
            id,
            name: business.name.clone(),
            active: business.active,
            notice: None,
            switch: Switch::of(id, business, settings_path(id)),
            profile: ProfileForm::of(business),
            hours: HoursForm::of(business),
            ring: RingForm::of(business),
            agent: AgentForm::of(business),
            notifications: NotificationsForm::of(business),
            numbers,
        })
    }

    /// This page, refused: 422 with the error on the form that was sent.
    pub fn refused(&self) -> Result<HttpResponse, PageError> {
        Ok(form::unprocessable(html(self)?))
    }
}

/// A failed read of a read model.
pub(super) fn database(err: sqlx::Error) -> PageError {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            PageError::Unavailable
        }
        other => PageError::Unexpected(anyhow::Error::new(other).context("reading a read model")),
    }
}

#[derive(Deserialize)]
struct ShowQuery {
    saved: Option<String>,
}

/// What was just saved, said on the page after the redirect.
fn notice(saved: Option<&str>) -> Option<&'static str> {
    Some(match saved? {
        "created" => "Business created. Set its hours and its AI agent below.",
        "profile" => "Details saved.",
        "hours" => "Business hours saved.",
        "ring" => "Ring timeout saved.",
        "notifications" => "Notification settings saved.",
        "agent" => "AI agent saved; it takes the calls you do not.",
        "agent-removed" => "AI agent removed: calls you do not take go to voicemail.",
        _ => return None,
    })
}

/// `GET /dashboard/businesses/{id}`.
#[get("/businesses/{id}")]
pub(super) async fn show(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    let id = form::business_id(&path)?;
    let business = form::managed(&state, &viewer, id).await?;
    let mut page = SettingsPage::load(&state, &viewer, id, &business).await?;
    page.notice = notice(query.saved.as_deref());
    html(&page)
}

//! The owner's availability switch: one button, "Available" or "Away" (`aria-pressed`, and the
//! words, not only a colour), one click to flip it.
//!
//! The form posts the state it asks for (not "toggle"), so a double click or a repeated post
//! changes nothing twice. Without JavaScript it posts and comes back (303) to the page it was
//! on; with htmx it swaps only the switch. The change is one `SetOwnerAvailability` on the
//! aggregate routing reads, so it holds for the next call.

use actix_web::{post, web, HttpRequest, HttpResponse};
use askama::Template;
use domain::business::{Business, BusinessCommand};
use serde::Deserialize;
use uuid::Uuid;

use super::form::{self, settings_path, Refusal};
use super::page::SettingsPage;
use crate::dashboard::page::{html, local_path, see_other, Layout, PageError};
use crate::dashboard::session::Viewer;
use crate::routes::businesses::{self, Via};
use crate::startup::AppState;

/// The switch of one business, as `settings/switch.html` draws it.
pub(super) struct Switch {
    /// The business.
    pub business_id: Uuid,
    /// Whether the owner takes calls now.
    pub available: bool,
    /// Where the form comes back to without JavaScript.
    pub next: String,
    /// Why the last flip was refused.
    pub refusal: Refusal,
}

impl Switch {
    /// The switch of `business`, coming back to `next`.
    pub fn of(id: Uuid, business: &Business, next: String) -> Self {
        Self {
            business_id: id,
            available: business.owner_available,
            next,
            refusal: Refusal::default(),
        }
    }
}

/// Only the switch: what htmx swaps in.
#[derive(Template)]
#[template(path = "settings/switch_fragment.html")]
struct SwitchFragment {
    layout: Layout,
    switch: Switch,
}

#[derive(Deserialize)]
struct AvailabilityForm {
    #[serde(default)]
    available: String,
    next: Option<String>,
}

/// `POST /dashboard/businesses/{id}/availability`: `available=true|false`.
#[post("/businesses/{id}/availability")]
pub(super) async fn switch(
    request: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Form<AvailabilityForm>,
) -> Result<HttpResponse, PageError> {
    let id = form::business_id(&path)?;
    let business = form::managed(&state, &viewer, id).await?;
    let available = match body.available.as_str() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(PageError::BadRequest(
                "The switch sent neither available nor away.".to_owned(),
            ))
        }
    };
    let settings = settings_path(id);
    let next = local_path(body.next.as_deref(), &settings).to_owned();
    let command = BusinessCommand::SetOwnerAvailability { available };
    let outcome =
        businesses::append_via(&state, &viewer.who, &request, Via::Dashboard, id, command).await;
    let (business, refusal) = match outcome {
        Ok(after) => (after, Refusal::default()),
        Err(err) => (business, Refusal::of(form::refused(err)?)),
    };
    let mut switch = Switch::of(id, &business, next.clone());
    switch.refusal = refusal.clone();
    if form::is_htmx(&request) {
        // htmx swaps only 2xx answers: a refusal is shown inside the swapped switch.
        return html(&SwitchFragment {
            layout: Layout::for_viewer(&viewer, business.name.clone(), "businesses"),
            switch,
        });
    }
    if refusal.message().is_none() {
        return Ok(see_other(&next));
    }
    let mut page = SettingsPage::load(&state, &viewer, id, &business).await?;
    page.switch = switch;
    page.refused()
}

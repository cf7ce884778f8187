//! The ring timeout: how many seconds the owner's phone rings before the AI agent answers,
//! checked as `PUT /api/v1/businesses/{id}/ring-timeout` checks it (5 to 60).

use actix_web::{post, web, HttpRequest, HttpResponse};
use domain::business::{Business, BusinessCommand};
use domain::values::RingTimeout;
use serde::Deserialize;

use super::form::{self, settings_path, FormError, Refusal};
use super::page::SettingsPage;
use crate::dashboard::page::{see_other, PageError};
use crate::dashboard::session::Viewer;
use crate::routes::businesses::{self, input, Via};
use crate::startup::AppState;

/// The form.
pub(super) struct RingForm {
    /// Seconds, as written.
    pub seconds: String,
    /// Shortest allowed.
    pub min: u32,
    /// Longest allowed.
    pub max: u32,
    /// Why the last save was refused.
    pub refusal: Refusal,
}

impl RingForm {
    /// The form showing the ring timeout of `business`.
    pub fn of(business: &Business) -> Self {
        Self {
            seconds: business.ring_timeout.secs().to_string(),
            min: RingTimeout::MIN,
            max: RingTimeout::MAX,
            refusal: Refusal::default(),
        }
    }
}

#[derive(Deserialize)]
struct RingTimeoutForm {
    #[serde(default)]
    ring_timeout: String,
}

/// `POST /dashboard/businesses/{id}/ring-timeout`: `ring_timeout` in seconds.
#[post("/businesses/{id}/ring-timeout")]
pub(super) async fn save(
    request: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Form<RingTimeoutForm>,
) -> Result<HttpResponse, PageError> {
    let id = form::business_id(&path)?;
    let business = form::managed(&state, &viewer, id).await?;
    let written = body.ring_timeout.trim();
    let error = match written.parse::<i64>() {
        Err(_) => FormError::on(
            "ring_timeout",
            format!(
                "The ring timeout is a whole number of seconds, {} to {}.",
                RingTimeout::MIN,
                RingTimeout::MAX
            ),
        ),
        Ok(seconds) => {
            let saved = match input::ring_timeout(seconds) {
                Ok(timeout) => {
                    let command = BusinessCommand::SetRingTimeout(timeout);
                    businesses::append_via(
                        &state,
                        &viewer.who,
                        &request,
                        Via::Dashboard,
                        id,
                        command,
                    )
                    .await
                }
                Err(err) => Err(err),
            };
            match saved {
                Ok(_) => return Ok(see_other(&format!("{}?saved=ring#ring", settings_path(id)))),
                Err(err) => form::refused(err)?,
            }
        }
    };
    let mut page = SettingsPage::load(&state, &viewer, id, &business).await?;
    page.ring.seconds = written.to_owned();
    page.ring.refusal = Refusal::of(error);
    page.refused()
}

//! A business's details: name, description, the owner's phone and the timezone its hours are
//! read in. The same fields make the new-business form.
//!
//! Saving checks every field first (as the REST endpoints for profile, owner phone and timezone
//! check them), then runs those three commands; a command that changes nothing records nothing.

use actix_web::{post, web, HttpRequest, HttpResponse};
use domain::business::{Business, BusinessCommand};
use serde::Deserialize;

use super::form::{self, settings_path, Refusal};
use super::page::SettingsPage;
use crate::api_error::ApiError;
use crate::dashboard::page::{see_other, PageError};
use crate::dashboard::session::Viewer;
use crate::routes::businesses::input::{self, DESCRIPTION_MAX, NAME_MAX};
use crate::routes::businesses::{self, Via};
use crate::startup::AppState;

/// The details, as shown or as written.
#[derive(Default)]
pub(super) struct ProfileForm {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The owner's phone, E.164 (empty: none).
    pub owner_phone: String,
    /// IANA timezone name.
    pub timezone: String,
    /// Why the last save was refused.
    pub refusal: Refusal,
}

impl ProfileForm {
    /// The details of `business`.
    pub fn of(business: &Business) -> Self {
        Self {
            name: business.name.clone(),
            description: business.description.clone(),
            owner_phone: business
                .owner_phone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            timezone: business.timezone.name().to_owned(),
            refusal: Refusal::default(),
        }
    }

    /// The details as a form sent them (the refusal is set by whoever checks them).
    pub fn written(body: &ProfileFields) -> Self {
        Self {
            name: body.name.clone(),
            description: body.description.clone(),
            owner_phone: body.owner_phone.clone(),
            timezone: body.timezone.clone(),
            refusal: Refusal::default(),
        }
    }
}

/// What the details form (and the new-business form) sends.
#[derive(Deserialize)]
pub(super) struct ProfileFields {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Blank: no owner phone.
    #[serde(default)]
    pub owner_phone: String,
    #[serde(default)]
    pub timezone: String,
}

impl ProfileFields {
    /// The owner's phone, `None` when left blank.
    pub fn owner_phone(&self) -> Option<&str> {
        let phone = self.owner_phone.trim();
        (!phone.is_empty()).then_some(phone)
    }
}

/// The three commands the details make, every field checked.
fn commands(body: &ProfileFields) -> Result<[BusinessCommand; 3], ApiError> {
    let name = input::text("name", &body.name, NAME_MAX, true)?;
    let description = input::text("description", &body.description, DESCRIPTION_MAX, false)?;
    let phone = body.owner_phone().map(input::phone).transpose()?;
    let timezone = input::timezone(body.timezone.trim())?;
    Ok([
        BusinessCommand::UpdateProfile { name, description },
        BusinessCommand::SetOwnerPhone(phone),
        BusinessCommand::SetTimezone(timezone),
    ])
}

/// Runs `commands` in order, stopping at the first refusal.
async fn apply(
    state: &AppState,
    viewer: &Viewer,
    request: &HttpRequest,
    id: uuid::Uuid,
    commands: [BusinessCommand; 3],
) -> Result<(), ApiError> {
    for command in commands {
        businesses::append_via(state, &viewer.who, request, Via::Dashboard, id, command).await?;
    }
    Ok(())
}

/// `POST /dashboard/businesses/{id}/profile`.
#[post("/businesses/{id}/profile")]
pub(super) async fn save(
    request: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Form<ProfileFields>,
) -> Result<HttpResponse, PageError> {
    let id = form::business_id(&path)?;
    let business = form::managed(&state, &viewer, id).await?;
    let outcome = match commands(&body) {
        Ok(commands) => apply(&state, &viewer, &request, id, commands).await,
        Err(err) => Err(err),
    };
    let error = match outcome {
        Ok(()) => {
            return Ok(see_other(&format!(
                "{}?saved=profile#profile",
                settings_path(id)
            )))
        }
        Err(err) => form::refused(err)?,
    };
    let mut page = SettingsPage::load(&state, &viewer, id, &business).await?;
    page.profile = ProfileForm::written(&body);
    page.profile.refusal = Refusal::of(error);
    page.refused()
}

//! Creating a business from the dashboard: the same fields and checks as
//! `POST /api/v1/businesses` (the same function registers it). An owner's business is theirs;
//! an admin's is created for nobody yet, as the API does without `owner_user_id`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;

use super::form::{self, settings_path, Refusal};
use super::profile::{ProfileFields, ProfileForm};
use crate::dashboard::page::{html, see_other, Layout, PageError};
use crate::dashboard::session::Viewer;
use crate::routes::businesses::{self, Registration, Via};
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "settings/new.html")]
struct NewBusinessPage {
    layout: Layout,
    profile: ProfileForm,
}

/// `GET /dashboard/businesses/new`.
#[get("/businesses/new")]
pub(super) async fn new_form(viewer: Viewer) -> Result<HttpResponse, PageError> {
    html(&NewBusinessPage {
        layout: Layout::for_viewer(&viewer, "New business", "businesses"),
        profile: ProfileForm::default(),
    })
}

/// `POST /dashboard/businesses`: registers the business, then opens its settings; refused,
/// the form comes back with the error and the values as typed (422).
#[post("/businesses")]
pub(super) async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    body: web::Form<ProfileFields>,
) -> Result<HttpResponse, PageError> {
    let registration = Registration {
        name: &body.name,
        description: &body.description,
        owner_phone: body.owner_phone(),
        timezone: body.timezone.trim(),
        owner_user_id: None,
    };
    let registered =
        businesses::register(&state, &viewer.who, &request, Via::Dashboard, registration).await;
    let error = match registered {
        Ok((id, _)) => return Ok(see_other(&format!("{}?saved=created", settings_path(id)))),
        Err(err) => form::refused(err)?,
    };
    let mut profile = ProfileForm::written(&body);
    profile.refusal = Refusal::of(error);
    let page = NewBusinessPage {
        layout: Layout::for_viewer(&viewer, "New business", "businesses"),
        profile,
    };
    Ok(form::unprocessable(html(&page)?))
}

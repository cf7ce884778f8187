//! Where people land: `/` sends a visitor to the dashboard (which asks them to sign in first),
//! and `/dashboard` is the signed-in user's start page.

use actix_web::{get, web, HttpResponse};
use askama::Template;

use super::page::{html, see_other, Layout, PageError};
use super::session::Viewer;

pub(super) fn configure(config: &mut web::ServiceConfig) {
    config.service(start);
}

/// `GET /`.
#[get("/")]
pub async fn root() -> HttpResponse {
    see_other("/dashboard")
}

#[derive(Template)]
#[template(path = "home.html")]
struct StartPage {
    layout: Layout,
}

/// `GET /dashboard`.
#[get("")]
async fn start(viewer: Viewer) -> Result<HttpResponse, PageError> {
    html(&StartPage {
        layout: Layout::for_viewer(&viewer, "Dashboard", "home"),
    })
}

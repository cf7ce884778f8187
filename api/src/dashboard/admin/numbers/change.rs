//! Changing a number we hold: assign, suspend, reactivate, and release after a confirmation
//! page (releasing cannot be undone). The functions the REST endpoints run do the work.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use infrastructure::twilio::rest::TwilioClient;
use projections::businesses::business;
use projections::phone_numbers::number as read_number;
use serde::Deserialize;
use uuid::Uuid;

use super::forms::{changed, metadata};
use super::view::key_and_path;
use crate::api_error::ApiError;
use crate::dashboard::admin::{database, Admin};
use crate::dashboard::page::{html, Layout, PageError};
use crate::routes::numbers::{
    assign_number, parse_number, reactivate_number, release_number, suspend_number,
};
use crate::startup::AppState;

#[derive(Deserialize)]
struct AssignForm {
    #[serde(default)]
    business_id: String,
}

/// `POST /admin/numbers/{number}/assign`: the number rings for the business chosen.
#[post("/numbers/{number}/assign")]
pub(super) async fn assign(
    admin: Admin,
    request: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<AssignForm>,
) -> Result<HttpResponse, PageError> {
    let outcome = async {
        let number = parse_number(&path)?;
        let business_id = Uuid::parse_str(form.business_id.trim()).map_err(|_| {
            ApiError::bad_request("business_required", "choose the business it is to ring for")
        })?;
        assign_number(&state, &number, business_id, &metadata(&request, &admin)).await?;
        Ok(number)
    };
    changed(&admin, &state, "assigned", outcome.await).await
}

#[derive(Deserialize)]
struct SuspendForm {
    #[serde(default)]
    reason: String,
}

/// `POST /admin/numbers/{number}/suspend`: its calls are turned away until reactivated.
#[post("/numbers/{number}/suspend")]
pub(super) async fn suspend(
    admin: Admin,
    request: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<SuspendForm>,
) -> Result<HttpResponse, PageError> {
    let outcome = async {
        let number = parse_number(&path)?;
        let reason = form.reason.trim().to_owned();
        suspend_number(&state, &number, reason, &metadata(&request, &admin)).await?;
        Ok(number)
    };
    changed(&admin, &state, "suspended", outcome.await).await
}

/// `POST /admin/numbers/{number}/reactivate`: a suspended number takes calls again.
#[post("/numbers/{number}/reactivate")]
pub(super) async fn reactivate(
    admin: Admin,
    request: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let outcome = async {
        let number = parse_number(&path)?;
        reactivate_number(&state, &number, &metadata(&request, &admin)).await?;
        Ok(number)
    };
    changed(&admin, &state, "reactivated", outcome.await).await
}

#[derive(Template)]
#[template(path = "admin/release.html")]
struct ReleasePage {
    layout: Layout,
    number: String,
    path: String,
    business: Option<String>,
    status: String,
}

/// `GET /admin/numbers/{number}/release`: asks before releasing, which cannot be undone.
#[get("/numbers/{number}/release")]
pub(super) async fn confirm_release(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let number = parse_number(&path).map_err(|_| PageError::NotFound)?;
    let row = read_number(&state.pool, number.as_ref())
        .await
        .map_err(database)?
        .ok_or(PageError::NotFound)?;
    let business = match row.business_id {
        Some(id) => business(&state.pool, id)
            .await
            .map_err(database)?
            .map(|business| business.name),
        None => None,
    };
    let (_, path) = key_and_path(&row.number);
    html(&ReleasePage {
        layout: Layout::for_viewer(&admin.0, format!("Release {}", row.number), "admin"),
        number: row.number,
        path,
        business,
        status: row.status,
    })
}

/// `POST /admin/numbers/{number}/release`: gives the number back to Twilio.
#[post("/numbers/{number}/release")]
pub(super) async fn release(
    admin: Admin,
    request: HttpRequest,
    state: web::Data<AppState>,
    twilio: web::Data<TwilioClient>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let outcome = async {
        let number = parse_number(&path)?;
        release_number(&state, &twilio, &number, &metadata(&request, &admin)).await?;
        Ok(number)
    };
    changed(&admin, &state, "released", outcome.await).await
}

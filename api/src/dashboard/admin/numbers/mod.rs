//! `GET /admin/numbers`: every number we hold or held, with a form per action, a search of
//! Twilio's numbers for sale (each with a "Buy" form) and a form to register a number the
//! Twilio account already holds. The forms post to [`acquire`] and [`change`] (what they share
//! is in [`forms`]), which answer with this page again: after a change (303 back here with
//! `done` and `number`), or with the reason a change was refused.
//!
//! The list is the `phone_numbers` read model, which catches up a moment after a change: the
//! number just changed is therefore shown as the write side holds it, so the page never shows
//! the state from before the change the admin just made.

mod acquire;
mod change;
mod forms;
mod view;

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use askama::Template;
use domain::values::E164;
use infrastructure::twilio::rest::TwilioClient;
use projections::businesses::list_businesses;
use projections::phone_numbers::list_numbers;
use serde::Deserialize;
use uuid::Uuid;

use self::view::{for_sale, overlay, BusinessOption, NumberView, RegisterFields, Search, Shown};
use super::{database, on_page, Admin, AdminPage};
use crate::dashboard::page::{html, Layout, PageError};
use crate::routes::numbers::{parse_number, search_available};
use crate::startup::AppState;

pub(super) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(page)
        .service(acquire::purchase)
        .service(acquire::register)
        .service(change::assign)
        .service(change::suspend)
        .service(change::reactivate)
        .service(change::confirm_release)
        .service(change::release);
}

#[derive(Template)]
#[template(path = "admin/numbers.html")]
struct NumbersPage {
    layout: Layout,
    admin_page: &'static str,
    notice: Option<String>,
    error: Option<String>,
    numbers: Vec<NumberView>,
    businesses: Vec<BusinessOption>,
    search: Search,
    register: RegisterFields,
}

#[derive(Deserialize)]
struct NumbersQuery {
    country: Option<String>,
    area_code: Option<String>,
    done: Option<String>,
    number: Option<String>,
}

/// `GET /admin/numbers`: the numbers; Twilio's numbers for sale when `country` is given.
#[get("/numbers")]
async fn page(
    admin: Admin,
    state: web::Data<AppState>,
    twilio: web::Data<TwilioClient>,
    query: web::Query<NumbersQuery>,
) -> Result<HttpResponse, PageError> {
    let query = query.into_inner();
    let changed = query
        .number
        .as_deref()
        .and_then(|number| parse_number(number).ok());
    let mut search = Search {
        country: query
            .country
            .clone()
            .unwrap_or_else(|| "US".to_owned())
            .trim()
            .to_owned(),
        area_code: query.area_code.unwrap_or_default().trim().to_owned(),
        ..Search::default()
    };
    if query.country.is_some() {
        let area_code = Some(search.area_code.as_str()).filter(|code| !code.is_empty());
        match search_available(&twilio, &search.country, area_code).await {
            Ok(found) => search.results = Some(found.into_iter().map(for_sale).collect()),
            Err(err) => search.error = Some(on_page(err)?.1),
        }
    }
    let shown = Shown {
        search,
        changed,
        done: query.done,
        ..Shown::default()
    };
    render(&admin, &state, shown, StatusCode::OK).await
}

/// The notice after `done` was done to `number`, which now rings for `business` (a name, or
/// empty).
fn done_notice(done: &str, number: &E164, business: &str) -> Option<String> {
    let rings_for = if business.is_empty() {
        String::new()
    } else {
        format!(" It rings for {business}.")
    };
    let text = match done {
        "bought" => format!("Bought {number}: its calls now come to us.{rings_for}"),
        "registered" => format!("Registered {number}: its calls now come to us.{rings_for}"),
        "assigned" if !business.is_empty() => format!("{number} now rings for {business}."),
        "suspended" => {
            format!("{number} is suspended: its calls are turned away until it is reactivated.")
        }
        "reactivated" => format!("{number} takes calls again."),
        "released" => format!("{number} was given back to Twilio."),
        _ => return None,
    };
    Some(text)
}

/// The numbers page with `shown`, answered with `status`.
async fn render(
    admin: &Admin,
    state: &AppState,
    shown: Shown,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let businesses = list_businesses(&state.pool, None).await.map_err(database)?;
    let names: HashMap<Uuid, String> = businesses
        .iter()
        .map(|business| (business.business_id, business.name.clone()))
        .collect();
    let mut numbers: Vec<NumberView> = list_numbers(&state.pool, None)
        .await
        .map_err(database)?
        .into_iter()
        .map(|row| NumberView::of_row(row, &names))
        .collect();
    let mut notice = None;
    if let Some(changed) = &shown.changed {
        overlay(state, changed, &names, &mut numbers).await;
        let business = numbers
            .iter()
            .find(|row| row.number == changed.as_ref())
            .map(|row| row.business.as_str())
            .unwrap_or_default();
        notice = shown
            .done
            .as_deref()
            .and_then(|done| done_notice(done, changed, business));
    }
    let businesses = businesses
        .into_iter()
        .filter(|business| business.active)
        .map(|business| BusinessOption {
            id: business.business_id.to_string(),
            name: business.name,
        })
        .collect();
    let mut response = html(&NumbersPage {
        layout: Layout::for_viewer(&admin.0, "Phone numbers", "admin"),
        admin_page: AdminPage::Numbers.name(),
        notice,
        error: shown.error,
        numbers,
        businesses,
        search: shown.search,
        register: shown.register,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

//! `GET /admin/businesses`: every business with its owner's email and how many numbers ring
//! for it, each linking to its settings page (`/dashboard/businesses/{id}`, where an admin
//! manages any business).

use std::collections::HashMap;

use actix_web::{get, web, HttpResponse};
use askama::Template;
use infrastructure::accounts::list_users;
use projections::businesses::list_businesses;
use projections::phone_numbers::list_numbers;
use uuid::Uuid;

use super::{accounts_failed, database, Admin, AdminPage};
use crate::dashboard::page::{html, Layout, PageError};
use crate::startup::AppState;

/// One business's row.
struct BusinessRow {
    id: Uuid,
    name: String,
    owner: String,
    active: bool,
    numbers: usize,
}

#[derive(Template)]
#[template(path = "admin/businesses.html")]
struct BusinessesPage {
    layout: Layout,
    admin_page: &'static str,
    businesses: Vec<BusinessRow>,
}

/// `GET /admin/businesses`.
#[get("/businesses")]
pub(super) async fn page(
    admin: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let businesses = list_businesses(&state.pool, None).await.map_err(database)?;
    let numbers = list_numbers(&state.pool, None).await.map_err(database)?;
    let emails: HashMap<Uuid, String> = list_users(&state.pool)
        .await
        .map_err(accounts_failed)?
        .into_iter()
        .map(|user| (user.user_id, user.email))
        .collect();
    let mut ringing: HashMap<Uuid, usize> = HashMap::new();
    for business in numbers
        .iter()
        .filter(|number| number.status != "released")
        .filter_map(|number| number.business_id)
    {
        *ringing.entry(business).or_default() += 1;
    }
    let businesses = businesses
        .into_iter()
        .map(|business| BusinessRow {
            owner: match business.owner_user_id {
                Some(owner) => emails
                    .get(&owner)
                    .cloned()
                    .unwrap_or_else(|| format!("unknown user {owner}")),
                None => "nobody".to_owned(),
            },
            numbers: ringing.get(&business.business_id).copied().unwrap_or(0),
            id: business.business_id,
            name: business.name,
            active: business.active,
        })
        .collect();
    html(&BusinessesPage {
        layout: Layout::for_viewer(&admin.0, "Businesses", "admin"),
        admin_page: AdminPage::Businesses.name(),
        businesses,
    })
}

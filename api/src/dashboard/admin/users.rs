//! `GET /admin/users`: every account (read-only), from the accounts table.

use actix_web::{get, web, HttpResponse};
use askama::Template;
use infrastructure::accounts::{list_users, Role};

use super::{accounts_failed, Admin, AdminPage};
use crate::dashboard::page::{html, Layout, PageError};
use crate::startup::AppState;

/// One account's row.
struct UserRow {
    email: String,
    name: String,
    role: &'static str,
    active: bool,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    admin_page: &'static str,
    users: Vec<UserRow>,
}

/// `GET /admin/users`.
#[get("/users")]
pub(super) async fn page(
    admin: Admin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let users = list_users(&state.pool).await.map_err(accounts_failed)?;
    let users = users
        .into_iter()
        .map(|user| UserRow {
            name: format!("{} {}", user.first_name, user.last_name),
            role: match Role::parse(&user.role) {
                Role::Admin => "Admin",
                Role::BusinessOwner => "Business owner",
            },
            active: user.active,
            created: user.created_at.format("%Y-%m-%d").to_string(),
            email: user.email,
        })
        .collect();
    html(&UsersPage {
        layout: Layout::for_viewer(&admin.0, "Users", "admin"),
        admin_page: AdminPage::Users.name(),
        users,
    })
}

//! The dashboards: the HTML pages business owners and admins use every day, served by the same
//! binary as the API (no separate front-end build). Pages are askama templates checked at
//! compile time (`api/templates/`), small interactions use htmx (vendored, `api/static/`), and
//! they read the same query layer as `/api/v1`, under the same tenant rules.
//!
//! - [`session`]: the signed-in user from an `HttpOnly` cookie holding the same JWT the API
//!   takes as a Bearer token, renewed from the refresh-token cookie.
//! - [`csrf`]: every form and htmx request carries a token matched against a cookie.
//! - [`page`]: rendering, and errors as pages (or a redirect to the login page).
//! - [`account`]: login, registration, logout. [`assets`]: the vendored scripts and the styles.
//! - [`home`]: where `/` and a signed-in user land.
//! - [`owner`]: the business owner's dashboard — today's numbers, the calls table, live
//!   updates, a call's page. [`settings`]: a business's controls (availability, hours, ring
//!   timeout, agent, numbers). [`admin`]: the admin's pages.

pub mod account;
pub mod admin;
pub mod assets;
pub mod csrf;
pub mod home;
pub mod owner;
pub mod page;
pub mod session;
pub mod settings;

use actix_web::dev::HttpServiceFactory;
use actix_web::middleware::from_fn;
use actix_web::web;

/// Registers every page (outside the OpenAPI document: these answer HTML).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(assets::asset)
        .service(home::root)
        .service(pages("/account", account::configure))
        .service(pages("/dashboard", |config| {
            home::configure(config);
            owner::configure(config);
            settings::configure(config);
        }))
        .service(pages("/admin", admin::configure));
}

/// The pages under `path`, with the session renewed and unsafe requests checked for CSRF.
fn pages(path: &str, routes: fn(&mut web::ServiceConfig)) -> impl HttpServiceFactory {
    web::scope(path)
        .wrap(from_fn(session::renew))
        .wrap(from_fn(csrf::protect))
        .configure(routes)
}

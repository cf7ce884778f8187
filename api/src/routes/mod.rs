//! HTTP routes, one module per resource.

pub mod auth;
mod health;
mod twilio;

use actix_web::web;

/// Registers every route.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .configure(health::configure)
        .configure(auth::configure)
        .configure(twilio::configure);
}

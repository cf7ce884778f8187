//! HTTP routes, one module per resource.

mod health;
mod twilio;

use actix_web::web;

/// Registers every route.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .configure(health::configure)
        .configure(twilio::configure);
}

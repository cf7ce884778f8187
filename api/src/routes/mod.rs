//! HTTP routes, one module per resource.
//!
//! Everything a client of ours calls is registered through [`documented`], whose handlers carry
//! `#[utoipa::path]`: the OpenAPI document is generated from that same registration, so a route
//! cannot exist without being documented. Twilio's webhooks are not part of that API.

pub mod admin;
pub mod auth;
pub mod businesses;
pub mod calls;
pub mod health;
mod metrics;
pub mod numbers;
pub mod privacy;
pub mod recordings;
pub mod stats;
mod twilio;
pub mod webhooks;

use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the documented routes: REST API and health.
pub fn documented(config: &mut ServiceConfig) {
    config
        .configure(health::configure)
        .configure(metrics::configure)
        .configure(auth::configure)
        .configure(businesses::configure)
        .configure(numbers::configure)
        .configure(calls::configure)
        .configure(recordings::configure)
        .configure(stats::configure)
        .configure(webhooks::configure)
        .configure(admin::configure)
        .configure(privacy::configure);
}

/// Registers Twilio's webhooks.
pub fn webhooks(config: &mut web::ServiceConfig) {
    config.configure(twilio::configure);
}

//! Liveness and readiness, for load balancers and orchestrators.
//!
//! `live` says the process answers; `ready` says it can do its work now (the database answers),
//! with 503 when it cannot, so a load balancer stops sending it calls.

use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use infrastructure::db;
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::startup::AppState;

const DATABASE_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) fn configure(config: &mut ServiceConfig) {
    config.service(live).service(ready);
}

/// The process answers.
#[utoipa::path(tag = "health", responses((status = 200, description = "Alive")))]
#[get("/health/live")]
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

/// The node can do its work: each dependency's state; 503 when one it needs is down.
#[utoipa::path(tag = "health", responses(
    (status = 200, description = "Ready"),
    (status = 503, description = "A dependency is down"),
))]
#[get("/health/ready")]
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if db::is_ready(&state.pool, DATABASE_TIMEOUT).await {
        HttpResponse::Ok().json(json!({ "status": "ready", "checks": { "database": "up" } }))
    } else {
        tracing::warn!("not ready: the database does not answer");
        HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "checks": { "database": "down" } }))
    }
}

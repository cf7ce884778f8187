//! Liveness and readiness, for load balancers and orchestrators.
//!
//! `live` says the process answers; `ready` says it can do its work now (the database answers),
//! with 503 when it cannot, so a load balancer stops sending it calls.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use infrastructure::db;
use serde_json::json;

use crate::startup::AppState;

const DATABASE_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready));
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if db::is_ready(&state.pool, DATABASE_TIMEOUT).await {
        HttpResponse::Ok().json(json!({ "status": "ready", "checks": { "database": "up" } }))
    } else {
        tracing::warn!("not ready: the database does not answer");
        HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "checks": { "database": "down" } }))
    }
}

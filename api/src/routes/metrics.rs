//! `GET /metrics`: the application's Prometheus metrics (see [`crate::metrics`]), for a
//! scraper on the operators' network.

use actix_web::{get, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::api_error::ApiError;
use crate::metrics::{Metrics, CONTENT_TYPE};
use crate::startup::AppState;

pub(super) fn configure(config: &mut ServiceConfig) {
    config.service(metrics);
}

/// Prometheus metrics in the text format: request durations by route, calls by route taken,
/// and how many events each projection and relay is behind.
#[utoipa::path(tag = "health", responses(
    (status = 200, description = "The metrics, in Prometheus' text format", body = String, content_type = "text/plain; version=0.0.4"),
))]
#[get("/metrics")]
async fn metrics(
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    let text = metrics
        .render(&state.pool)
        .await
        .map_err(|err| ApiError::Unexpected(err.into()))?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}

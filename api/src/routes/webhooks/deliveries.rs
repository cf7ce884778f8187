//! An endpoint's delivery log, and "send again".

use actix_web::{get, post, web, HttpResponse};
use infrastructure::webhooks::endpoints::{self as store, Delivery};
use uuid::Uuid;

use super::endpoint_of;
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::routes::businesses::managed;
use crate::startup::AppState;

/// The endpoint's latest 100 deliveries, newest first, each with its tries.
#[utoipa::path(tag = "webhooks", operation_id = "list_webhook_deliveries", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The business' id"),
        ("endpoint_id" = Uuid, Path, description = "The endpoint's id"),
    ),
    responses(
        (status = 200, description = "The deliveries, newest first", body = Vec<Delivery>),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business or endpoint, or not the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/businesses/{id}/webhooks/{endpoint_id}/deliveries")]
pub(super) async fn list(
    state: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, endpoint_id) = path.into_inner();
    let deliveries = log(&state, &who, id, endpoint_id).await?;
    Ok(HttpResponse::Ok().json(deliveries))
}

/// Checks the caller may manage business `id`, then reads its endpoint's delivery log.
pub(crate) async fn log(
    state: &AppState,
    who: &Authenticated,
    id: Uuid,
    endpoint_id: Uuid,
) -> Result<Vec<Delivery>, ApiError> {
    managed(state, who, id).await?;
    endpoint_of(&state.pool, id, endpoint_id).await?;
    store::deliveries(&state.pool, endpoint_id)
        .await
        .map_err(ApiError::database)
}

/// Sends a delivery again now, with the same `webhook-id` and body, as a new series of tries.
#[utoipa::path(tag = "webhooks", operation_id = "resend_webhook_delivery", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The business' id"),
        ("endpoint_id" = Uuid, Path, description = "The endpoint's id"),
        ("delivery_id" = Uuid, Path, description = "The delivery's id"),
    ),
    responses(
        (status = 202, description = "Queued to be sent again", body = Delivery),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, endpoint or delivery, or not the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/businesses/{id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend")]
pub(super) async fn resend(
    state: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<(Uuid, Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, endpoint_id, delivery_id) = path.into_inner();
    let delivery = send_again(&state, &who, id, endpoint_id, delivery_id).await?;
    Ok(HttpResponse::Accepted().json(delivery))
}

/// Checks the caller may manage business `id`, then sends its endpoint's delivery again.
pub(crate) async fn send_again(
    state: &AppState,
    who: &Authenticated,
    id: Uuid,
    endpoint_id: Uuid,
    delivery_id: Uuid,
) -> Result<Delivery, ApiError> {
    managed(state, who, id).await?;
    endpoint_of(&state.pool, id, endpoint_id).await?;
    let delivery = store::resend(&state.pool, endpoint_id, delivery_id)
        .await
        .map_err(ApiError::database)?
        .ok_or_else(|| ApiError::not_found("webhook_delivery_not_found", "no such delivery"))?;
    tracing::info!(business_id = %id, %endpoint_id, %delivery_id, webhook_id = %delivery.webhook_id, "webhook delivery sent again");
    Ok(delivery)
}

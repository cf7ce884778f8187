//! Registering, listing and deleting a business' webhook endpoints.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use infrastructure::vault::Vault;
use infrastructure::webhooks::endpoints::{self as store, Endpoint};
use infrastructure::webhooks::EventType;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{endpoint_not_found, refused, WebhookOptions};
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::routes::businesses::managed;
use crate::startup::AppState;

/// A new endpoint.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewEndpoint {
    /// Where deliveries are POSTed: `https://` on the public internet, without user name or
    /// password, up to 2000 characters.
    #[schema(example = "https://crm.example.com/hooks/calls", max_length = 2000)]
    url: String,
    /// The events to receive (at least one): `call.ended`, `message.taken`,
    /// `call.summarized`.
    #[schema(value_type = Vec<EventType>, min_items = 1, example = json!(["call.ended", "message.taken"]))]
    event_types: Vec<String>,
}

/// A newly registered endpoint, with its signing secret: the only time it is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct CreatedEndpoint {
    /// Its id.
    pub id: Uuid,
    /// The business it belongs to.
    pub business_id: Uuid,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The events it receives.
    pub event_types: Vec<EventType>,
    /// Whether deliveries are made.
    pub active: bool,
    /// When it was registered; it receives events that happen after.
    pub created_at: DateTime<Utc>,
    /// Who registered it.
    pub created_by: Option<Uuid>,
    /// The signing secret (`whsec_` and base64; the HMAC key is the decoded part). Shown
    /// once: keep it now.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl CreatedEndpoint {
    pub(crate) fn new(endpoint: Endpoint, secret: &secrecy::SecretString) -> Self {
        Self {
            id: endpoint.id,
            business_id: endpoint.business_id,
            url: endpoint.url,
            event_types: endpoint.event_types,
            active: endpoint.active,
            created_at: endpoint.created_at,
            created_by: endpoint.created_by,
            secret: secret.expose_secret().to_owned(),
        }
    }
}

/// Registers an endpoint; the answer holds its signing secret, which is never shown again.
#[utoipa::path(tag = "webhooks", operation_id = "register_webhook_endpoint", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    request_body = NewEndpoint,
    responses(
        (status = 201, description = "Registered; keep the secret now", body = CreatedEndpoint,
            headers(("Location" = String, description = "The endpoint's deliveries"))),
        (status = 400, description = "A URL that is not public `https://` (`invalid_webhook_url`), unknown or no event types (`invalid_event_types`), or a malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The business has the most endpoints it may have", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/businesses/{id}/webhooks")]
pub(super) async fn create(
    state: web::Data<AppState>,
    vault: web::Data<Vault>,
    options: web::Data<WebhookOptions>,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<NewEndpoint>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let created = register(
        &state,
        &vault,
        &options,
        &who,
        id,
        &body.url,
        &body.event_types,
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/businesses/{id}/webhooks/{}/deliveries", created.id),
        ))
        .json(created))
}

/// Checks the caller may manage business `id`, then registers an endpoint for it.
pub(crate) async fn register(
    state: &AppState,
    vault: &Vault,
    options: &WebhookOptions,
    who: &Authenticated,
    id: Uuid,
    url: &str,
    event_types: &[String],
) -> Result<CreatedEndpoint, ApiError> {
    let kinds = store::parse_event_types(event_types).map_err(refused)?;
    managed(state, who, id).await?;
    let (endpoint, secret) = store::register(
        &state.pool,
        vault,
        id,
        url,
        &kinds,
        Some(who.user_id),
        options.allow_http_loopback,
    )
    .await
    .map_err(refused)?;
    tracing::info!(business_id = %id, endpoint_id = %endpoint.id, "webhook endpoint registered");
    Ok(CreatedEndpoint::new(endpoint, &secret))
}

/// The business' endpoints, oldest first (never with their secrets).
#[utoipa::path(tag = "webhooks", operation_id = "list_webhook_endpoints", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    responses(
        (status = 200, description = "The endpoints", body = Vec<Endpoint>),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/businesses/{id}/webhooks")]
pub(super) async fn list(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    managed(&state, &who, id).await?;
    let endpoints = store::list(&state.pool, id)
        .await
        .map_err(ApiError::database)?;
    Ok(HttpResponse::Ok().json(endpoints))
}

/// Deletes an endpoint: nothing more is sent to it; its pending deliveries end as failed.
#[utoipa::path(tag = "webhooks", operation_id = "delete_webhook_endpoint", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The business' id"),
        ("endpoint_id" = Uuid, Path, description = "The endpoint's id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business or endpoint, or not the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/v1/businesses/{id}/webhooks/{endpoint_id}")]
pub(super) async fn delete(
    state: web::Data<AppState>,
    who: Authenticated,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, endpoint_id) = path.into_inner();
    remove(&state, &who, id, endpoint_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Checks the caller may manage business `id`, then deletes its endpoint `endpoint_id`.
pub(crate) async fn remove(
    state: &AppState,
    who: &Authenticated,
    id: Uuid,
    endpoint_id: Uuid,
) -> Result<(), ApiError> {
    managed(state, who, id).await?;
    if store::delete(&state.pool, id, endpoint_id)
        .await
        .map_err(ApiError::database)?
    {
        tracing::info!(business_id = %id, %endpoint_id, "webhook endpoint deleted");
        Ok(())
    } else {
        Err(endpoint_not_found())
    }
}

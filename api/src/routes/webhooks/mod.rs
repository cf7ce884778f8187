//! A business' outbound webhooks over HTTP: register an endpoint (its signing secret is in
//! that answer and never again), list and delete endpoints, read an endpoint's delivery log
//! and send a delivery again. docs/webhooks.md tells a receiver what arrives.
//!
//! The endpoints and deliveries live in their own tables ([`infrastructure::webhooks`]), not in
//! the event store: they are configuration and plumbing, not facts about calls. An owner only
//! reaches their own businesses' webhooks (anyone else's answer 404, as missing ones do); an
//! admin reaches all. The dashboard's webhooks page (`dashboard::settings::webhooks`) runs the
//! same checks through the `pub(crate)` helpers here.

mod deliveries;
mod endpoints;

use infrastructure::webhooks::endpoints::{self as store, Endpoint, RegisterError};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::api_error::ApiError;

pub(crate) use deliveries::{log as deliveries_log, send_again};
pub(crate) use endpoints::{
    register as register_endpoint, remove as remove_endpoint, CreatedEndpoint,
};

/// How this node treats endpoints' URLs.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookOptions {
    /// `WEBHOOKS_ALLOW_HTTP_LOOPBACK`: `http://` to this machine is allowed (tests, local
    /// development).
    pub allow_http_loopback: bool,
}

pub(super) fn configure(config: &mut ServiceConfig) {
    config
        .service(endpoints::create)
        .service(endpoints::list)
        .service(endpoints::delete)
        .service(deliveries::list)
        .service(deliveries::resend);
}

/// The answer for an endpoint that does not exist, is deleted or belongs to another business.
pub(crate) fn endpoint_not_found() -> ApiError {
    ApiError::not_found("webhook_endpoint_not_found", "no such webhook endpoint")
}

/// Maps a refused registration to an answer.
pub(crate) fn refused(err: RegisterError) -> ApiError {
    match err {
        RegisterError::Target(err) => ApiError::bad_request("invalid_webhook_url", err),
        RegisterError::NoEventTypes | RegisterError::UnknownEventType(_) => {
            ApiError::bad_request("invalid_event_types", err)
        }
        RegisterError::TooMany => ApiError::conflict("too_many_webhook_endpoints", err),
        RegisterError::Seal(err) => {
            ApiError::Unexpected(anyhow::anyhow!(err).context("cannot seal a webhook secret"))
        }
        RegisterError::Database(err) => ApiError::database(err),
    }
}

/// The business' endpoint `endpoint_id` (the caller's right to the business is checked), or
/// 404.
pub(crate) async fn endpoint_of(
    pool: &sqlx::PgPool,
    business_id: Uuid,
    endpoint_id: Uuid,
) -> Result<Endpoint, ApiError> {
    store::find(pool, business_id, endpoint_id)
        .await
        .map_err(ApiError::database)?
        .ok_or_else(endpoint_not_found)
}

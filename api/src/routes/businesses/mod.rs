//! Businesses over HTTP: list, register, read, and one endpoint per setting (profile, owner
//! phone, timezone, hours, ring timeout, availability, AI agent, deactivation).
//!
//! Reads come from the `businesses` read model; every change is one command on the `Business`
//! aggregate, appended with the acting user in its metadata, and answered with the business as
//! the aggregate holds it right after (no waiting for the read model). An owner only reaches
//! their own businesses: anyone else's answers 404, as a business that does not exist would.
//! The dashboard's business forms (`dashboard::settings`) run the same checks and commands
//! through the `pub(crate)` helpers here, with a `dashboard:` causation.

mod agent;
mod create;
pub(crate) mod input;
mod lifecycle;
pub(crate) mod notifications;
mod read;
mod settings;
mod view;

use actix_web::{HttpMessage, HttpRequest};
use chrono::Utc;
use domain::business::{Business, BusinessCommand, BusinessError};
use domain::CommandMetadata;
use tracing_actix_web::RequestId;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::access::Authenticated;
use crate::api_error::ApiError;
use crate::startup::AppState;

pub(crate) use agent::{apply_agent_settings, AgentInput};
pub(crate) use create::{register, Registration};
pub use view::{AgentView, BusinessView};

pub(super) fn configure(config: &mut ServiceConfig) {
    config
        .service(read::list)
        .service(create::create)
        .service(read::get_one)
        .service(settings::update_profile)
        .service(settings::set_owner_phone)
        .service(settings::set_timezone)
        .service(settings::set_hours)
        .service(settings::set_ring_timeout)
        .service(settings::set_availability)
        .service(agent::get_agent)
        .service(agent::configure_agent)
        .service(agent::disable_agent)
        .service(lifecycle::deactivate)
        .service(lifecycle::reactivate)
        .service(notifications::get_notifications)
        .service(notifications::set_notifications);
}

/// The answer for a business that does not exist or is not the caller's.
fn not_found() -> ApiError {
    ApiError::not_found("business_not_found", "no such business")
}

/// Maps the aggregate's refusals to answers.
fn rejected(err: BusinessError) -> ApiError {
    match err {
        BusinessError::NotFound => not_found(),
        BusinessError::Deactivated => ApiError::conflict(
            "business_deactivated",
            "the business is deactivated; reactivate it first",
        ),
        BusinessError::AlreadyRegistered => ApiError::conflict("business_exists", err),
        BusinessError::AlreadyActive => ApiError::conflict("business_already_active", err),
        BusinessError::AgentNotEnabled => ApiError::conflict("agent_not_enabled", err),
        BusinessError::AgentKeyMissing => ApiError::bad_request(
            "agent_key_required",
            "the first configuration of the AI agent needs an openai_api_key",
        ),
        BusinessError::EmptyQuietHours => ApiError::bad_request("invalid_quiet_hours", err),
        BusinessError::Invalid(value) => input::invalid(value),
    }
}

/// The business `id` as the write side holds it, if the caller may manage it; else 404.
pub(crate) async fn managed(
    state: &AppState,
    who: &Authenticated,
    id: Uuid,
) -> Result<Business, ApiError> {
    let business = state
        .stores
        .businesses
        .load(&id.to_string())
        .await
        .map_err(|err| ApiError::store(err, rejected))?
        .aggregate;
    if who.may_manage(&business) {
        Ok(business)
    } else {
        Err(not_found())
    }
}

/// Checks that the caller may manage business `id`, then carries out `command` on it; returns
/// the business after the command.
async fn execute(
    state: &AppState,
    who: &Authenticated,
    request: &HttpRequest,
    id: Uuid,
    command: BusinessCommand,
) -> Result<Business, ApiError> {
    managed(state, who, id).await?;
    append(state, who, request, id, command).await
}

/// Carries out `command` on business `id` (the caller's right to has been checked), recording
/// the request, its route and the acting user in the events' metadata.
async fn append(
    state: &AppState,
    who: &Authenticated,
    request: &HttpRequest,
    id: Uuid,
    command: BusinessCommand,
) -> Result<Business, ApiError> {
    append_via(state, who, request, Via::Rest, id, command).await
}

/// Where a command on a business came from: the first part of its causation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// The REST API (`rest:`).
    Rest,
    /// A dashboard page (`dashboard:`).
    Dashboard,
}

impl Via {
    fn prefix(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Dashboard => "dashboard",
        }
    }
}

/// As [`append`], for a request that came `via` the REST API or a dashboard page.
#[tracing::instrument(skip_all, fields(business_id = %id))]
pub(crate) async fn append_via(
    state: &AppState,
    who: &Authenticated,
    request: &HttpRequest,
    via: Via,
    id: Uuid,
    command: BusinessCommand,
) -> Result<Business, ApiError> {
    let committed = state
        .stores
        .businesses
        .execute(&id.to_string(), command, &metadata(who, request, via))
        .await
        .map_err(|err| ApiError::store(err, rejected))?;
    Ok(committed.aggregate)
}

/// Correlation: the request id; causation: `<via>:<METHOD> <route pattern>` (e.g.
/// `rest:PUT /api/v1/businesses/{id}/hours`); actor: the user.
fn metadata(who: &Authenticated, request: &HttpRequest, via: Via) -> CommandMetadata {
    let correlation_id = request
        .extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    let route = request
        .match_pattern()
        .unwrap_or_else(|| request.path().to_owned());
    CommandMetadata::new(
        correlation_id,
        format!("{}:{} {route}", via.prefix(), request.method()),
        who.actor(),
        Utc::now(),
    )
}

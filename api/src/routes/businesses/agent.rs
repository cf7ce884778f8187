//! The business' AI agent: read its settings, configure (and enable) it, disable it.
//!
//! The OpenAI key is sealed with the [`Vault`] as soon as it arrives, bound to the business;
//! only the sealed form and the last four characters are stored, and only the last four are
//! ever shown. Request bodies holding a key have no `Debug`, so they cannot end up in a log.

use actix_web::{delete, get, put, web, HttpRequest, HttpResponse};
use domain::business::{AgentSettings, Business, BusinessCommand};
use domain::values::BusinessId;
use infrastructure::vault::Vault;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::input::{self, INSTRUCTIONS_MAX, SETTING_MAX};
use super::view::{AgentView, BusinessView};
use super::Via;
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// The AI agent's settings.
#[utoipa::path(tag = "businesses", operation_id = "get_business_agent", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    responses(
        (status = 200, description = "The agent's settings (the key as its last four characters)", body = AgentView),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business (`business_not_found`), or no agent configured (`agent_not_configured`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/businesses/{id}/agent")]
pub(super) async fn get_agent(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let business = super::managed(&state, &who, id.into_inner()).await?;
    let agent = business.agent.as_ref().ok_or_else(|| {
        ApiError::not_found(
            "agent_not_configured",
            "this business has no AI agent yet; configure it with PUT",
        )
    })?;
    Ok(HttpResponse::Ok().json(AgentView::from(agent)))
}

/// The AI agent's settings as the owner sets them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AgentBody {
    /// OpenAI Realtime model.
    #[schema(example = "gpt-realtime", min_length = 1, max_length = 64)]
    model: String,
    /// Voice.
    #[schema(example = "marin", min_length = 1, max_length = 64)]
    voice: String,
    /// What the agent should do and say, 1 to 20000 characters.
    #[schema(
        example = "You are the receptionist of Joe's Plumbing. Take a message.",
        min_length = 1,
        max_length = 20000
    )]
    instructions: String,
    /// The OpenAI API key (8 to 512 visible ASCII characters). Required the first time; left
    /// out or `null`, the key already set is kept. Never shown again: only its last four.
    #[schema(example = "sk-proj-0123456789abcdef", min_length = 8, max_length = 512)]
    openai_api_key: Option<String>,
}

/// Configures the AI agent and turns it on.
#[utoipa::path(tag = "businesses", operation_id = "configure_business_agent", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    request_body = AgentBody,
    responses(
        (status = 200, description = "The business after the change", body = BusinessView),
        (status = 400, description = "Invalid setting, no key on the first configuration (`agent_key_required`), or malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The business is deactivated, or a concurrent change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/businesses/{id}/agent")]
pub(super) async fn configure_agent(
    state: web::Data<AppState>,
    vault: web::Data<Vault>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<AgentBody>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let settings = AgentInput {
        model: &body.model,
        voice: &body.voice,
        instructions: &body.instructions,
        openai_api_key: body.openai_api_key.as_deref(),
    };
    let business =
        apply_agent_settings(&state, &vault, &who, &request, Via::Rest, id, settings).await?;
    Ok(HttpResponse::Ok().json(BusinessView::new(id, &business)))
}

/// The AI agent's settings as the owner wrote them, before any check. No `Debug`: it may
/// hold a key.
pub(crate) struct AgentInput<'a> {
    /// OpenAI Realtime model.
    pub model: &'a str,
    /// Voice.
    pub voice: &'a str,
    /// Instructions.
    pub instructions: &'a str,
    /// A new OpenAI key; `None` keeps the key already set.
    pub openai_api_key: Option<&'a str>,
}

/// Checks the agent's settings, checks that the caller may manage business `id`, seals a new
/// key with the [`Vault`] (bound to the business) and configures and turns on the agent, `via`
/// the REST API or a dashboard page; returns the business after the change.
pub(crate) async fn apply_agent_settings(
    state: &AppState,
    vault: &Vault,
    who: &Authenticated,
    request: &HttpRequest,
    via: Via,
    id: Uuid,
    settings: AgentInput<'_>,
) -> Result<Business, ApiError> {
    let model = input::text("model", settings.model, SETTING_MAX, true)?;
    let voice = input::text("voice", settings.voice, SETTING_MAX, true)?;
    let instructions = input::text(
        "instructions",
        settings.instructions,
        INSTRUCTIONS_MAX,
        true,
    )?;
    let key = settings.openai_api_key.map(input::api_key).transpose()?;
    super::managed(state, who, id).await?;
    let api_key = key
        .map(|key| vault.seal(BusinessId(id), &key))
        .transpose()
        .map_err(|err| ApiError::Unexpected(anyhow::anyhow!(err).context("cannot seal the key")))?;
    let command = BusinessCommand::ConfigureAgent(AgentSettings {
        model,
        voice,
        instructions,
        api_key,
    });
    super::append_via(state, who, request, via, id, command).await
}

/// Turns the AI agent off, keeping its settings (PUT turns it on again).
#[utoipa::path(tag = "businesses", operation_id = "disable_business_agent", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    responses(
        (status = 200, description = "The business after the change", body = BusinessView),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The agent is not on (`agent_not_enabled`), the business is deactivated, or a concurrent change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/v1/businesses/{id}/agent")]
pub(super) async fn disable_agent(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let business =
        super::execute(&state, &who, &request, id, BusinessCommand::DisableAgent).await?;
    Ok(HttpResponse::Ok().json(BusinessView::new(id, &business)))
}

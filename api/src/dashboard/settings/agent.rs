//! The AI agent's settings: instructions, voice, model and the OpenAI key, which is write-only.
//!
//! The key field is a password field that is never filled in: the page only says "key ending
//! in …abcd" (or "no key"). Left empty, the key already set is kept. A new key goes through the
//! same function as `PUT /api/v1/businesses/{id}/agent`, which seals it with the `Vault` bound
//! to the business. The form body has no `Debug`, so the key cannot end up in a log.
//! "Remove" turns the agent off as `DELETE …/agent` does (its settings are kept: saving the
//! form turns it on again).

use actix_web::{post, web, HttpRequest, HttpResponse};
use domain::business::{Business, BusinessCommand};
use infrastructure::vault::Vault;
use serde::Deserialize;

use super::form::{self, settings_path, Refusal};
use super::page::SettingsPage;
use crate::dashboard::page::{see_other, PageError};
use crate::dashboard::session::Viewer;
use crate::routes::businesses::{self, AgentInput, Via};
use crate::startup::AppState;

/// The OpenAI Realtime voices offered in the voice list.
const VOICES: [&str; 10] = [
    "alloy", "ash", "ballad", "cedar", "coral", "echo", "marin", "sage", "shimmer", "verse",
];
/// The model a new agent starts with.
const DEFAULT_MODEL: &str = "gpt-realtime";
/// The voice a new agent starts with.
const DEFAULT_VOICE: &str = "marin";

/// The form.
pub(super) struct AgentForm {
    /// Whether an agent was ever set up.
    pub configured: bool,
    /// Whether it takes calls.
    pub enabled: bool,
    /// "key ending in …abcd", or "no key".
    pub key_hint: String,
    /// Model, as written.
    pub model: String,
    /// Voice, as chosen.
    pub voice: String,
    /// Instructions, as written.
    pub instructions: String,
    /// The voices to choose from (the known ones, and the current one if it is another).
    pub voices: Vec<String>,
    /// Why the last save was refused.
    pub refusal: Refusal,
}

impl AgentForm {
    /// The form showing the agent of `business` (or a starting point when it has none).
    pub fn of(business: &Business) -> Self {
        let (model, voice, instructions) = match &business.agent {
            Some(agent) => (
                agent.model.clone(),
                agent.voice.clone(),
                agent.instructions.clone(),
            ),
            None => (
                DEFAULT_MODEL.to_owned(),
                DEFAULT_VOICE.to_owned(),
                format!(
                    "You answer the phone for {}. Ask for the caller's name, number and message, \
                     and take the message.",
                    business.name
                ),
            ),
        };
        let key_hint = business.agent.as_ref().map_or_else(
            || "no key".to_owned(),
            |agent| format!("key ending in …{}", agent.api_key.last_four),
        );
        let mut form = Self {
            configured: business.agent.is_some(),
            enabled: business.agent_ready(),
            key_hint,
            model,
            voice: String::new(),
            instructions,
            voices: Vec::new(),
            refusal: Refusal::default(),
        };
        form.choose_voice(voice);
        form
    }

    /// Selects `voice`, offering it even when it is not one of the known voices.
    fn choose_voice(&mut self, voice: String) {
        self.voices = VOICES.iter().map(|voice| (*voice).to_owned()).collect();
        if !voice.is_empty() && !self.voices.contains(&voice) {
            self.voices.push(voice.clone());
        }
        self.voice = voice;
    }
}

/// What the form sends. No `Debug`: it holds the key.
#[derive(Deserialize)]
struct AgentSettingsForm {
    #[serde(default)]
    model: String,
    #[serde(default)]
    voice: String,
    #[serde(default)]
    instructions: String,
    #[serde(default)]
    openai_api_key: String,
}

/// `POST /dashboard/businesses/{id}/agent`: configures the agent and turns it on.
#[post("/businesses/{id}/agent")]
pub(super) async fn save(
    request: HttpRequest,
    state: web::Data<AppState>,
    vault: web::Data<Vault>,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Form<AgentSettingsForm>,
) -> Result<HttpResponse, PageError> {
    let id = form::business_id(&path)?;
    let business = form::managed(&state, &viewer, id).await?;
    let body = body.into_inner();
    let key = body.openai_api_key.trim();
    let settings = AgentInput {
        model: &body.model,
        voice: &body.voice,
        instructions: &body.instructions,
        openai_api_key: (!key.is_empty()).then_some(key),
    };
    let outcome = businesses::apply_agent_settings(
        &state,
        &vault,
        &viewer.who,
        &request,
        Via::Dashboard,
        id,
        settings,
    )
    .await;
    let error = match outcome {
        Ok(_) => {
            return Ok(see_other(&format!(
                "{}?saved=agent#agent",
                settings_path(id)
            )))
        }
        Err(err) => form::refused(err)?,
    };
    let mut page = SettingsPage::load(&state, &viewer, id, &business).await?;
    page.agent.model = body.model;
    page.agent.instructions = body.instructions;
    page.agent.choose_voice(body.voice);
    page.agent.refusal = Refusal::of(error);
    page.refused()
}

/// `POST /dashboard/businesses/{id}/agent/remove`: turns the agent off.
#[post("/businesses/{id}/agent/remove")]
pub(super) async fn remove(
    request: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = form::business_id(&path)?;
    let business = form::managed(&state, &viewer, id).await?;
    let command = BusinessCommand::DisableAgent;
    let outcome =
        businesses::append_via(&state, &viewer.who, &request, Via::Dashboard, id, command).await;
    let error = match outcome {
        Ok(_) => {
            return Ok(see_other(&format!(
                "{}?saved=agent-removed#agent",
                settings_path(id)
            )))
        }
        Err(err) => form::refused(err)?,
    };
    let mut page = SettingsPage::load(&state, &viewer, id, &business).await?;
    page.agent.refusal = Refusal::of(error);
    page.refused()
}

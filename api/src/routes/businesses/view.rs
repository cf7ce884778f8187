//! What the business endpoints answer after a command: the business as the aggregate holds it,
//! so a client sees its change at once, before the read model has caught up. The sealed API
//! key never leaves: only its last four characters.

use domain::business::{AgentConfig, Business};
use projections::businesses::WeekHours;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A business and all its settings. Every field is always sent; the optional ones as `null`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BusinessView {
    /// Id.
    pub id: Uuid,
    /// Name.
    #[schema(example = "Joe's Plumbing")]
    pub name: String,
    /// Description (may be empty).
    pub description: String,
    /// Owning user (`null`: a business an admin registered for nobody).
    #[schema(required = true)]
    pub owner_user_id: Option<Uuid>,
    /// Where the owner takes calls (E.164).
    #[schema(required = true, example = "+14155550123")]
    pub owner_phone: Option<String>,
    /// IANA timezone of the hours.
    #[schema(example = "America/New_York")]
    pub timezone: String,
    /// Weekly hours in that timezone.
    pub hours: WeekHours,
    /// The owner's availability switch.
    pub owner_available: bool,
    /// How long the owner's phone rings before the AI agent answers, in seconds.
    #[schema(example = 20, minimum = 5, maximum = 60)]
    pub ring_timeout_secs: u32,
    /// The AI agent (`null`: never configured).
    #[schema(required = true)]
    pub agent: Option<AgentView>,
    /// Whether the business takes calls.
    pub active: bool,
}

impl BusinessView {
    /// The view of `business`, whose id is `id`.
    pub fn new(id: Uuid, business: &Business) -> Self {
        Self {
            id,
            name: business.name.clone(),
            description: business.description.clone(),
            owner_user_id: business.owner_user_id,
            owner_phone: business.owner_phone.as_ref().map(ToString::to_string),
            timezone: business.timezone.name().to_owned(),
            hours: WeekHours::from(&business.hours),
            owner_available: business.owner_available,
            ring_timeout_secs: business.ring_timeout.secs(),
            agent: business.agent.as_ref().map(AgentView::from),
            active: business.active,
        }
    }
}

/// The AI agent's settings; the OpenAI key only as its last four characters.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    /// OpenAI Realtime model.
    #[schema(example = "gpt-realtime")]
    pub model: String,
    /// Voice.
    #[schema(example = "marin")]
    pub voice: String,
    /// What the agent should do and say.
    pub instructions: String,
    /// Whether the agent takes calls.
    pub enabled: bool,
    /// The last four characters of the OpenAI key in use.
    #[schema(example = "x9Qz")]
    pub key_last_four: String,
}

impl From<&AgentConfig> for AgentView {
    fn from(agent: &AgentConfig) -> Self {
        Self {
            model: agent.model.clone(),
            voice: agent.voice.clone(),
            instructions: agent.instructions.clone(),
            enabled: agent.enabled,
            key_last_four: agent.api_key.last_four.clone(),
        }
    }
}

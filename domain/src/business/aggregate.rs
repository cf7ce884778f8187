//! The business' state, how commands are decided on it and how events fold into it.

use chrono_tz::Tz;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    AgentSettings, BusinessCommand, BusinessError, BusinessEvent, NotificationSettings,
    RegisterBusiness, SealedSecret, WeeklyHours,
};
use crate::values::{bounded_text, BusinessId, RingTimeout, E164};

const NAME_MAX: usize = 120;
const DESCRIPTION_MAX: usize = 2000;
const INSTRUCTIONS_MAX: usize = 20_000;
const SETTING_MAX: usize = 64;

/// The AI agent of a business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentConfig {
    /// Realtime model.
    pub model: String,
    /// Voice.
    pub voice: String,
    /// Instructions.
    pub instructions: String,
    /// The sealed OpenAI key.
    pub api_key: SealedSecret,
    /// Whether the agent takes calls.
    pub enabled: bool,
}

/// A business as routing and management see it. `id` is `None` until it is registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Business {
    /// Its id, once registered.
    pub id: Option<BusinessId>,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Owning user.
    pub owner_user_id: Option<Uuid>,
    /// Where the owner takes calls.
    pub owner_phone: Option<E164>,
    /// Timezone of the hours.
    pub timezone: Tz,
    /// Weekly hours in that timezone.
    pub hours: WeeklyHours,
    /// The owner's availability switch.
    pub owner_available: bool,
    /// How long the owner's phone rings.
    pub ring_timeout: RingTimeout,
    /// The AI agent, once configured.
    pub agent: Option<AgentConfig>,
    /// Whether the business takes calls.
    pub active: bool,
    /// How the owner is told about calls.
    #[serde(default)]
    pub notifications: NotificationSettings,
    /// Days its callers' personal data is kept (`None`: until erased on request).
    #[serde(default)]
    pub retention_days: Option<u32>,
}

impl Default for Business {
    fn default() -> Self {
        Self {
            id: None,
            name: String::new(),
            description: String::new(),
            owner_user_id: None,
            owner_phone: None,
            timezone: Tz::UTC,
            hours: WeeklyHours::always_open(),
            owner_available: true,
            ring_timeout: RingTimeout::default(),
            agent: None,
            active: false,
            notifications: NotificationSettings::default(),
            retention_days: None,
        }
    }
}

impl Business {
    /// Whether the AI agent can take a call now.
    pub fn agent_ready(&self) -> bool {
        self.agent.as_ref().is_some_and(|agent| agent.enabled)
    }

    /// Decides a command: the events it causes, or why it is refused. Pure.
    pub fn decide(&self, command: BusinessCommand) -> Result<Vec<BusinessEvent>, BusinessError> {
        use BusinessCommand as C;
        use BusinessEvent as E;
        match &command {
            C::Register(_) => {}
            // A deactivated business keeps its key: it is resealed too.
            C::Reactivate | C::ResealAgentKey { .. } => self.require_registered()?,
            // Personal data is erased, and kept no longer than set, whether it takes calls or not.
            C::RecordErasure { .. } | C::SetRetention { .. } => self.require_registered()?,
            _ => self.require_active()?,
        }
        let events = match command {
            C::Register(register) => self.register(register)?,
            C::Reactivate => {
                if self.active {
                    return Err(BusinessError::AlreadyActive);
                }
                vec![E::BusinessReactivated]
            }
            C::UpdateProfile { name, description } => {
                let name = bounded_text("name", &name, NAME_MAX)?;
                let description = optional_text("description", &description, DESCRIPTION_MAX)?;
                changed(
                    name != self.name || description != self.description,
                    E::BusinessProfileUpdated { name, description },
                )
            }
            C::SetOwnerPhone(owner_phone) => changed(
                owner_phone != self.owner_phone,
                E::OwnerPhoneChanged { owner_phone },
            ),
            C::SetTimezone(timezone) => {
                changed(timezone != self.timezone, E::TimezoneChanged { timezone })
            }
            C::SetBusinessHours(hours) => {
                changed(hours != self.hours, E::BusinessHoursChanged { hours })
            }
            C::SetOwnerAvailability { available } => changed(
                available != self.owner_available,
                E::OwnerAvailabilityChanged { available },
            ),
            C::SetRingTimeout(ring_timeout) => changed(
                ring_timeout != self.ring_timeout,
                E::RingTimeoutChanged { ring_timeout },
            ),
            C::ConfigureAgent(settings) => self.configure_agent(settings)?,
            C::DisableAgent => {
                if !self.agent_ready() {
                    return Err(BusinessError::AgentNotEnabled);
                }
                vec![E::AgentDisabled]
            }
            C::SetNotificationSettings(settings) => {
                if settings
                    .quiet_hours
                    .is_some_and(|quiet| quiet.from == quiet.until)
                {
                    return Err(BusinessError::EmptyQuietHours);
                }
                let settings = settings.normalized();
                changed(
                    settings != self.notifications,
                    E::NotificationSettingsChanged { settings },
                )
            }
            C::ResealAgentKey { replaces, api_key } => self.reseal_agent_key(&replaces, api_key),
            C::RecordErasure { calls, reason } => vec![E::CallerDataErased { calls, reason }],
            C::SetRetention { days } => {
                changed(days != self.retention_days, E::RetentionSet { days })
            }
            C::Deactivate { reason } => vec![E::BusinessDeactivated {
                reason: optional_text("reason", &reason, DESCRIPTION_MAX)?,
            }],
        };
        Ok(events)
    }

    fn require_registered(&self) -> Result<(), BusinessError> {
        self.id.map(|_| ()).ok_or(BusinessError::NotFound)
    }

    fn require_active(&self) -> Result<(), BusinessError> {
        self.require_registered()?;
        if self.active {
            Ok(())
        } else {
            Err(BusinessError::Deactivated)
        }
    }

    fn register(&self, command: RegisterBusiness) -> Result<Vec<BusinessEvent>, BusinessError> {
        if self.id.is_some() {
            return Err(BusinessError::AlreadyRegistered);
        }
        Ok(vec![BusinessEvent::BusinessRegistered {
            id: command.id,
            name: bounded_text("name", &command.name, NAME_MAX)?,
            description: optional_text("description", &command.description, DESCRIPTION_MAX)?,
            owner_user_id: command.owner_user_id,
            owner_phone: command.owner_phone,
            timezone: command.timezone,
        }])
    }

    fn reseal_agent_key(
        &self,
        replaces: &SealedSecret,
        api_key: SealedSecret,
    ) -> Vec<BusinessEvent> {
        match &self.agent {
            Some(agent) if agent.api_key == *replaces && api_key != *replaces => {
                vec![BusinessEvent::AgentKeyResealed {
                    api_key: SealedSecret {
                        // The plain key is the same, so are its last four characters.
                        last_four: agent.api_key.last_four.clone(),
                        ..api_key
                    },
                }]
            }
            _ => vec![],
        }
    }

    fn configure_agent(
        &self,
        settings: AgentSettings,
    ) -> Result<Vec<BusinessEvent>, BusinessError> {
        let api_key = settings
            .api_key
            .or_else(|| self.agent.as_ref().map(|agent| agent.api_key.clone()))
            .ok_or(BusinessError::AgentKeyMissing)?;
        let configured = AgentConfig {
            model: bounded_text("model", &settings.model, SETTING_MAX)?,
            voice: bounded_text("voice", &settings.voice, SETTING_MAX)?,
            instructions: bounded_text("instructions", &settings.instructions, INSTRUCTIONS_MAX)?,
            api_key,
            enabled: true,
        };
        if self.agent.as_ref() == Some(&configured) {
            return Ok(vec![]);
        }
        Ok(vec![BusinessEvent::AgentConfigured {
            model: configured.model,
            voice: configured.voice,
            instructions: configured.instructions,
            api_key: configured.api_key,
        }])
    }
}

/// Setting a value to what it already is changes nothing and records nothing: a double click on
/// the availability switch is not two facts.
fn changed(differs: bool, event: BusinessEvent) -> Vec<BusinessEvent> {
    if differs {
        vec![event]
    } else {
        vec![]
    }
}

fn optional_text(field: &'static str, raw: &str, max: usize) -> Result<String, BusinessError> {
    if raw.trim().is_empty() {
        Ok(String::new())
    } else {
        Ok(bounded_text(field, raw, max)?)
    }
}

impl Aggregate for Business {
    const TYPE: &'static str = "Business";
    type Command = BusinessCommand;
    type Event = BusinessEvent;
    type Error = BusinessError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let events = self.decide(command)?;
        crate::record(self, events, sink).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        use BusinessEvent as E;
        match event {
            E::BusinessRegistered {
                id,
                name,
                description,
                owner_user_id,
                owner_phone,
                timezone,
            } => {
                self.id = Some(id);
                self.name = name;
                self.description = description;
                self.owner_user_id = owner_user_id;
                self.owner_phone = owner_phone;
                self.timezone = timezone;
                self.active = true;
            }
            E::BusinessProfileUpdated { name, description } => {
                self.name = name;
                self.description = description;
            }
            E::OwnerPhoneChanged { owner_phone } => self.owner_phone = owner_phone,
            E::TimezoneChanged { timezone } => self.timezone = timezone,
            E::BusinessHoursChanged { hours } => self.hours = hours,
            E::OwnerAvailabilityChanged { available } => self.owner_available = available,
            E::RingTimeoutChanged { ring_timeout } => self.ring_timeout = ring_timeout,
            E::AgentConfigured {
                model,
                voice,
                instructions,
                api_key,
            } => {
                self.agent = Some(AgentConfig {
                    model,
                    voice,
                    instructions,
                    api_key,
                    enabled: true,
                });
            }
            E::AgentDisabled => {
                if let Some(agent) = self.agent.as_mut() {
                    agent.enabled = false;
                }
            }
            E::BusinessDeactivated { .. } => self.active = false,
            E::BusinessReactivated => self.active = true,
            E::AgentKeyResealed { api_key } => {
                if let Some(agent) = self.agent.as_mut() {
                    agent.api_key = api_key;
                }
            }
            E::NotificationSettingsChanged { settings } => self.notifications = settings,
            E::CallerDataErased { .. } => {}
            E::RetentionSet { days } => self.retention_days = days,
        }
    }
}

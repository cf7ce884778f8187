//! The number's state, how commands are decided on it and how events fold into it.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{PhoneNumberCommand, PhoneNumberError, PhoneNumberEvent, ProvisionNumber};
use crate::values::{bounded_text, BusinessId, Money, E164};

/// Whether a number takes calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberStatus {
    /// Never provisioned.
    #[default]
    Unknown,
    /// Takes calls.
    Active,
    /// Held, but not taking calls.
    Suspended,
    /// Given back to Twilio.
    Released,
}

/// A phone number we hold (or held).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PhoneNumber {
    /// The number, once provisioned.
    pub number: Option<E164>,
    /// Twilio's `PN…` sid.
    pub twilio_sid: String,
    /// Country code.
    pub country: String,
    /// Area code.
    pub area_code: Option<String>,
    /// Monthly cost.
    pub monthly_cost: Option<Money>,
    /// The business it rings for.
    pub business_id: Option<BusinessId>,
    /// Whether it takes calls.
    pub status: NumberStatus,
}

impl PhoneNumber {
    /// Decides a command: the events it causes, or why it is refused. Pure.
    pub fn decide(
        &self,
        command: PhoneNumberCommand,
    ) -> Result<Vec<PhoneNumberEvent>, PhoneNumberError> {
        use NumberStatus as S;
        use PhoneNumberCommand as C;
        use PhoneNumberEvent as E;
        match (command, self.status) {
            (C::Provision(provision), S::Unknown | S::Released) => self.provision(provision),
            (C::Provision(_), S::Active | S::Suspended) => {
                Err(PhoneNumberError::AlreadyProvisioned)
            }
            (_, S::Unknown) => Err(PhoneNumberError::NotFound),
            (_, S::Released) => Err(PhoneNumberError::Released),
            (C::AssignToBusiness(business_id), _) => {
                if self.business_id == Some(business_id) {
                    return Ok(vec![]);
                }
                Ok(vec![E::NumberAssigned {
                    business_id,
                    previous_business_id: self.business_id,
                }])
            }
            (C::Release, _) => Ok(vec![E::NumberReleased]),
            (C::Suspend { .. }, S::Suspended) => Err(PhoneNumberError::AlreadySuspended),
            (C::Suspend { reason }, S::Active) => Ok(vec![E::NumberSuspended {
                reason: bounded_text("reason", &reason, 2000)?,
            }]),
            (C::Reactivate, S::Suspended) => Ok(vec![E::NumberReactivated]),
            (C::Reactivate, S::Active) => Err(PhoneNumberError::NotSuspended),
        }
    }

    fn provision(
        &self,
        command: ProvisionNumber,
    ) -> Result<Vec<PhoneNumberEvent>, PhoneNumberError> {
        Ok(vec![PhoneNumberEvent::NumberProvisioned {
            number: command.number,
            twilio_sid: bounded_text("twilio_sid", &command.twilio_sid, 64)?,
            country: bounded_text("country", &command.country, 2)?.to_ascii_uppercase(),
            area_code: command.area_code,
            monthly_cost: command.monthly_cost,
        }])
    }

    /// Whether a call to this number may be taken, and for which business.
    pub fn rings_for(&self) -> Option<BusinessId> {
        match self.status {
            NumberStatus::Active => self.business_id,
            _ => None,
        }
    }
}

impl Aggregate for PhoneNumber {
    const TYPE: &'static str = "PhoneNumber";
    type Command = PhoneNumberCommand;
    type Event = PhoneNumberEvent;
    type Error = PhoneNumberError;
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
        use PhoneNumberEvent as E;
        match event {
            E::NumberProvisioned {
                number,
                twilio_sid,
                country,
                area_code,
                monthly_cost,
            } => {
                *self = Self {
                    number: Some(number),
                    twilio_sid,
                    country,
                    area_code,
                    monthly_cost: Some(monthly_cost),
                    business_id: None,
                    status: NumberStatus::Active,
                };
            }
            E::NumberAssigned { business_id, .. } => self.business_id = Some(business_id),
            E::NumberReleased => {
                self.status = NumberStatus::Released;
                self.business_id = None;
            }
            E::NumberSuspended { .. } => self.status = NumberStatus::Suspended,
            E::NumberReactivated => self.status = NumberStatus::Active,
        }
    }
}

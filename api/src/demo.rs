//! `callassist demo seed`: a demo business with one phone number, so anyone can watch the
//! routing work (with `callassist simulate call`) without a Twilio account.
//!
//! Idempotent: the business and number have fixed ids, and every step is a command that changes
//! nothing when the state already is what the demo wants.

use chrono::Utc;
use domain::business::{
    AgentSettings, BusinessCommand, BusinessError, RegisterBusiness, SealedSecret, WeeklyHours,
};
use domain::phone_number::{NumberStatus, PhoneNumberCommand, PhoneNumberError, ProvisionNumber};
use domain::values::{BusinessId, Money, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{StoreError, Stores};
use serde::Serialize;
use uuid::Uuid;

/// The demo business' fixed id.
pub const DEMO_BUSINESS_ID: Uuid = Uuid::from_u128(0x5eed_de70_0000_4000_8000_0000_0000_0001);
/// The demo number.
pub const DEMO_NUMBER: &str = "+15555550100";
/// The demo owner's phone.
pub const DEMO_OWNER_PHONE: &str = "+15555550123";
const DEMO_NUMBER_SID: &str = "PN5eedde70000040008000000000000001";
/// A second demo number, left unassigned for an admin to give to a business of their own.
pub const DEMO_SPARE_NUMBER: &str = "+15555550101";
const DEMO_SPARE_NUMBER_SID: &str = "PN5eedde70000040008000000000000002";
const DEMO_NAME: &str = "Demo Plumbing & Heating";

/// What the seed created (or found).
#[derive(Debug, Serialize)]
pub struct DemoSeed {
    /// The business.
    pub business_id: Uuid,
    /// Its name.
    pub business_name: &'static str,
    /// The number that rings for it.
    pub phone_number: &'static str,
    /// The owner's phone.
    pub owner_phone: &'static str,
    /// The unassigned number an admin may assign (see [`DEMO_SPARE_NUMBER`]).
    pub spare_number: &'static str,
    /// How many events this run appended (0 when everything was in place).
    pub events_appended: usize,
}

/// A demo step failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A business command failed.
    #[error("seeding the demo business failed")]
    Business(#[from] StoreError<BusinessError>),
    /// A number command failed.
    #[error("seeding the demo number failed")]
    Number(#[from] StoreError<PhoneNumberError>),
    /// A constant did not parse (a bug).
    #[error("demo data is malformed: {0}")]
    Malformed(String),
}

/// Creates the demo business (open all week, owner available, AI agent configured) and its
/// number, or brings them back to that state; and provisions the spare number (unassigned, and
/// left with whatever business an admin gave it since).
pub async fn seed(stores: &Stores) -> Result<DemoSeed, DemoError> {
    let metadata = CommandMetadata::new("demo-seed", "cli:demo seed", Actor::Cli, Utc::now());
    let business_id = BusinessId(DEMO_BUSINESS_ID);
    let id = business_id.to_string();
    let owner_phone =
        E164::parse(DEMO_OWNER_PHONE).map_err(|e| DemoError::Malformed(e.to_string()))?;
    let mut appended = 0;

    let business = stores.businesses.load(&id).await?.aggregate;
    let mut business_commands = Vec::new();
    if business.id.is_none() {
        business_commands.push(BusinessCommand::Register(RegisterBusiness {
            id: business_id,
            name: DEMO_NAME.into(),
            description: "The demo business of `callassist demo seed`.".into(),
            owner_user_id: None,
            owner_phone: Some(owner_phone.clone()),
            timezone: chrono_tz::UTC,
        }));
    } else if !business.active {
        business_commands.push(BusinessCommand::Reactivate);
    }
    business_commands.extend([
        BusinessCommand::SetOwnerPhone(Some(owner_phone)),
        BusinessCommand::SetBusinessHours(WeeklyHours::always_open()),
        BusinessCommand::SetOwnerAvailability { available: true },
        BusinessCommand::ConfigureAgent(AgentSettings {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
            instructions: format!(
                "You are the friendly receptionist of {DEMO_NAME}. The owner cannot come to the \
                 phone. Take a message: the caller's name, a callback number and what it is about."
            ),
            // No real key: the voice bridge runs the demo against its built-in fake agent.
            api_key: business
                .agent
                .as_ref()
                .map(|a| a.api_key.clone())
                .or(Some(SealedSecret {
                    key_id: infrastructure::vault::PLACEHOLDER_KEY_ID.into(),
                    ciphertext: String::new(),
                    last_four: "none".into(),
                })),
        }),
    ]);
    for command in business_commands {
        appended += stores
            .businesses
            .execute(&id, command, &metadata)
            .await?
            .events
            .len();
    }

    let mut number_commands = provision(stores, DEMO_NUMBER, DEMO_NUMBER_SID).await?;
    number_commands.push(PhoneNumberCommand::AssignToBusiness(business_id));
    for command in number_commands {
        appended += stores
            .numbers
            .execute(DEMO_NUMBER, command, &metadata)
            .await?
            .events
            .len();
    }
    for command in provision(stores, DEMO_SPARE_NUMBER, DEMO_SPARE_NUMBER_SID).await? {
        appended += stores
            .numbers
            .execute(DEMO_SPARE_NUMBER, command, &metadata)
            .await?
            .events
            .len();
    }

    Ok(DemoSeed {
        business_id: DEMO_BUSINESS_ID,
        business_name: DEMO_NAME,
        phone_number: DEMO_NUMBER,
        owner_phone: DEMO_OWNER_PHONE,
        spare_number: DEMO_SPARE_NUMBER,
        events_appended: appended,
    })
}

/// What makes demo number `number` active: provisioned if it is not (again if released),
/// reactivated if suspended.
async fn provision(
    stores: &Stores,
    number: &str,
    twilio_sid: &str,
) -> Result<Vec<PhoneNumberCommand>, DemoError> {
    let held = stores.numbers.load(number).await?.aggregate;
    Ok(match held.status {
        NumberStatus::Unknown | NumberStatus::Released => {
            vec![PhoneNumberCommand::Provision(ProvisionNumber {
                number: E164::parse(number).map_err(|e| DemoError::Malformed(e.to_string()))?,
                twilio_sid: twilio_sid.into(),
                country: "US".into(),
                area_code: Some("555".into()),
                monthly_cost: Money::new(rust_decimal_1_15(), "USD")
                    .map_err(|e| DemoError::Malformed(e.to_string()))?,
            })]
        }
        NumberStatus::Suspended => vec![PhoneNumberCommand::Reactivate],
        NumberStatus::Active => vec![],
    })
}

/// 1.15, Twilio's usual monthly price of a local US number.
fn rust_decimal_1_15() -> rust_decimal::Decimal {
    rust_decimal::Decimal::new(115, 2)
}

//! What an acquisition request asks for, checked, and how an acquired number is recorded:
//! provisioned with Twilio's sid, then assigned when a business is named.
//!
//! Twilio's number resources carry no price, so every number is recorded at
//! [`DEFAULT_MONTHLY_COST`]: Twilio's list price of a US local number, 1.15 USD a month.

use domain::phone_number::{PhoneNumber, PhoneNumberCommand, PhoneNumberError, ProvisionNumber};
use domain::values::{BusinessId, Money, E164};
use domain::CommandMetadata;
use infrastructure::event_store::StoreError;
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::read::parse_country;
use super::{active_business, parse_number, rejected};
use crate::api_error::ApiError;
use crate::startup::AppState;

/// The monthly cost recorded for a new number, in cents of [`DEFAULT_CURRENCY`]: 1.15, what
/// Twilio lists for a US local number.
const DEFAULT_MONTHLY_COST: i64 = 115;
/// The currency of [`DEFAULT_MONTHLY_COST`].
const DEFAULT_CURRENCY: &str = "USD";

/// Calling codes (a prefix code: none starts another) and the country a number under them is
/// recorded in when the request names none. `+1` is the North American plan, shared by Canada
/// and the Caribbean: send `country` for those.
const CALLING_CODES: &[(&str, &str)] = &[
    ("1", "US"),
    ("27", "ZA"),
    ("31", "NL"),
    ("32", "BE"),
    ("33", "FR"),
    ("34", "ES"),
    ("351", "PT"),
    ("353", "IE"),
    ("358", "FI"),
    ("39", "IT"),
    ("41", "CH"),
    ("420", "CZ"),
    ("43", "AT"),
    ("44", "GB"),
    ("45", "DK"),
    ("46", "SE"),
    ("47", "NO"),
    ("48", "PL"),
    ("49", "DE"),
    ("52", "MX"),
    ("55", "BR"),
    ("61", "AU"),
    ("64", "NZ"),
    ("65", "SG"),
    ("81", "JP"),
    ("852", "HK"),
    ("972", "IL"),
];

/// A number to buy or register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcquireNumber {
    /// The number, E.164.
    #[schema(example = "+14155550100")]
    pub(crate) phone_number: String,
    /// The business it is to ring for (registered and active); unassigned when missing.
    #[serde(default)]
    pub(crate) business_id: Option<Uuid>,
    /// ISO 3166-1 alpha-2 country of the number. Default: from its calling code (`+1` → `US`,
    /// `+44` → `GB`, …); required for calling codes we do not know.
    #[serde(default)]
    #[schema(example = "US")]
    pub(crate) country: Option<String>,
}

/// A checked [`AcquireNumber`].
pub(super) struct Plan {
    /// The number.
    pub(super) number: E164,
    country: String,
    area_code: Option<String>,
    /// The business it is to ring for.
    pub(super) business: Option<BusinessId>,
}

impl Plan {
    /// Checks the body: the number, the country, and that the business exists and is active.
    pub(super) async fn of(state: &AppState, body: AcquireNumber) -> Result<Self, ApiError> {
        let number = parse_number(&body.phone_number)?;
        let digits = number.as_ref().trim_start_matches('+');
        let country = match body.country.as_deref() {
            Some(given) => parse_country(given)?,
            None => CALLING_CODES
                .iter()
                .find(|(code, _)| digits.starts_with(code))
                .map(|(_, country)| (*country).to_owned())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "country_required",
                        format!(
                            "name the country of {number}: its calling code is not one we know"
                        ),
                    )
                })?,
        };
        // North American numbers: `1`, then a three-digit area code.
        let area_code = digits
            .strip_prefix('1')
            .filter(|national| national.len() == 10)
            .map(|national| national[..3].to_owned());
        let business = match body.business_id {
            Some(id) => Some(active_business(state, id).await?),
            None => None,
        };
        Ok(Self {
            number,
            country,
            area_code,
            business,
        })
    }
}

/// Which step of recording an acquired number failed.
pub(super) enum Step {
    /// `Provision`: the number is not ours yet.
    Provision,
    /// `AssignToBusiness`: the number is ours, but rings for nobody.
    Assign,
}

/// Provisions the number with Twilio's sid, then assigns it when the plan names a business.
pub(super) async fn provision(
    state: &AppState,
    plan: &Plan,
    twilio_sid: &str,
    metadata: &CommandMetadata,
) -> Result<PhoneNumber, (Step, ApiError)> {
    let id = plan.number.as_ref();
    let monthly_cost = Money::new(Decimal::new(DEFAULT_MONTHLY_COST, 2), DEFAULT_CURRENCY)
        .map_err(|err| (Step::Provision, ApiError::Unexpected(err.into())))?;
    let command = PhoneNumberCommand::Provision(ProvisionNumber {
        number: plan.number.clone(),
        twilio_sid: twilio_sid.to_owned(),
        country: plan.country.clone(),
        area_code: plan.area_code.clone(),
        monthly_cost,
    });
    // Our input was checked at the edge: a malformed field can only be Twilio's sid.
    let refused = |rejection| match rejection {
        PhoneNumberError::Invalid(invalid) => ApiError::Upstream {
            code: "twilio_error",
            message: format!("Twilio answered a number we cannot record: {invalid}"),
        },
        other => rejected(other),
    };
    let fail = |step| move |err: StoreError<_>| (step, ApiError::store(err, refused));
    let mut held = state
        .stores
        .numbers
        .execute(id, command, metadata)
        .await
        .map_err(fail(Step::Provision))?
        .aggregate;
    if let Some(business) = plan.business {
        let command = PhoneNumberCommand::AssignToBusiness(business);
        held = state
            .stores
            .numbers
            .execute(id, command, metadata)
            .await
            .map_err(fail(Step::Assign))?
            .aggregate;
    }
    Ok(held)
}

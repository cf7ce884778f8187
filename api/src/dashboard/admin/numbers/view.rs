//! What the numbers page shows, row by row, and the number just changed as the write side
//! holds it (the read model catches up a moment after a change).

use std::collections::HashMap;

use domain::phone_number::{NumberStatus, PhoneNumber};
use domain::values::E164;
use infrastructure::twilio::rest::AvailableNumber;
use projections::phone_numbers::NumberRow;
use uuid::Uuid;

use crate::startup::AppState;

/// A number as its row shows it.
pub(super) struct NumberView {
    /// E.164.
    pub(super) number: String,
    /// Its digits, for element ids (`assign-14155550100`).
    pub(super) key: String,
    /// As a path segment (`%2B14155550100`).
    pub(super) path: String,
    /// `active`, `suspended` or `released`.
    pub(super) status: String,
    /// The business it rings for, or empty.
    pub(super) business_id: String,
    /// That business' name, or empty.
    pub(super) business: String,
    /// E.g. `1.15 USD`.
    pub(super) monthly_cost: String,
    /// Why it is suspended.
    pub(super) suspension_reason: Option<String>,
}

/// The digits of `number` (ids) and `number` as a path segment.
pub(super) fn key_and_path(number: &str) -> (String, String) {
    (
        number.trim_start_matches('+').to_owned(),
        number.replace('+', "%2B"),
    )
}

impl NumberView {
    pub(super) fn of_row(row: NumberRow, names: &HashMap<Uuid, String>) -> Self {
        let (key, path) = key_and_path(&row.number);
        Self {
            key,
            path,
            business: name_of(row.business_id, names),
            business_id: row.business_id.map(|id| id.to_string()).unwrap_or_default(),
            status: row.status,
            monthly_cost: format!("{} {}", row.monthly_cost_amount, row.monthly_cost_currency),
            suspension_reason: row.suspension_reason,
            number: row.number,
        }
    }

    /// The number as the write side holds it, keeping what only the read model knows.
    pub(super) fn of_held(
        number: &E164,
        held: &PhoneNumber,
        names: &HashMap<Uuid, String>,
    ) -> Self {
        let (key, path) = key_and_path(number.as_ref());
        let business_id = held.business_id.map(|id| id.0);
        Self {
            key,
            path,
            number: number.to_string(),
            status: match held.status {
                NumberStatus::Suspended => "suspended",
                NumberStatus::Released => "released",
                NumberStatus::Active | NumberStatus::Unknown => "active",
            }
            .to_owned(),
            business: name_of(business_id, names),
            business_id: business_id.map(|id| id.to_string()).unwrap_or_default(),
            monthly_cost: held
                .monthly_cost
                .as_ref()
                .map(|cost| format!("{} {}", cost.amount, cost.currency))
                .unwrap_or_default(),
            suspension_reason: None,
        }
    }
}

fn name_of(business: Option<Uuid>, names: &HashMap<Uuid, String>) -> String {
    business
        .map(|id| names.get(&id).cloned().unwrap_or_else(|| id.to_string()))
        .unwrap_or_default()
}

/// A business a number may be given to.
pub(super) struct BusinessOption {
    pub(super) id: String,
    pub(super) name: String,
}

/// A number for sale.
pub(super) struct ForSale {
    pub(super) number: String,
    pub(super) key: String,
    pub(super) friendly_name: String,
    pub(super) place: String,
    pub(super) country: String,
}

/// The search form's values, and what it found.
#[derive(Default)]
pub(super) struct Search {
    /// The country searched (`US` when the form is new).
    pub(super) country: String,
    /// The area code searched, or empty.
    pub(super) area_code: String,
    /// The numbers found, when searched.
    pub(super) results: Option<Vec<ForSale>>,
    /// Why the search failed.
    pub(super) error: Option<String>,
}

/// The register form's values (kept when a registration is refused).
#[derive(Default)]
pub(super) struct RegisterFields {
    /// The number typed.
    pub(super) phone_number: String,
    /// The country typed.
    pub(super) country: String,
}

/// What the page shows besides the numbers.
#[derive(Default)]
pub(super) struct Shown {
    /// The search form.
    pub(super) search: Search,
    /// The register form.
    pub(super) register: RegisterFields,
    /// The number just changed, shown as the write side holds it.
    pub(super) changed: Option<E164>,
    /// What was just done to it (`assigned`, …).
    pub(super) done: Option<String>,
    /// What went wrong.
    pub(super) error: Option<String>,
}

/// A number for sale as its row shows it.
pub(super) fn for_sale(number: AvailableNumber) -> ForSale {
    let (key, _) = key_and_path(&number.phone_number);
    let place = [number.locality, number.region]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    ForSale {
        key,
        friendly_name: number.friendly_name.unwrap_or_default(),
        place,
        country: number.iso_country.unwrap_or_default(),
        number: number.phone_number,
    }
}

/// Shows `number` as the write side holds it (the read model may not have caught up yet).
pub(super) async fn overlay(
    state: &AppState,
    number: &E164,
    names: &HashMap<Uuid, String>,
    numbers: &mut Vec<NumberView>,
) {
    let held = match state.stores.numbers.load(number.as_ref()).await {
        Ok(loaded) => loaded.aggregate,
        Err(err) => {
            tracing::warn!(error = %err, %number, "cannot load the number just changed");
            return;
        }
    };
    if held.status == NumberStatus::Unknown {
        return;
    }
    let mut view = NumberView::of_held(number, &held, names);
    match numbers.iter_mut().find(|row| row.number == view.number) {
        Some(row) => {
            if view.status == "suspended" {
                view.suspension_reason = row.suspension_reason.take();
            }
            *row = view;
        }
        None => {
            let at = numbers.partition_point(|row| row.number < view.number);
            numbers.insert(at, view);
        }
    }
}

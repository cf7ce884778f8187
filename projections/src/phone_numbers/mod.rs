//! Read model `phone_numbers`: every number we hold or held, which business it rings for and
//! whether it takes calls, for the numbers page and the admin overview.
//!
//! Table `rm_phone_numbers.numbers` (migration `20261125000006_rm_phone_numbers.sql`).

mod projection;
mod queries;

pub use projection::PhoneNumbersProjection;
pub use queries::{list_numbers, number, NumberRow};

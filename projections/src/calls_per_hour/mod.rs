//! Read model `calls_per_hour`, the analysts' worked example (docs/projections.md): how many
//! calls each business receives per hour of the day, in the business' local time.
//!
//! Tables (schema `rm_calls_per_hour`, migration `20261125000008_rm_calls_per_hour.sql`):
//! `calls_per_hour` and the projection's own `business_timezones`.

mod projection;
mod queries;

pub use projection::CallsPerHourProjection;
pub use queries::{calls_per_hour, HourlyCalls};

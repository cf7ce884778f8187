//! Read model `businesses`: every business with its settings, for management pages, the REST
//! API and the admin overview.

mod hours;
mod projection;
mod queries;

pub use hours::{HoursRange, WeekHours};
pub use projection::BusinessesProjection;
pub use queries::{business, list_businesses, BusinessRow};

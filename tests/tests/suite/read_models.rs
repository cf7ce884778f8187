//! The read models (`calls`, `phone_numbers`, `daily_stats`, `calls_per_hour`, the admin
//! overview) on the real PostgreSQL, projected by the real runtime.
//!
//! - [`properties`]: any workload the domain accepts projects into read models equal to an
//!   independent fold of the stored events, live and rebuilt.
//! - [`runtime`]: idempotence, rebuild under concurrent writes, a killed projector.
//! - [`queries`]: filters, paging, scoping, local days, the overview, a webhook call end to end.

mod harness;
mod properties;
mod queries;
mod runtime;

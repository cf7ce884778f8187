//! The read side: the projector runtime and the read models it builds from the global event
//! stream, with the queries that dashboards and the REST API use.
//!
//! - [`runtime`]: runs each [`runtime::Projection`] with its checkpoint (exactly once, in
//!   order), one instance across processes, and rebuilds one into fresh tables.
//! - [`registry`]: every projection of the product; adding one is one line there.
//! - One module per read model, holding its projection and its queries; [`overview`] reads
//!   several of them for the admin overview; [`timezones`] helps those that count by local time.
#![warn(missing_docs)]

pub mod businesses;
pub mod calls;
pub mod calls_per_hour;
pub mod daily_stats;
pub mod decode;
pub mod overview;
pub mod phone_numbers;
pub mod registry;
pub mod runtime;
pub mod timezones;

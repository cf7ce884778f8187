//! The read side: the projector runtime and the read models it builds from the global event
//! stream, with the queries that dashboards and the REST API use.
//!
//! - [`runtime`]: runs each [`runtime::Projection`] with its checkpoint (exactly once, in
//!   order), one instance across processes, and rebuilds one into fresh tables.
//! - [`registry`]: every projection of the product; adding one is one line there.
//! - One module per read model, holding its projection and its queries.
#![warn(missing_docs)]

pub mod businesses;
pub mod decode;
pub mod registry;
pub mod runtime;

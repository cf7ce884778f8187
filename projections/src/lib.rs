//! The read side: projector runtime and read models built from the global event stream.
//!
//! Empty for now: the projector runtime and the read models arrive with the read-side issue.
//! The crate exists so that the workspace has the layout of DESIGN.md from the start.

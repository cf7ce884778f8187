//! The `callassist` application: the actix-web server (health now; webhooks, REST and the voice
//! bridge as they arrive) and the CLI subcommands that run it.
#![warn(missing_docs)]

pub mod cli;
pub mod routes;
pub mod startup;

pub use startup::Application;

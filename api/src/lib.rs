//! The `callassist` application: the actix-web server (health now; webhooks, REST and the voice
//! bridge as they arrive) and the CLI subcommands that run it.
#![warn(missing_docs)]

pub mod api_error;
pub mod audit_cmd;
pub mod call_flow;
pub mod cli;
pub mod demo;
pub mod routes;
pub mod simulate;
pub mod startup;
pub mod twilio;
pub mod workers;

pub use startup::Application;

//! The `callassist` application: the actix-web server (Twilio webhooks, the REST API, health
//! and metrics, and the voice bridge: Twilio's media stream relayed to the OpenAI Realtime API)
//! and the CLI subcommands that run it.
#![warn(missing_docs)]

pub mod access;
pub mod api_error;
pub mod audit_cmd;
pub mod call_flow;
pub mod cli;
pub mod cors;
pub mod dashboard;
pub mod demo;
pub mod keys_cmd;
pub mod login_limit;
pub mod metrics;
pub mod openapi;
pub mod privacy_cmd;
pub mod routes;
pub mod sign_in;
pub mod simulate;
pub mod startup;
pub mod stopping;
pub mod twilio;
pub mod voice;
pub mod workers;

pub use startup::Application;

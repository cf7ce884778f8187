//! Infrastructure of Call Assistant: everything that talks to the outside world on behalf of the
//! pure `domain` crate.
//!
//! - [`config`]: typed settings from the environment (and `.env`), checked once at start.
//! - [`telemetry`]: the `tracing` subscriber (text or JSON).
//! - [`db`]: connecting to PostgreSQL, creating the database, running the migrations.
//! - [`event_store`]: the write path (load, decide, append with metadata) over postgres-es,
//!   with aggregates cached in memory, and the gap-safe reader of the global stream.
//! - [`relay`]: publishes every event to RabbitMQ (confirmed, at least once) when `AMQP_URL`
//!   is set.
//! - [`audit`]: one aggregate's full history replayed from the event store, with the state
//!   after each event (`callassist audit call`, the call history of the REST API).
//! - [`openai`]: the OpenAI Realtime API's wire protocol (the voice bridge's other side) and
//!   the Responses API client that writes post-call summaries.
//! - [`summarizer`]: after a call with the AI agent, asks OpenAI for a summary and records it.
//! - [`vault`]: API keys sealed at rest (AEAD), with rotatable encryption keys.
//! - [`webhooks`]: signed outbound webhooks (Standard Webhooks) to the businesses' endpoints.
//! - [`privacy`]: callers' personal data in events sealed with a key per business, caller and
//!   day, erased by deleting the key.
#![warn(missing_docs)]

pub mod accounts;
pub mod audit;
pub mod config;
pub mod db;
pub mod event_store;
mod json_text;
pub mod leadership;
pub mod notifications;
pub mod openai;
pub mod privacy;
mod reader_checkpoint;
pub mod relay;
pub mod summarizer;
pub mod telemetry;
pub mod tokens;
pub mod twilio;
pub mod vault;
pub mod webhooks;

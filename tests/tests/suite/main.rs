//! The one test binary of the end-to-end and database tests (one build, run in parallel).
// Test code: a panic is a failed assertion with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_businesses;
mod api_calls;
mod api_numbers;
mod audit;
mod auth;
mod dashboard;
mod event_store;
mod fakes;
mod global_stream;
mod health;
mod keys;
mod notifications;
mod observability;
mod openapi;
mod outbound_webhooks;
mod privacy;
mod read_models;
mod relay;
mod summaries;
mod tenancy;
mod transcriptions;
mod voice;
mod wakeup;
mod webhooks;

//! Receiving Twilio's webhooks: every request to `/twilio/*` is checked against Twilio's
//! signature before anything reads it, and its form parameters are kept in the order sent.

mod params;
mod signed;

pub use params::WebhookParams;
pub use signed::{PublicUrls, SignedWebhook, WebhookError, WebhookSigners};

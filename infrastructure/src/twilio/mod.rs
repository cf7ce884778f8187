//! Twilio: checking the signatures of its webhooks, answering them with TwiML, and calling its
//! REST API. The real service by default (`TWILIO_API_BASE`); tests point it at a fake.

pub mod media;
pub mod rest;
pub mod signature;
pub mod twiml;

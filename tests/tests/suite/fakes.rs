//! Self-tests of the protocol fakes (`support::fake_openai`, `support::fake_twilio_media`):
//! each fake against a minimal peer written here with plain tokio-tungstenite, so the fakes
//! are known to speak PROTOCOLS.md before they judge the voice bridge.

mod openai;
mod twilio_media;

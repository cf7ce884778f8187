//! OpenAI: the Realtime API the voice bridge talks to during a call ([`realtime`]), and the
//! Responses API that summarises a call afterwards ([`summary`]).
//!
//! The endpoints come from the settings (`OPENAI_API_BASE`, `OPENAI_REALTIME_URL`), so tests point
//! them at fakes; each business brings its own API key.

pub mod realtime;
pub mod summary;

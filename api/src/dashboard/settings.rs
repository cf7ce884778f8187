//! A business's controls: the owner's availability, business hours, ring timeout, the AI
//! agent's settings, and the business's phone numbers.

use actix_web::web;

pub(super) fn configure(_config: &mut web::ServiceConfig) {}

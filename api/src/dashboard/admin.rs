//! The admin's pages: businesses, users, phone numbers, call volume and the human/AI share,
//! projector and relay health.

use actix_web::web;

pub(super) fn configure(_config: &mut web::ServiceConfig) {}

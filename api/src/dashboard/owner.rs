//! The business owner's dashboard: today's numbers, the calls table with filters and paging,
//! live updates over Server-Sent Events, and a call's page.

use actix_web::web;

pub(super) fn configure(_config: &mut web::ServiceConfig) {}

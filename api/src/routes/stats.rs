//! TODO(issue 6): stats routes.

use utoipa_actix_web::service_config::ServiceConfig;

pub(super) fn configure(_config: &mut ServiceConfig) {}

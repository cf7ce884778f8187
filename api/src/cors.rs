//! Cross-origin requests: which browser front ends (`CORS_ALLOWED_ORIGINS`) may call the API.
//!
//! Off unless origins are configured: then no CORS header is ever sent and browsers keep
//! other sites' scripts from reading our answers. Tokens travel in `Authorization`, never in
//! cookies, so credentials are not allowed and a listed origin gets no more than a Bearer
//! token already gives it.

use actix_cors::Cors;
use actix_web::http::{header, Method};
use actix_web::middleware::Condition;

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: usize = 3600;

/// The CORS middleware for `origins` (as `infrastructure::config::parse_origins` returns
/// them); does nothing when there are none.
pub fn middleware(origins: &[String]) -> Condition<Cors> {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::HeaderName::from_static("x-request-id")])
        .max_age(PREFLIGHT_MAX_AGE)
        // Another origin's request is served without CORS headers (its browser will not let
        // it read the answer) rather than refused: non-browser clients send Origin too.
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    Condition::new(!origins.is_empty(), cors)
}

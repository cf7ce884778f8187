//! The OpenAPI 3 document of the REST API, generated from the handlers' `#[utoipa::path]`
//! annotations as they are registered ([`crate::routes::documented`]).

use actix_web::App;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";
/// Where Swagger UI is served.
pub const SWAGGER_PATH: &str = "/api/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Call Assistant API",
        description = "Businesses, phone numbers, calls and their history. Sign in with \
            `POST /api/v1/auth/login` and send the access token as `Authorization: Bearer …`. \
            Errors are `application/problem+json` with a stable `code`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "businesses", description = "Businesses and their settings"),
        (name = "phone-numbers", description = "Phone numbers (changes: admins only)"),
        (name = "calls", description = "Calls, their timelines, audit history and recordings"),
        (name = "webhooks", description = "Signed outbound webhooks to a business' endpoints, and their delivery logs"),
        (name = "admin", description = "System overview (admins only)"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
struct ApiInfo;

/// Declares the `bearer` scheme that secured operations name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document's fixed part: info, tags, security schemes. Paths come from the routes.
pub fn base() -> Document {
    ApiInfo::openapi()
}

/// The whole document, as the server serves it.
pub fn document() -> Document {
    App::new()
        .into_utoipa_app()
        .openapi(base())
        .configure(crate::routes::documented)
        .split_for_parts()
        .1
}

//! Registering a business. An owner registers their own; an admin may register one for an
//! existing business owner, or for nobody yet.

use actix_web::http::header;
use actix_web::{post, web, HttpRequest, HttpResponse};
use domain::business::{Business, BusinessCommand, RegisterBusiness};
use domain::values::BusinessId;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::input::{self, DESCRIPTION_MAX, NAME_MAX};
use super::view::BusinessView;
use super::Via;
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// A new business.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewBusiness {
    /// Display name, 1 to 120 characters.
    #[schema(example = "Joe's Plumbing", min_length = 1, max_length = 120)]
    name: String,
    /// What it does, up to 2000 characters (empty when left out).
    #[serde(default)]
    #[schema(example = "Pipes, fast.", max_length = 2000)]
    description: String,
    /// Where the owner takes calls (E.164).
    #[schema(example = "+14155550123", pattern = r"^\+[1-9][0-9]{1,14}$")]
    owner_phone: Option<String>,
    /// IANA timezone its hours are read in.
    #[schema(example = "America/New_York", max_length = 64)]
    timezone: String,
    /// Admins only: the business owner (an active `business_owner` user) it is for. Left
    /// out, an owner's business is theirs and an admin's has no owner yet.
    owner_user_id: Option<Uuid>,
}

/// Registers a business; it starts open around the clock, owner available, no AI agent.
#[utoipa::path(tag = "businesses", operation_id = "register_business", security(("bearer" = [])), request_body = NewBusiness, responses(
    (status = 201, description = "Registered", body = BusinessView,
        headers(("Location" = String, description = "The new business' URL"))),
    (status = 400, description = "Invalid field, unknown owner or malformed body", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "An owner named another user as owner", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "A concurrent change", body = Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/businesses")]
pub(super) async fn create(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    body: web::Json<NewBusiness>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let registration = Registration {
        name: &body.name,
        description: &body.description,
        owner_phone: body.owner_phone.as_deref(),
        timezone: &body.timezone,
        owner_user_id: body.owner_user_id,
    };
    let (id, business) = register(&state, &who, &request, Via::Rest, registration).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/businesses/{id}")))
        .json(BusinessView::new(id, &business)))
}

/// A new business as its registrant wrote it, before any check.
pub(crate) struct Registration<'a> {
    /// Display name.
    pub name: &'a str,
    /// What it does (may be empty).
    pub description: &'a str,
    /// Where the owner takes calls, E.164.
    pub owner_phone: Option<&'a str>,
    /// IANA timezone name.
    pub timezone: &'a str,
    /// Admins only: the business owner it is for.
    pub owner_user_id: Option<Uuid>,
}

/// Checks a new business (every field, then who will own it) and registers it, `via` the REST
/// API or a dashboard page; returns its id and the business as registered.
pub(crate) async fn register(
    state: &AppState,
    who: &Authenticated,
    request: &HttpRequest,
    via: Via,
    registration: Registration<'_>,
) -> Result<(Uuid, Business), ApiError> {
    let name = input::text("name", registration.name, NAME_MAX, true)?;
    let description = input::text(
        "description",
        registration.description,
        DESCRIPTION_MAX,
        false,
    )?;
    let owner_phone = registration.owner_phone.map(input::phone).transpose()?;
    let timezone = input::timezone(registration.timezone)?;
    let owner_user_id = owner_of_new_business(state, who, registration.owner_user_id).await?;

    let id = Uuid::new_v4();
    let command = BusinessCommand::Register(RegisterBusiness {
        id: BusinessId(id),
        name,
        description,
        owner_user_id,
        owner_phone,
        timezone,
    });
    let business = super::append_via(state, who, request, via, id, command).await?;
    Ok((id, business))
}

/// Who will own the new business: an owner always themselves; an admin the active business
/// owner they name, or nobody.
async fn owner_of_new_business(
    state: &AppState,
    who: &Authenticated,
    requested: Option<Uuid>,
) -> Result<Option<Uuid>, ApiError> {
    if !who.is_admin() {
        return match requested {
            None => Ok(Some(who.user_id)),
            Some(user) if user == who.user_id => Ok(Some(user)),
            Some(_) => Err(ApiError::forbidden(
                "admin_only",
                "only an admin may register a business for another user",
            )),
        };
    }
    let Some(user) = requested else {
        return Ok(None);
    };
    let is_active_owner: Option<bool> = sqlx::query_scalar(
        "SELECT active AND role = 'business_owner' FROM users WHERE user_id = $1",
    )
    .bind(user)
    .fetch_optional(&state.pool)
    .await
    .map_err(ApiError::database)?;
    if is_active_owner == Some(true) {
        Ok(Some(user))
    } else {
        Err(ApiError::bad_request(
            "unknown_owner",
            "owner_user_id is not an active business owner",
        ))
    }
}

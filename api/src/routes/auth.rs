//! Accounts over HTTP: register (business owners), log in, refresh, log out, and who am I.

use actix_web::{get, post, web, HttpResponse};
use infrastructure::accounts::{self, AccountError, NewUser, Profile, Role};
use infrastructure::tokens::{TokenError, TokenPair, Tokens};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::sign_in::{sign_in, SignInError};
use crate::startup::AppState;

pub(super) fn configure(config: &mut ServiceConfig) {
    config
        .service(register)
        .service(login)
        .service(refresh)
        .service(logout)
        .service(me);
}

fn account_error(err: AccountError) -> ApiError {
    match err {
        AccountError::BadEmail(_) => ApiError::bad_request("invalid_email", err),
        AccountError::WeakPassword(_) => ApiError::bad_request("weak_password", err),
        AccountError::BadName(_) => ApiError::bad_request("invalid_name", err),
        AccountError::EmailTaken => ApiError::Conflict {
            code: "email_taken",
            message: err.to_string(),
        },
        AccountError::Hashing(_) | AccountError::Database(_) => ApiError::Unexpected(err.into()),
    }
}

fn token_error(err: TokenError) -> ApiError {
    match err {
        TokenError::Invalid => ApiError::unauthorized("invalid_refresh_token", err),
        TokenError::Reused => ApiError::unauthorized("refresh_token_reused", err),
        TokenError::Database(_) => ApiError::Unexpected(err.into()),
    }
}

/// A business owner signing up.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Registration {
    /// Their email (case and surrounding spaces do not matter).
    #[schema(example = "ann@example.com")]
    email: String,
    /// At least 10 characters.
    password: String,
    /// First name.
    first_name: String,
    /// Last name.
    last_name: String,
}

/// The account just created.
#[derive(Serialize, ToSchema)]
struct Registered {
    /// The new user's id.
    user_id: Uuid,
}

/// Creates a business owner's account.
#[utoipa::path(operation_id = "register_account", tag = "auth", request_body = Registration, responses(
    (status = 201, description = "Account created", body = Registered),
    (status = 400, description = "Invalid email, weak password or malformed body", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/register")]
async fn register(
    state: web::Data<AppState>,
    body: web::Json<Registration>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewUser {
        email: body.email,
        password: body.password,
        first_name: body.first_name,
        last_name: body.last_name,
        role: Role::BusinessOwner,
    };
    let user_id = accounts::create_user(&state.pool, new, "self-registration", state.bcrypt_cost)
        .await
        .map_err(account_error)?;
    Ok(HttpResponse::Created().json(Registered { user_id }))
}

/// Email and password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Credentials {
    /// The account's email.
    email: String,
    /// Its password.
    password: String,
}

/// Signs in: a short-lived access token (JWT) and a refresh token.
#[utoipa::path(operation_id = "log_in", tag = "auth", request_body = Credentials, responses(
    (status = 200, description = "Signed in", body = TokenPair),
    (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
    (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/login")]
async fn login(
    request: actix_web::HttpRequest,
    state: web::Data<AppState>,
    tokens: web::Data<Tokens>,
    limiter: web::Data<crate::login_limit::LoginLimiter>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let signed_in = sign_in(
        &request,
        &state.pool,
        state.bcrypt_cost,
        &tokens,
        &limiter,
        &body.email,
        &body.password,
    )
    .await;
    let pair = signed_in.map_err(|err| match err {
        SignInError::TooManyAttempts(retry_after) => ApiError::TooManyRequests {
            code: "too_many_failed_logins",
            retry_after,
        },
        SignInError::WrongCredentials => {
            ApiError::unauthorized("invalid_credentials", "wrong email or password")
        }
        SignInError::Account(err) => account_error(err),
        SignInError::Token(err) => token_error(err),
    })?;
    Ok(HttpResponse::Ok().json(pair))
}

/// A refresh token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    /// The refresh token of the last pair.
    refresh_token: String,
}

/// Trades a refresh token for a new pair; the old one stops working. Presenting a used one
/// again ends every session of that sign-in.
#[utoipa::path(operation_id = "refresh_session", tag = "auth", request_body = RefreshRequest, responses(
    (status = 200, description = "A new pair", body = TokenPair),
    (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Unknown, expired or reused refresh token", body = Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/refresh")]
async fn refresh(
    state: web::Data<AppState>,
    tokens: web::Data<Tokens>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let pair = tokens
        .refresh(&state.pool, &body.refresh_token)
        .await
        .map_err(token_error)?;
    Ok(HttpResponse::Ok().json(pair))
}

/// Ends the session of a refresh token.
#[utoipa::path(operation_id = "log_out", tag = "auth", request_body = RefreshRequest, responses(
    (status = 204, description = "Signed out"),
    (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "Unknown refresh token", body = Problem, content_type = "application/problem+json"),
))]
#[post("/api/v1/auth/logout")]
async fn logout(
    state: web::Data<AppState>,
    tokens: web::Data<Tokens>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    tokens
        .end_session(&state.pool, &body.refresh_token)
        .await
        .map_err(token_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in user.
#[utoipa::path(operation_id = "get_me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, description = "Who the token belongs to", body = Profile),
    (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
))]
#[get("/api/v1/me")]
async fn me(state: web::Data<AppState>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    let user = accounts::profile(&state.pool, who.user_id)
        .await
        .map_err(account_error)?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "this account no longer exists"))?;
    Ok(HttpResponse::Ok().json(user))
}

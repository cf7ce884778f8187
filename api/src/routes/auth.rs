//! Accounts over HTTP: register (business owners), log in, refresh, log out, and who am I.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use infrastructure::accounts::{self, AccountError, NewUser, Role};
use infrastructure::tokens::{TokenError, Tokens};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api_error::ApiError;
use crate::startup::AppState;

pub(super) fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/api/v1/auth/register", web::post().to(register))
        .route("/api/v1/auth/login", web::post().to(login))
        .route("/api/v1/auth/refresh", web::post().to(refresh))
        .route("/api/v1/auth/logout", web::post().to(logout))
        .route("/api/v1/me", web::get().to(me));
}

/// The user behind a valid `Authorization: Bearer <access token>`.
pub struct Authenticated {
    /// The user.
    pub user_id: Uuid,
    /// Their role.
    pub role: Role,
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let token = request
            .headers()
            .get("Authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let tokens = request.app_data::<web::Data<Tokens>>();
        std::future::ready(match (token, tokens) {
            (Some(token), Some(tokens)) => tokens
                .verify_access(token.trim())
                .map(|claims| Self {
                    user_id: claims.sub,
                    role: claims.role,
                })
                .map_err(|_| {
                    ApiError::unauthorized(
                        "invalid_token",
                        "the access token is invalid or expired",
                    )
                }),
            (None, _) => Err(ApiError::unauthorized(
                "missing_token",
                "sign in: send Authorization: Bearer <access token>",
            )),
            (Some(_), None) => Err(ApiError::Unexpected(anyhow::anyhow!(
                "no token issuer configured"
            ))),
        })
    }
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    email: String,
    password: String,
    first_name: String,
    last_name: String,
}

#[derive(Serialize)]
struct Registered {
    user_id: Uuid,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: String,
    password: String,
}

async fn login(
    state: web::Data<AppState>,
    tokens: web::Data<Tokens>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let verified = accounts::verify_password(&state.pool, &body.email, &body.password)
        .await
        .map_err(account_error)?;
    let Some(user) = verified else {
        return Err(ApiError::unauthorized(
            "invalid_credentials",
            "wrong email or password",
        ));
    };
    let role = accounts::role_of(&state.pool, user)
        .await
        .map_err(account_error)?;
    let pair = tokens
        .start_session(&state.pool, user, role)
        .await
        .map_err(token_error)?;
    Ok(HttpResponse::Ok().json(pair))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

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

async fn me(state: web::Data<AppState>, who: Authenticated) -> Result<HttpResponse, ApiError> {
    let user = accounts::profile(&state.pool, who.user_id)
        .await
        .map_err(account_error)?
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "this account no longer exists"))?;
    Ok(HttpResponse::Ok().json(user))
}

//! Signing in with an email and a password, shared by `POST /api/v1/auth/login` and the
//! dashboard's login form, so both count failed attempts against the same limits and start the
//! same kind of session.

use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use infrastructure::accounts::{self, AccountError};
use infrastructure::tokens::{TokenError, TokenPair, Tokens};
use sqlx::PgPool;

use crate::login_limit::LoginLimiter;

/// Why signing in did not work.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Too many failed attempts for the account or the client address; try again after this.
    #[error("too many failed attempts")]
    TooManyAttempts(Duration),
    /// Unknown email or wrong password (never told apart).
    #[error("wrong email or password")]
    WrongCredentials,
    /// Looking the account up failed.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// Starting the session failed.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Checks `email` and `password` under the login limits and starts a session (a token pair).
///
/// # Errors
/// See [`SignInError`]; a locked account or address is refused before bcrypt runs, so it costs
/// nothing.
pub async fn sign_in(
    request: &HttpRequest,
    pool: &PgPool,
    bcrypt_cost: u32,
    tokens: &Tokens,
    limiter: &LoginLimiter,
    email: &str,
    password: &str,
) -> Result<TokenPair, SignInError> {
    let address = limiter.client_address(request);
    let attempt = limiter
        .attempt(address, email, Instant::now())
        .await
        .map_err(|retry_after| {
            tracing::warn!(%address, "login refused: too many failed attempts");
            SignInError::TooManyAttempts(retry_after)
        })?;
    let verified = match accounts::verify_login(pool, email, password, bcrypt_cost).await {
        Ok(verified) => verified,
        Err(err) => {
            limiter.inconclusive(attempt).await;
            return Err(err.into());
        }
    };
    let Some(user) = verified else {
        limiter.failed(attempt);
        return Err(SignInError::WrongCredentials);
    };
    limiter.succeeded(attempt).await;
    let role = accounts::role_of(pool, user).await?;
    Ok(tokens.start_session(pool, user, role).await?)
}

//! The account pages: log in, register (business owners), log out. Signing in here starts the
//! same session as `POST /api/v1/auth/login` (same limits, same tokens), kept in cookies.

use actix_web::cookie::Cookie;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use infrastructure::accounts::{self, AccountError, NewUser, Role};
use infrastructure::tokens::Tokens;
use serde::Deserialize;

use super::csrf::CsrfToken;
use super::page::{html, local_path, see_other, sentence, Layout, PageError};
use super::session::{cleared_cookies, session_cookies, CookiePolicy, REFRESH_COOKIE};
use crate::login_limit::LoginLimiter;
use crate::sign_in::{sign_in, SignInError};
use crate::startup::AppState;

/// Where a signed-in user lands.
const HOME: &str = "/dashboard";

pub(super) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(login_page)
        .service(log_in)
        .service(register_page)
        .service(register)
        .service(log_out);
}

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    registered: bool,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    registered: Option<String>,
}

/// `GET /account/login`: the login form.
#[get("/login")]
async fn login_page(
    request: HttpRequest,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    html(&LoginPage {
        layout: Layout::anonymous("Log in", CsrfToken::of(&request).0),
        email: String::new(),
        next: local_path(query.next.as_deref(), HOME).to_owned(),
        error: None,
        registered: query.registered.is_some(),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// `POST /account/login`: signs in, then goes on to `next` (or back to the form, 401).
#[post("/login")]
async fn log_in(
    request: HttpRequest,
    state: web::Data<AppState>,
    tokens: web::Data<Tokens>,
    limiter: web::Data<LoginLimiter>,
    policy: web::Data<CookiePolicy>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let next = local_path(form.next.as_deref(), HOME).to_owned();
    let signed_in = sign_in(
        &request,
        &state.pool,
        state.bcrypt_cost,
        &tokens,
        &limiter,
        &form.email,
        &form.password,
    )
    .await;
    let error = match signed_in {
        Ok(pair) => return redirect_with(&next, &session_cookies(&pair, *policy.get_ref())),
        Err(SignInError::WrongCredentials) => "Wrong email or password.".to_owned(),
        Err(SignInError::TooManyAttempts(retry_after)) => format!(
            "Too many failed attempts. Try again in {} minutes.",
            retry_after.as_secs().div_ceil(60).max(1)
        ),
        Err(SignInError::Account(AccountError::Database(_)) | SignInError::Token(_)) => {
            return Err(PageError::Unavailable)
        }
        Err(SignInError::Account(err)) => return Err(PageError::Unexpected(err.into())),
    };
    let page = LoginPage {
        layout: Layout::anonymous("Log in", CsrfToken::of(&request).0),
        email: form.email,
        next,
        error: Some(error),
        registered: false,
    };
    let mut response = html(&page)?;
    *response.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
    Ok(response)
}

#[derive(Template)]
#[template(path = "account/register.html")]
struct RegisterPage {
    layout: Layout,
    email: String,
    first_name: String,
    last_name: String,
    error: Option<String>,
}

/// `GET /account/register`: the registration form.
#[get("/register")]
async fn register_page(request: HttpRequest) -> Result<HttpResponse, PageError> {
    html(&RegisterPage {
        layout: Layout::anonymous("Create an account", CsrfToken::of(&request).0),
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct RegisterForm {
    email: String,
    password: String,
    first_name: String,
    last_name: String,
}

/// Creates a business owner's account, then signs them in.
#[post("/register")]
async fn register(
    request: HttpRequest,
    state: web::Data<AppState>,
    tokens: web::Data<Tokens>,
    limiter: web::Data<LoginLimiter>,
    policy: web::Data<CookiePolicy>,
    form: web::Form<RegisterForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let new = NewUser {
        email: form.email.clone(),
        password: form.password.clone(),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        role: Role::BusinessOwner,
    };
    let created =
        accounts::create_user(&state.pool, new, "self-registration", state.bcrypt_cost).await;
    let error = match created {
        Ok(_) => {
            let signed_in = sign_in(
                &request,
                &state.pool,
                state.bcrypt_cost,
                &tokens,
                &limiter,
                &form.email,
                &form.password,
            )
            .await;
            return Ok(match signed_in {
                Ok(pair) => redirect_with(HOME, &session_cookies(&pair, *policy.get_ref()))?,
                Err(err) => {
                    // The account exists; only the automatic sign-in failed.
                    tracing::warn!(error = %err, "signing in a new account failed; sending it to the login page");
                    see_other("/account/login?registered=1")
                }
            });
        }
        Err(
            err @ (AccountError::BadEmail(_)
            | AccountError::WeakPassword(_)
            | AccountError::BadName(_)
            | AccountError::EmailTaken),
        ) => sentence(&err.to_string()),
        Err(AccountError::Database(_)) => return Err(PageError::Unavailable),
        Err(err @ AccountError::Hashing(_)) => return Err(PageError::Unexpected(err.into())),
    };
    let page = RegisterPage {
        layout: Layout::anonymous("Create an account", CsrfToken::of(&request).0),
        email: form.email,
        first_name: form.first_name,
        last_name: form.last_name,
        error: Some(error),
    };
    let mut response = html(&page)?;
    *response.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// Ends the session (its refresh token stops working) and clears the cookies.
#[post("/logout")]
async fn log_out(
    request: HttpRequest,
    state: web::Data<AppState>,
    tokens: web::Data<Tokens>,
) -> Result<HttpResponse, PageError> {
    if let Some(refresh) = request.cookie(REFRESH_COOKIE) {
        if let Err(err) = tokens.end_session(&state.pool, refresh.value()).await {
            tracing::info!(error = %err, "logging out a session that had already ended");
        }
    }
    redirect_with("/account/login", &cleared_cookies())
}

/// A redirect to `location` that sets `cookies` (a session started or ended).
fn redirect_with(location: &str, cookies: &[Cookie<'static>]) -> Result<HttpResponse, PageError> {
    let mut response = see_other(location);
    for cookie in cookies {
        response
            .add_cookie(cookie)
            .map_err(|err| PageError::Unexpected(err.into()))?;
    }
    Ok(response)
}

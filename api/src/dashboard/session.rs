//! Who is looking at a page: the same JWT the API takes as a Bearer token, kept in an
//! `HttpOnly`, `SameSite=Lax` cookie (`Secure` when the service is public over https), next to
//! the refresh token in a cookie of its own.
//!
//! Access tokens live 15 minutes; [`renew`] trades the refresh cookie for a new pair when the
//! access cookie is missing or expired, so a dashboard left open stays signed in for as long as
//! the refresh token lives. Refresh tokens rotate and a reused one revokes its whole family, yet
//! a page and its live-update stream often renew at the same moment with the same cookie: a
//! renewal is therefore remembered for [`RENEWAL_REUSE`], and a second request with the same
//! refresh token in that window gets the same new pair instead of tripping reuse detection.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, FromRequest, HttpMessage, HttpRequest};
use infrastructure::tokens::{TokenError, TokenPair, Tokens, REFRESH_TTL};
use sha2::{Digest, Sha256};

use super::csrf::CsrfToken;
use super::page::PageError;
use crate::access::Authenticated;
use crate::startup::AppState;

/// The cookie holding the access token (a JWT).
pub const ACCESS_COOKIE: &str = "ca_access";
/// The cookie holding the refresh token.
pub const REFRESH_COOKIE: &str = "ca_refresh";
/// How long a renewal is handed to concurrent requests with the same refresh token.
pub const RENEWAL_REUSE: Duration = Duration::from_secs(30);

/// How session cookies are set: `Secure` when `PUBLIC_BASE_URL` is https.
#[derive(Debug, Clone, Copy, Default)]
pub struct CookiePolicy {
    /// Send the cookies over https only.
    pub secure: bool,
}

/// The signed-in user of a page, and the CSRF token its forms carry.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Who, and their role.
    pub who: Authenticated,
    /// The token to render into forms.
    pub csrf: String,
}

impl Viewer {
    /// Whether the viewer is an admin.
    pub fn is_admin(&self) -> bool {
        self.who.is_admin()
    }
}

/// The access token's claims, put into the request by [`renew`] after a renewal (the request's
/// own cookie is the expired one).
#[derive(Debug, Clone, Copy)]
struct Renewed(Authenticated);

impl FromRequest for Viewer {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, PageError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(viewer(request).ok_or_else(|| PageError::SignIn {
            next: next_path(request),
            htmx: request.headers().contains_key("HX-Request"),
        }))
    }
}

fn viewer(request: &HttpRequest) -> Option<Viewer> {
    let csrf = CsrfToken::of(request).0;
    if let Some(Renewed(who)) = request.extensions().get::<Renewed>().copied() {
        return Some(Viewer { who, csrf });
    }
    let tokens = request.app_data::<web::Data<Tokens>>()?;
    let cookie = request.cookie(ACCESS_COOKIE)?;
    let claims = tokens.verify_access(cookie.value()).ok()?;
    Some(Viewer {
        who: Authenticated {
            user_id: claims.sub,
            role: claims.role,
        },
        csrf,
    })
}

/// Where to come back to after signing in: this page, if it was a page one can open — for an
/// htmx request, the page it came from (`HX-Current-URL`), not the fragment it asked for.
fn next_path(request: &HttpRequest) -> Option<String> {
    if let Some(current) = request
        .headers()
        .get("HX-Current-URL")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| url::Url::parse(value).ok())
    {
        let mut path = current.path().to_owned();
        if let Some(query) = current.query() {
            path = format!("{path}?{query}");
        }
        return Some(path);
    }
    (request.method() == actix_web::http::Method::GET).then(|| {
        let uri = request.uri();
        uri.path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
    })
}

/// The cookies of a new session (or a renewed one).
pub fn session_cookies(pair: &TokenPair, policy: CookiePolicy) -> [Cookie<'static>; 2] {
    let access = Cookie::build(ACCESS_COOKIE, pair.access_token.clone())
        .path("/")
        .http_only(true)
        .secure(policy.secure)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            i64::try_from(pair.expires_in).unwrap_or(i64::MAX),
        ))
        .finish();
    let refresh = Cookie::build(REFRESH_COOKIE, pair.refresh_token.clone())
        .path("/")
        .http_only(true)
        .secure(policy.secure)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            i64::try_from(REFRESH_TTL.as_secs()).unwrap_or(i64::MAX),
        ))
        .finish();
    [access, refresh]
}

/// Cookies that remove the session from the browser.
pub fn cleared_cookies() -> [Cookie<'static>; 2] {
    [ACCESS_COOKIE, REFRESH_COOKIE].map(|name| {
        let mut cookie = Cookie::build(name, "").path("/").finish();
        cookie.make_removal();
        cookie
    })
}

/// Renewals handed out recently, by the SHA-256 of the refresh token they used; renewals run
/// one at a time on a node (they are rare: one per user per 15 minutes), so two requests with
/// the same cookie cannot both trade it in.
#[derive(Debug, Default)]
pub struct Renewals {
    recent: Mutex<HashMap<Vec<u8>, (Instant, TokenPair)>>,
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl Renewals {
    fn recent(&self, token: &str, now: Instant) -> Option<TokenPair> {
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        recent.retain(|_, (at, _)| now.duration_since(*at) < RENEWAL_REUSE);
        recent
            .get(&Sha256::digest(token).to_vec())
            .map(|(_, pair)| pair.clone())
    }

    fn remember(&self, token: &str, pair: &TokenPair, now: Instant) {
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        recent.insert(Sha256::digest(token).to_vec(), (now, pair.clone()));
    }
}

/// The middleware: renews the session from the refresh cookie when the access cookie is
/// missing or expired (new cookies on the response); clears both when the refresh token is no
/// longer valid. Requests without a refresh cookie pass untouched.
pub async fn renew(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let (Some(tokens), Some(state), Some(renewals)) = (
        request.app_data::<web::Data<Tokens>>().cloned(),
        request.app_data::<web::Data<AppState>>().cloned(),
        request.app_data::<web::Data<Renewals>>().cloned(),
    ) else {
        return next.call(request).await;
    };
    let access_valid = request
        .cookie(ACCESS_COOKIE)
        .is_some_and(|cookie| tokens.verify_access(cookie.value()).is_ok());
    let refresh = request.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned());
    let Some(refresh) = refresh.filter(|token| !access_valid && !token.is_empty()) else {
        return next.call(request).await;
    };
    let policy = request
        .app_data::<web::Data<CookiePolicy>>()
        .map(|policy| *policy.get_ref())
        .unwrap_or_default();
    let renewing = renewals.one_at_a_time.lock().await;
    let now = Instant::now();
    let renewed = match renewals.recent(&refresh, now) {
        Some(pair) => Ok(pair),
        None => tokens.refresh(&state.pool, &refresh).await.inspect(|pair| {
            renewals.remember(&refresh, pair, now);
        }),
    };
    drop(renewing);
    let cookies = match renewed {
        Ok(pair) => {
            if let Ok(claims) = tokens.verify_access(&pair.access_token) {
                request.extensions_mut().insert(Renewed(Authenticated {
                    user_id: claims.sub,
                    role: claims.role,
                }));
            }
            session_cookies(&pair, policy)
        }
        Err(TokenError::Database(err)) => {
            // Not the session's fault: keep the cookies for the next try.
            tracing::error!(error = %err, "cannot renew a dashboard session: database error");
            return next.call(request).await;
        }
        Err(err) => {
            tracing::info!(error = %err, "the dashboard session could not be renewed; signing out");
            cleared_cookies()
        }
    };
    let mut response = next.call(request).await?;
    for cookie in &cookies {
        response.response_mut().add_cookie(cookie)?;
    }
    Ok(response)
}

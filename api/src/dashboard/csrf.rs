//! Cross-site request forgery: a page may only be changed by a request that carries the token
//! the server gave this browser.
//!
//! The token is random, lives in an `HttpOnly` cookie (double submit), and every page renders it
//! into its forms (field `csrf`) and into `hx-headers` (header `X-CSRF-Token`) for htmx. Another
//! site can make the browser send the cookie but can neither read it nor the page, so it cannot
//! send the matching field. The check runs here, before any handler, for every unsafe method
//! under the pages' scopes, so no form can forget it. `SameSite=Lax` cookies are the second line.

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpRequest};
use base64::Engine;
use futures::StreamExt;
use rand::RngCore;

use super::page::PageError;
use super::session::CookiePolicy;

/// The cookie holding the token.
pub const COOKIE: &str = "ca_csrf";
/// The form field carrying the token.
pub const FIELD: &str = "csrf";
/// The header carrying the token (htmx requests).
pub const HEADER: &str = "X-CSRF-Token";
/// Largest form body read to find the token.
const MAX_FORM_BYTES: usize = 256 * 1024;

/// This browser's token (in the request's extensions for the pages to render).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfToken(pub String);

impl CsrfToken {
    /// The token of `request`, set by [`protect`] (empty outside the pages' scopes).
    pub fn of(request: &HttpRequest) -> Self {
        request
            .extensions()
            .get::<Self>()
            .cloned()
            .unwrap_or_else(|| Self(String::new()))
    }
}

fn new_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Equal without an early exit, so timing does not tell how much of a guess was right.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

/// The middleware: gives the browser a token if it has none, and refuses an unsafe request
/// whose header or form field does not match the cookie (403 page, nothing done).
pub async fn protect(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let cookie = request
        .cookie(COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty());
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if unsafe_method {
        let sent = match request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
            Some(header) => Some(header.to_owned()),
            None => form_token(&mut request).await?,
        };
        let matches = matches!((&cookie, &sent), (Some(cookie), Some(sent)) if same(cookie, sent));
        if !matches {
            tracing::warn!(path = %request.path(), "refused a page request without a valid CSRF token");
            return Err(PageError::Forbidden(
                "This form has expired or did not come from this site. Reload the page and try again.",
            )
            .into());
        }
    }
    let issued = cookie.is_none().then(new_token);
    let token = cookie
        .clone()
        .or_else(|| issued.clone())
        .unwrap_or_default();
    request.extensions_mut().insert(CsrfToken(token));
    let policy = request
        .app_data::<web::Data<CookiePolicy>>()
        .map(|policy| *policy.get_ref())
        .unwrap_or_default();
    let mut response = next.call(request).await?;
    if let Some(token) = issued {
        let cookie = Cookie::build(COOKIE, token)
            .path("/")
            .http_only(true)
            .secure(policy.secure)
            .same_site(SameSite::Lax)
            .finish();
        response.response_mut().add_cookie(&cookie)?;
    }
    Ok(response)
}

/// The `csrf` field of an urlencoded form body, which is put back for the handler to read.
async fn form_token(request: &mut ServiceRequest) -> Result<Option<String>, Error> {
    let is_form = request
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok(None);
    }
    let mut payload = request.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(PageError::BadRequest("The form is too large.".to_owned()).into());
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let token = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == FIELD)
        .map(|(_, value)| value.into_owned());
    request.set_payload(Payload::from(body));
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_compare_tokens_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }

    #[test]
    fn it_should_issue_long_random_tokens() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }
}

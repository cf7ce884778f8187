//! Rendering pages, and what a page answers when something goes wrong: a page of its own with
//! a plain explanation (never a stack of JSON), or — when nobody is signed in — a redirect to the
//! login page that comes back afterwards.

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::session::Viewer;

/// What every page's layout needs: the CSRF token for forms and htmx, and who is signed in.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The page's title (before " · Call Assistant").
    pub title: String,
    /// The CSRF token (see `csrf`).
    pub csrf: String,
    /// Someone is signed in: show the navigation and the logout button.
    pub signed_in: bool,
    /// The viewer is an admin: show the admin navigation.
    pub admin: bool,
    /// Which navigation entry is the current page.
    pub section: &'static str,
}

impl Layout {
    /// The layout of a page `viewer` sees.
    pub fn for_viewer(viewer: &Viewer, title: impl Into<String>, section: &'static str) -> Self {
        Self {
            title: title.into(),
            csrf: viewer.csrf.clone(),
            signed_in: true,
            admin: viewer.is_admin(),
            section,
        }
    }

    /// The layout of a page seen before signing in.
    pub fn anonymous(title: impl Into<String>, csrf: String) -> Self {
        Self {
            title: title.into(),
            csrf,
            ..Self::default()
        }
    }
}

/// A page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Nobody is signed in (or the session ended): go to the login page, then to `next`.
    #[error("sign in first")]
    SignIn {
        /// The page to come back to.
        next: Option<String>,
        /// The request came from htmx: a redirect would swap the login page into a fragment,
        /// so the browser is told to go there itself (`HX-Redirect`).
        htmx: bool,
    },
    /// Missing, or another tenant's (never told apart).
    #[error("not found")]
    NotFound,
    /// The viewer may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The request itself is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// The database is unavailable.
    #[error("the database is unavailable")]
    Unavailable,
    /// Anything else (logged, not shown).
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<askama::Error> for PageError {
    fn from(err: askama::Error) -> Self {
        Self::Unexpected(anyhow::Error::new(err).context("rendering a page"))
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn { .. } => StatusCode::SEE_OTHER,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::SignIn { next, htmx } = self {
            let location = match next {
                Some(next) => format!(
                    "/account/login?next={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                ),
                None => "/account/login".to_owned(),
            };
            if *htmx {
                return HttpResponse::Ok()
                    .insert_header(("HX-Redirect", location))
                    .finish();
            }
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        let (heading, message) = match self {
            Self::NotFound => (
                "Not found",
                "There is nothing here, or it is not yours to see.",
            ),
            Self::Forbidden(why) => ("Not allowed", *why),
            Self::BadRequest(why) => ("That did not work", why.as_str()),
            Self::Unavailable => (
                "Temporarily unavailable",
                "The service cannot reach its database right now. Try again in a minute.",
            ),
            Self::Unexpected(err) => {
                tracing::error!(error = ?err, "a page failed");
                (
                    "Something went wrong",
                    "The error was logged. Try again in a minute.",
                )
            }
            Self::SignIn { .. } => unreachable_sign_in(),
        };
        let page = ErrorPage {
            layout: Layout::anonymous(heading, String::new()),
            heading,
            message,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("<!doctype html><title>{heading}</title><p>{message}"));
        HttpResponse::build(self.status_code())
            .content_type(ContentType::html())
            .body(body)
    }
}

/// Handled before the match; kept apart so the match stays exhaustive without a panic.
fn unreachable_sign_in() -> (&'static str, &'static str) {
    ("Sign in", "Sign in to see this page.")
}

/// A rendered page, 200.
///
/// # Errors
/// [`PageError::Unexpected`] when the template fails to render.
pub fn html(page: &impl Template) -> Result<HttpResponse, PageError> {
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page.render()?))
}

/// A redirect after a form was handled (303: the browser then GETs `location`).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `next` if it is a path on this site (never another origin: an open redirect), else
/// `fallback`.
pub fn local_path<'a>(next: Option<&'a str>, fallback: &'a str) -> &'a str {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => {
            next
        }
        _ => fallback,
    }
}

/// `message` (an error's lower-case text) as a sentence for a page: capitalised, with a full
/// stop.
pub fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut text: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_turn_an_error_message_into_a_sentence() {
        assert_eq!(sentence(" the email is taken "), "The email is taken.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn it_should_only_come_back_to_paths_of_this_site() {
        assert_eq!(
            local_path(Some("/dashboard/calls?page=2"), "/d"),
            "/dashboard/calls?page=2"
        );
        assert_eq!(local_path(Some("//evil.example"), "/d"), "/d");
        assert_eq!(local_path(Some("https://evil.example"), "/d"), "/d");
        assert_eq!(local_path(Some("/\\evil.example"), "/d"), "/d");
        assert_eq!(local_path(None, "/d"), "/d");
    }
}

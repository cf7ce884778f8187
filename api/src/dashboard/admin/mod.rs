//! The admin's pages: the system at a glance (totals, call volume and the human/AI share as
//! charts, projector and relay health), users, businesses, and phone numbers with the controls
//! to buy, register, assign, suspend, reactivate and release them.
//!
//! Every page and form takes an [`Admin`], so none can forget the check: a business owner gets
//! the 403 page and nothing is done; a visitor who is not signed in goes to the login page.
//! Pages read the same query layer as `/api/v1/admin/overview` and `/api/v1/phone-numbers`, and
//! the numbers' forms run the very functions the REST endpoints run (`routes::numbers`).
//!
//! - [`overview`]: `GET /admin`, drawn with [`charts`], health from [`health`].
//! - [`users`]: `GET /admin/users`. [`businesses`]: `GET /admin/businesses`.
//! - [`numbers`]: `GET /admin/numbers` and the forms that change numbers.

mod businesses;
mod charts;
mod health;
mod numbers;
mod overview;
mod users;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, ResponseError};
use infrastructure::accounts::AccountError;

use super::page::{sentence, PageError};
use super::session::Viewer;
use crate::api_error::ApiError;

pub(super) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(overview::page)
        .service(users::page)
        .service(businesses::page)
        .configure(numbers::configure);
}

/// The signed-in admin looking at an admin page or sending one of its forms.
pub(super) struct Admin(pub(super) Viewer);

impl FromRequest for Admin {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, PageError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let viewer = Viewer::from_request(request, payload).into_inner();
        std::future::ready(viewer.and_then(|viewer| {
            if viewer.is_admin() {
                Ok(Self(viewer))
            } else {
                Err(PageError::Forbidden(
                    "Only an admin may see these pages or use their forms.",
                ))
            }
        }))
    }
}

/// What a refused or failed command says on its page: the status to answer with and a
/// sentence. The database being down and unexpected failures become error pages instead.
fn on_page(err: ApiError) -> Result<(StatusCode, String), PageError> {
    let status = err.status_code();
    let message = match err {
        ApiError::Unavailable(cause) => {
            tracing::warn!(
                error = format!("{cause:#}"),
                "an admin form found the database down"
            );
            return Err(PageError::Unavailable);
        }
        ApiError::Unexpected(cause) => return Err(PageError::Unexpected(cause)),
        ApiError::BadRequest {
            code: "invalid_phone_number",
            ..
        } => "That is not a phone number in international format: + and 2 to 15 digits, e.g. \
              +14155550100."
            .to_owned(),
        ApiError::NotFound {
            code: "number_not_in_twilio_account",
            ..
        } => "The Twilio account does not hold this number: search for it and buy it instead."
            .to_owned(),
        other => sentence(&other.to_string()),
    };
    Ok((status, message))
}

/// A failed read, judged as the REST API judges it: the database out of reach is the 503
/// page, anything else a 500.
fn database(err: sqlx::Error) -> PageError {
    match ApiError::database(err) {
        ApiError::Unavailable(cause) => {
            tracing::warn!(
                error = format!("{cause:#}"),
                "an admin page found the database down"
            );
            PageError::Unavailable
        }
        ApiError::Unexpected(cause) => PageError::Unexpected(cause),
        other => PageError::Unexpected(anyhow::Error::new(other)),
    }
}

/// A failed read of the accounts table.
fn accounts_failed(err: AccountError) -> PageError {
    match err {
        AccountError::Database(err) => database(err),
        other => PageError::Unexpected(anyhow::Error::new(other).context("listing the users")),
    }
}

/// Which admin page is shown, for the admin navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AdminPage {
    Overview,
    Users,
    Businesses,
    Numbers,
}

impl AdminPage {
    /// The name the template compares (`admin/nav.html`).
    fn name(self) -> &'static str {
        match self {
            Self::Overview => "overview",
            Self::Users => "users",
            Self::Businesses => "businesses",
            Self::Numbers => "numbers",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_show_refusals_as_sentences_and_keep_failures_off_the_page() {
        let (status, message) = on_page(ApiError::conflict(
            "number_released",
            "this number has been released; buy or register it again first",
        ))
        .unwrap();
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            message,
            "This number has been released; buy or register it again first."
        );
        let (_, message) = on_page(ApiError::bad_request("invalid_phone_number", "%2B")).unwrap();
        assert!(!message.contains("%2B"), "{message}");
        assert!(matches!(
            on_page(ApiError::Unexpected(anyhow::anyhow!("secret cause"))),
            Err(PageError::Unexpected(_))
        ));
        assert!(matches!(
            on_page(ApiError::Unavailable(anyhow::anyhow!("down"))),
            Err(PageError::Unavailable)
        ));
    }
}

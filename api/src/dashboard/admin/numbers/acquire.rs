//! The buy and register forms: the functions `POST /api/v1/phone-numbers/purchase` and
//! `…/register` run, with Twilio's refusals and half-done acquisitions told in words.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse, ResponseError};
use infrastructure::twilio::rest::TwilioClient;
use serde::Deserialize;
use uuid::Uuid;

use super::forms::{done, metadata, refused};
use super::view::{RegisterFields, Shown};
use crate::api_error::ApiError;
use crate::dashboard::admin::{on_page, Admin};
use crate::dashboard::page::PageError;
use crate::routes::numbers::{purchase_number, register_number, AcquireFailure, AcquireNumber};
use crate::startup::AppState;
use crate::twilio::PublicUrls;

/// The buy and register forms.
#[derive(Deserialize)]
struct AcquireForm {
    phone_number: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    business_id: String,
}

impl AcquireForm {
    /// The request the REST endpoints take; a message when the business is not one listed.
    fn wanted(&self) -> Result<AcquireNumber, String> {
        let business_id = match self.business_id.trim() {
            "" => None,
            id => Some(
                Uuid::parse_str(id).map_err(|_| "Choose the business from the list.".to_owned())?,
            ),
        };
        Ok(AcquireNumber {
            phone_number: self.phone_number.trim().to_owned(),
            business_id,
            country: Some(self.country.trim().to_owned()).filter(|c| !c.is_empty()),
        })
    }

    /// What the register form shows again after a refusal: what was typed into it (a refused
    /// purchase leaves it empty).
    fn fields(&self, how: Acquisition) -> RegisterFields {
        match how {
            Acquisition::Register => RegisterFields {
                phone_number: self.phone_number.clone(),
                country: self.country.clone(),
            },
            Acquisition::Purchase => RegisterFields::default(),
        }
    }
}

/// The status and sentence of a refusal that came after part of the work was done.
fn part_done(err: ApiError) -> (StatusCode, String) {
    let status = err.status_code();
    match on_page(err) {
        Ok(told) => told,
        Err(page) => {
            tracing::error!(error = ?page, "a number was acquired only in part");
            (status, "The database could not record it.".to_owned())
        }
    }
}

/// What a failed purchase or registration says, and the register form's values.
fn acquisition_failed(
    failure: AcquireFailure,
    form: &AcquireForm,
    how: Acquisition,
) -> Result<((StatusCode, String), RegisterFields), PageError> {
    Ok(match failure {
        AcquireFailure::Refused(err) => (on_page(err)?, form.fields(how)),
        AcquireFailure::Unrecorded {
            number,
            twilio_sid,
            error,
        } => {
            let (status, why) = part_done(error);
            let message = format!(
                "Twilio sold us {number} ({twilio_sid}), but recording it failed: {why} Register \
                 {number} below to finish, without buying it again."
            );
            let fields = RegisterFields {
                phone_number: number.to_string(),
                country: form.country.clone(),
            };
            ((status, message), fields)
        }
        AcquireFailure::Unassigned { number, error, .. } => {
            let (status, why) = part_done(error);
            let message = format!(
                "{number} is ours now, but assigning it failed: {why} Assign it in the list below."
            );
            ((status, message), RegisterFields::default())
        }
    })
}

/// Buying from Twilio's stock, or registering a number the Twilio account holds.
#[derive(Debug, Clone, Copy)]
enum Acquisition {
    Purchase,
    Register,
}

/// What the buy and register forms share: run the acquisition, then back to the numbers page.
async fn acquire(
    how: Acquisition,
    admin: Admin,
    request: HttpRequest,
    state: &AppState,
    twilio: &TwilioClient,
    urls: &PublicUrls,
    form: AcquireForm,
) -> Result<HttpResponse, PageError> {
    let wanted = match form.wanted() {
        Ok(wanted) => wanted,
        Err(message) => {
            let shown = Shown {
                register: form.fields(how),
                ..Shown::default()
            };
            return refused(&admin, state, shown, (StatusCode::BAD_REQUEST, message)).await;
        }
    };
    let metadata = metadata(&request, &admin);
    let (outcome, action) = match how {
        Acquisition::Purchase => (
            purchase_number(state, twilio, urls, wanted, &metadata).await,
            "bought",
        ),
        Acquisition::Register => (
            register_number(state, twilio, urls, wanted, &metadata).await,
            "registered",
        ),
    };
    match outcome {
        Ok((number, _)) => Ok(done(action, &number)),
        Err(failure) => {
            let (told, fields) = acquisition_failed(failure, &form, how)?;
            let shown = Shown {
                register: fields,
                ..Shown::default()
            };
            refused(&admin, state, shown, told).await
        }
    }
}

/// `POST /admin/numbers/purchase`: buys a number from Twilio's stock.
#[post("/numbers/purchase")]
pub(super) async fn purchase(
    admin: Admin,
    request: HttpRequest,
    state: web::Data<AppState>,
    twilio: web::Data<TwilioClient>,
    urls: web::Data<PublicUrls>,
    form: web::Form<AcquireForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    acquire(
        Acquisition::Purchase,
        admin,
        request,
        &state,
        &twilio,
        &urls,
        form,
    )
    .await
}

/// `POST /admin/numbers/register`: registers a number the Twilio account holds.
#[post("/numbers/register")]
pub(super) async fn register(
    admin: Admin,
    request: HttpRequest,
    state: web::Data<AppState>,
    twilio: web::Data<TwilioClient>,
    urls: web::Data<PublicUrls>,
    form: web::Form<AcquireForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    acquire(
        Acquisition::Register,
        admin,
        request,
        &state,
        &twilio,
        &urls,
        form,
    )
    .await
}

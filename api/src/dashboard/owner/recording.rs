//! The sources of the call page's audio players: `GET /dashboard/calls/{sid}/recording` and
//! `…/voicemail`, signed in by the session cookie. They stream the audio exactly as
//! `GET /api/v1/calls/{sid}/recording` does (the same function: fetched from Twilio by SID with
//! the account's credentials, `Cache-Control: private, no-store`); another owner's call, or one
//! without that audio, is the same 404 page as a missing one.

use actix_web::http::header::ContentType;
use actix_web::{get, web, HttpResponse};
use infrastructure::twilio::rest::TwilioClient;

use super::from_api;
use crate::api_error::ApiError;
use crate::dashboard::page::PageError;
use crate::dashboard::session::Viewer;
use crate::routes::recordings::{stream_audio, Audio};
use crate::startup::AppState;

async fn stream(
    state: &AppState,
    twilio: &TwilioClient,
    viewer: &Viewer,
    sid: &str,
    audio: Audio,
) -> Result<HttpResponse, PageError> {
    match stream_audio(state, twilio, &viewer.who, sid, audio).await {
        Ok(response) => Ok(response),
        // The player shows its own error; the words are for someone who opened the link.
        Err(ApiError::Upstream { message, .. }) => Ok(HttpResponse::BadGateway()
            .content_type(ContentType::plaintext())
            .body(message)),
        Err(err) => Err(from_api(err)),
    }
}

/// `GET /dashboard/calls/{sid}/recording`: the call's recording.
#[get("/calls/{sid}/recording")]
async fn recording(
    state: web::Data<AppState>,
    twilio: web::Data<TwilioClient>,
    viewer: Viewer,
    sid: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    stream(&state, &twilio, &viewer, &sid, Audio::Recording).await
}

/// `GET /dashboard/calls/{sid}/voicemail`: the voicemail the caller left.
#[get("/calls/{sid}/voicemail")]
async fn voicemail(
    state: web::Data<AppState>,
    twilio: web::Data<TwilioClient>,
    viewer: Viewer,
    sid: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    stream(&state, &twilio, &viewer, &sid, Audio::Voicemail).await
}

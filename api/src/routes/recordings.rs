//! A call's recording and voicemail, streamed through us: the owner of the call's business (or
//! an admin) gets the audio without ever seeing a Twilio URL or needing Twilio's credentials.
//!
//! The audio is fetched with the account's credentials from a URL built from the recording's
//! SID alone; a stored recording URL is never followed (it could point anywhere). The answer is
//! `Cache-Control: private, no-store`: a recording is personal data, not for shared caches.
//!
//! [`stream_audio`] is shared with the dashboard's audio player (`/dashboard/calls/{sid}/…`),
//! which signs in with a cookie instead of a Bearer token.

use actix_web::http::header::{
    CacheControl, CacheDirective, ContentDisposition, DispositionParam, DispositionType,
};
use actix_web::web::Bytes;
use actix_web::{get, web, HttpResponse};
use domain::values::CallSid;
use futures::TryStreamExt;
use infrastructure::twilio::rest::{RecordingSid, TwilioClient};
use projections::calls::{call_detail, CallRow};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::numbers::twilio_failed;
use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

pub(super) fn configure(config: &mut ServiceConfig) {
    config.service(recording).service(voicemail);
}

/// MP3 audio.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[expect(dead_code, reason = "only describes the audio in the OpenAPI document")]
struct Mp3(Vec<u8>);

/// Which audio of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audio {
    /// The latest recording of the call (`RecordingAvailable`).
    Recording,
    /// The voicemail the caller left (`VoicemailRecorded`).
    Voicemail,
}

impl Audio {
    fn name(self) -> &'static str {
        match self {
            Self::Recording => "recording",
            Self::Voicemail => "voicemail",
        }
    }

    /// The SID of this audio of `call`, when it has one.
    fn sid(self, call: &CallRow) -> Option<RecordingSid> {
        // The caller's data was erased (docs/privacy.md): their audio is not served either.
        if call.recording_url.as_deref() == Some(infrastructure::privacy::ERASED) {
            return None;
        }
        let sid = match self {
            Self::Recording => call.recording_sid.as_deref().and_then(RecordingSid::parse),
            Self::Voicemail => call
                .voicemail_url
                .as_deref()
                .and_then(RecordingSid::from_recording_url),
        };
        if sid.is_none() && self.stored(call) {
            let call_sid = &call.call_sid;
            let audio = self.name();
            tracing::warn!(%call_sid, audio, "the stored recording names no recording SID");
        }
        sid
    }

    fn stored(self, call: &CallRow) -> bool {
        match self {
            Self::Recording => call.recording_sid.is_some(),
            Self::Voicemail => call.voicemail_url.is_some(),
        }
    }
}

/// Finds the call (visible to `who`), fetches the audio from Twilio and streams it on.
///
/// # Errors
/// 404 `call_not_found` (unknown, malformed or another tenant's call), 404
/// `recording_not_found` (no such audio, or Twilio no longer has it), 502 when Twilio fails,
/// 503 when the database is unavailable.
pub(crate) async fn stream_audio(
    state: &AppState,
    twilio: &TwilioClient,
    who: &Authenticated,
    call_sid: &str,
    audio: Audio,
) -> Result<HttpResponse, ApiError> {
    let call_not_found = || ApiError::not_found("call_not_found", "no such call");
    let call_sid = CallSid::parse(call_sid).map_err(|_| call_not_found())?;
    let scope = who.business_scope(&state.pool).await?;
    let call = call_detail(&state.pool, call_sid.as_ref(), scope.as_deref())
        .await
        .map_err(ApiError::database)?
        .ok_or_else(call_not_found)?
        .call;
    let recording_not_found = || {
        ApiError::not_found(
            "recording_not_found",
            format!("this call has no {}", audio.name()),
        )
    };
    let sid = audio.sid(&call).ok_or_else(recording_not_found)?;
    let media = twilio.fetch_recording(&sid).await.map_err(|err| {
        if err.is_not_found() {
            tracing::warn!(%call_sid, recording_sid = %sid, "Twilio no longer has the recording");
            recording_not_found()
        } else {
            twilio_failed(&format!("send the {}", audio.name()), err)
        }
    })?;
    let mut response = HttpResponse::Ok();
    response
        .content_type(media.content_type())
        .insert_header(CacheControl(vec![
            CacheDirective::Private,
            CacheDirective::NoStore,
        ]))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Inline,
            parameters: vec![DispositionParam::Filename(format!(
                "{call_sid}-{}.mp3",
                audio.name()
            ))],
        });
    if let Some(length) = media.content_length() {
        response.no_chunking(length);
    }
    Ok(response.streaming(media.into_stream().map_ok(Bytes::from)))
}

/// The call's recording as MP3, for the owner of its business or an admin.
#[utoipa::path(tag = "calls", security(("bearer" = [])),
    params(("sid" = String, Path, description = "The CallSid", example = "CA0123456789abcdef0123456789abcdef")),
    responses(
        (status = 200, description = "The audio (`Cache-Control: private, no-store`)", content_type = "audio/mpeg", body = Mp3),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call (or not the caller's), or it has no recording", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Twilio failed to send it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/calls/{sid}/recording")]
async fn recording(
    state: web::Data<AppState>,
    twilio: web::Data<TwilioClient>,
    who: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    stream_audio(&state, &twilio, &who, &path, Audio::Recording).await
}

/// The voicemail the caller left, as MP3, for the owner of its business or an admin.
#[utoipa::path(tag = "calls", security(("bearer" = [])),
    params(("sid" = String, Path, description = "The CallSid", example = "CA0123456789abcdef0123456789abcdef")),
    responses(
        (status = 200, description = "The audio (`Cache-Control: private, no-store`)", content_type = "audio/mpeg", body = Mp3),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call (or not the caller's), or no voicemail was left", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Twilio failed to send it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/calls/{sid}/voicemail")]
async fn voicemail(
    state: web::Data<AppState>,
    twilio: web::Data<TwilioClient>,
    who: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    stream_audio(&state, &twilio, &who, &path, Audio::Voicemail).await
}

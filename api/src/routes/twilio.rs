//! Twilio's voice webhooks. Each is signed (checked by [`SignedWebhook`] before the handler
//! runs), form-encoded, and answered with TwiML — or, for the callbacks that need no TwiML,
//! with 204.

use actix_web::{web, HttpResponse};
use infrastructure::twilio::twiml::CONTENT_TYPE;

use crate::call_flow::{Answer, CallFlow, Webhook};
use crate::twilio::{PublicUrls, SignedWebhook, WebhookError};

pub(super) fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/twilio/voice")
            .route("/incoming", web::post().to(incoming))
            .route("/screen", web::post().to(screen))
            .route("/screen-result", web::post().to(screen_result))
            .route("/dial-result", web::post().to(dial_result))
            .route("/voicemail", web::post().to(voicemail))
            .route("/status", web::post().to(status))
            .route("/recording", web::post().to(recording))
            .route("/transcription", web::post().to(transcription)),
    );
    // The voice bridge's WebSocket; it checks Twilio's signature itself, before the upgrade.
    config.route(
        crate::voice::MEDIA_STREAM_PATH,
        web::get().to(crate::voice::media_stream),
    );
}

fn twiml(answer: &Answer, urls: &PublicUrls) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(answer.to_twiml(urls))
}

#[tracing::instrument(skip_all, fields(call_sid = signed.params.get("CallSid")))]
async fn incoming(
    flow: web::Data<CallFlow>,
    urls: web::Data<PublicUrls>,
    signed: SignedWebhook,
) -> Result<HttpResponse, WebhookError> {
    let answer = flow
        .incoming(&Webhook::arrived("/twilio/voice/incoming", &signed))
        .await?;
    Ok(twiml(&answer, &urls))
}

#[tracing::instrument(skip_all, fields(call_sid = signed.params.get("ParentCallSid")))]
async fn screen(
    flow: web::Data<CallFlow>,
    urls: web::Data<PublicUrls>,
    signed: SignedWebhook,
) -> HttpResponse {
    let answer = flow
        .screen(&Webhook::arrived("/twilio/voice/screen", &signed))
        .await;
    twiml(&answer, &urls)
}

#[tracing::instrument(skip_all, fields(call_sid = signed.params.get("ParentCallSid")))]
async fn screen_result(
    flow: web::Data<CallFlow>,
    urls: web::Data<PublicUrls>,
    signed: SignedWebhook,
) -> HttpResponse {
    let answer = flow.screen_result(&Webhook::arrived("/twilio/voice/screen-result", &signed));
    twiml(&answer, &urls)
}

#[tracing::instrument(skip_all, fields(call_sid = signed.params.get("CallSid")))]
async fn dial_result(
    flow: web::Data<CallFlow>,
    urls: web::Data<PublicUrls>,
    signed: SignedWebhook,
) -> Result<HttpResponse, WebhookError> {
    let answer = flow
        .dial_result(&Webhook::arrived("/twilio/voice/dial-result", &signed))
        .await?;
    Ok(twiml(&answer, &urls))
}

#[tracing::instrument(skip_all, fields(call_sid = signed.params.get("CallSid")))]
async fn voicemail(
    flow: web::Data<CallFlow>,
    urls: web::Data<PublicUrls>,
    signed: SignedWebhook,
) -> Result<HttpResponse, WebhookError> {
    let answer = flow
        .voicemail(&Webhook::arrived("/twilio/voice/voicemail", &signed))
        .await?;
    Ok(twiml(&answer, &urls))
}

#[tracing::instrument(skip_all, fields(call_sid = signed.params.get("CallSid")))]
async fn status(
    flow: web::Data<CallFlow>,
    signed: SignedWebhook,
) -> Result<HttpResponse, WebhookError> {
    flow.status(&Webhook::arrived("/twilio/voice/status", &signed))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[tracing::instrument(skip_all, fields(call_sid = signed.params.get("CallSid")))]
async fn recording(
    flow: web::Data<CallFlow>,
    signed: SignedWebhook,
) -> Result<HttpResponse, WebhookError> {
    flow.recording(&Webhook::arrived("/twilio/voice/recording", &signed))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[tracing::instrument(skip_all, fields(call_sid = signed.params.get("CallSid")))]
async fn transcription(
    flow: web::Data<CallFlow>,
    signed: SignedWebhook,
) -> Result<HttpResponse, WebhookError> {
    flow.transcription(&Webhook::arrived("/twilio/voice/transcription", &signed))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

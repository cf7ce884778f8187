//! The span each HTTP request is logged in (tracing-actix-web's `TracingLogger`), except for
//! Twilio's media stream.
//!
//! `TracingLogger` enters the request's span on every poll of the response body. For a media
//! stream the body is the WebSocket's outgoing side, polled for every frame sent to Twilio for
//! the whole call: entering and leaving the span there was about 3% of the voice bridge's CPU
//! (docs/benchmarks.md, "Voice bridge"). Its request gets no span (`Span::none()`, which costs
//! nothing to enter); the bridge logs the handshake and the call in its own `voice_call` span.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::Error;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

/// The path whose requests get no span.
pub const UNLOGGED_PATH: &str = "/twilio/media-stream";

/// `TracingLogger`'s spans, none for the media stream.
pub struct RequestSpans;

impl RootSpanBuilder for RequestSpans {
    fn on_request_start(request: &ServiceRequest) -> Span {
        if request.path() == UNLOGGED_PATH {
            return Span::none();
        }
        DefaultRootSpanBuilder::on_request_start(request)
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

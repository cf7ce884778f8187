//! `GET /twilio/media-stream`: Twilio's Media Streams WebSocket, admitted only with a valid
//! `X-Twilio-Signature` over our public `wss://…/twilio/media-stream` URL (a 403 before the
//! upgrade otherwise), and the adapters that present both WebSockets — Twilio's (actix-ws) and
//! OpenAI's (tokio-tungstenite) — to the bridge as text-frame streams and sinks.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{
    AggregatedMessage, CloseCode, Closed, Message, MessageStream, ProtocolError, Session,
};
use futures::{future, Sink, SinkExt, Stream, StreamExt};
use infrastructure::openai::realtime::RealtimeSocket;
use infrastructure::twilio::signature::{
    Body, SignatureError, SignedRequest, SETTINGS_HEADER, SIGNATURE_HEADER,
};
use tokio_tungstenite::tungstenite;

use super::{session, VoiceBridge};
use crate::twilio::{WebhookError, WebhookSigners};

/// The handler of `GET /twilio/media-stream`.
///
/// # Errors
/// 403 (`invalid_twilio_signature`) when the handshake is not signed by Twilio for our URL;
/// 400 when the request is not a WebSocket upgrade.
pub async fn media_stream(
    request: HttpRequest,
    body: web::Payload,
    bridge: web::Data<VoiceBridge>,
    signers: web::Data<WebhookSigners>,
) -> Result<HttpResponse, actix_web::Error> {
    check_signature(&request, &bridge, &signers)?;
    let (response, session, messages) = actix_ws::handle(&request, body)?;
    let bridge: Arc<VoiceBridge> = bridge.into_inner();
    let twilio_in = twilio_frames(messages, session.clone());
    actix_web::rt::spawn(session::serve(bridge, twilio_in, TwilioSink::new(session)));
    Ok(response)
}

/// Twilio signs the handshake over the `<Stream>` URL alone: no parameters, no body.
fn check_signature(
    request: &HttpRequest,
    bridge: &VoiceBridge,
    signers: &WebhookSigners,
) -> Result<(), WebhookError> {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let settings_header = header(SETTINGS_HEADER);
    let signer = match (settings_header, &signers.shared_key) {
        (None, _) => &signers.auth_token,
        (Some(_), Some(shared_key)) => shared_key,
        (Some(_), None) => {
            tracing::error!("the media stream is signed with a Webhooks SharedKey, but TWILIO_WEBHOOKS_SHARED_KEY is not set");
            return Err(WebhookError::Forbidden(SignatureError::Missing));
        }
    };
    let url = bridge.urls.media_stream();
    signer
        .validate(&SignedRequest {
            url: &url,
            body: Body::None,
            signature: header(SIGNATURE_HEADER),
            settings_header,
        })
        .map_err(|err| {
            tracing::warn!(%url, error = %err, "refused a media stream: bad or missing Twilio signature");
            WebhookError::Forbidden(err)
        })
}

/// Twilio's text frames; pings are answered here, the stream ends at a close frame.
fn twilio_frames(
    messages: MessageStream,
    session: Session,
) -> Pin<Box<dyn Stream<Item = Result<String, ProtocolError>>>> {
    let messages = messages.aggregate_continuations();
    Box::pin(futures::stream::unfold(
        (messages, session),
        |(mut messages, mut session)| async move {
            loop {
                match messages.recv().await? {
                    Ok(AggregatedMessage::Text(text)) => {
                        return Some((Ok(text.to_string()), (messages, session)))
                    }
                    Ok(AggregatedMessage::Ping(bytes)) => {
                        // A failed pong shows up as the next read failing.
                        let _ = session.pong(&bytes).await;
                    }
                    Ok(AggregatedMessage::Close(_)) => return None,
                    Ok(AggregatedMessage::Binary(_) | AggregatedMessage::Pong(_)) => {}
                    Err(err) => return Some((Err(err), (messages, session))),
                }
            }
        },
    ))
}

/// Text frames to Twilio; closing it sends a close frame first.
pub struct TwilioSink {
    session: Session,
    close_sent: bool,
}

impl TwilioSink {
    /// Sends into `session`.
    pub fn new(session: Session) -> Self {
        Self {
            session,
            close_sent: false,
        }
    }
}

impl Sink<String> for TwilioSink {
    type Error = Closed;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        Pin::new(&mut self.session).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, text: String) -> Result<(), Closed> {
        Pin::new(&mut self.session).start_send(Message::Text(text.into()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        Pin::new(&mut self.session).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        if !self.close_sent {
            ready!(Pin::new(&mut self.session).poll_ready(cx))?;
            let close = Message::Close(Some(CloseCode::Normal.into()));
            Pin::new(&mut self.session).start_send(close)?;
            self.close_sent = true;
        }
        ready!(Pin::new(&mut self.session).poll_flush(cx))?;
        Pin::new(&mut self.session).poll_close(cx)
    }
}

/// The OpenAI socket's halves as text frames; the stream ends at a close frame.
pub(super) fn openai_socket(
    socket: RealtimeSocket,
) -> (
    impl Sink<String, Error = tungstenite::Error> + Unpin,
    impl Stream<Item = Result<String, tungstenite::Error>> + Unpin,
) {
    let (sink, stream) = socket.split();
    let sink = sink.with(|text: String| {
        future::ready(Ok::<_, tungstenite::Error>(tungstenite::Message::text(
            text,
        )))
    });
    let stream = stream
        .take_while(|message| future::ready(!matches!(message, Ok(tungstenite::Message::Close(_)))))
        .filter_map(|message| {
            future::ready(match message {
                Ok(tungstenite::Message::Text(text)) => Some(Ok(text.as_str().to_owned())),
                Ok(_) => None,
                Err(err) => Some(Err(err)),
            })
        });
    (sink, stream)
}

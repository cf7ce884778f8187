//! `GET /twilio/media-stream`: Twilio's Media Streams WebSocket, admitted only with a valid
//! `X-Twilio-Signature` over our public `wss://…/twilio/media-stream` URL (a 403 before the
//! upgrade otherwise), and the adapter that presents both WebSockets to the bridge as text-frame
//! streams and sinks.
//!
//! The upgrade is served beneath actix-web, by actix-http's upgrade service ([`upgrades`]): the
//! HTTP/1 connection hands over its socket, and the call's bridge runs on it with
//! tokio-tungstenite, as the OpenAI side does, in a task of its own on the connection's worker
//! thread, which the connection awaits. Served through
//! actix-web (with actix-ws), every frame crossed a channel between the connection's task and
//! the bridge's, both ways, and was framed twice: without that hop the tail latency at 500 calls
//! fell by three quarters (docs/benchmarks.md, "Voice bridge").
//!
//! Every WebSocket upgrade reaches [`upgrades`], whatever its path; the media stream is the only
//! WebSocket we serve, so any other path gets the 404 the application gives. A request to the
//! media stream that is not an upgrade still goes to actix-web ([`media_stream`]) and is refused
//! there.

use std::sync::Arc;

use actix_codec::Framed;
use actix_http::body::BodySize;
use actix_http::{h1, ws, ConnectionType, Request};
use actix_service::{fn_service, ServiceFactory};
use actix_web::http::header::HeaderMap;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use futures::SinkExt;
use infrastructure::twilio::signature::{
    Body, SignatureError, SignedRequest, SETTINGS_HEADER, SIGNATURE_HEADER,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use super::{session, VoiceBridge};

mod text_frames;

use crate::twilio::{WebhookError, WebhookSigners};
pub(super) use text_frames::text_frames;

/// The path Twilio's `<Stream>` connects to.
pub const MEDIA_STREAM_PATH: &str = "/twilio/media-stream";

/// Read buffer of Twilio's socket: tungstenite zeroes the free part of it before every read, so
/// its default of 128 KiB would cost more than the frames (see `openai::realtime::connect`).
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// An upgraded HTTP/1 connection, as actix-http hands it over.
pub type Upgrade = (Request, Framed<TcpStream, h1::Codec>);

/// The upgrade service of the HTTP server (one per worker): the media stream's handshake and
/// bridge; any other WebSocket path is answered 404.
pub fn upgrades(
    bridge: Arc<VoiceBridge>,
    signers: Arc<WebhookSigners>,
) -> impl ServiceFactory<Upgrade, Config = (), Response = (), Error = actix_http::Error, InitError = ()>
{
    fn_service(move |(request, framed): Upgrade| {
        let bridge = bridge.clone();
        let signers = signers.clone();
        async move {
            upgrade(&bridge, &signers, request, framed).await;
            Ok(())
        }
    })
}

/// Answers one upgrade request: refuses it with an HTTP response, or switches protocols and
/// serves the media stream until its call's session is over.
async fn upgrade(
    bridge: &Arc<VoiceBridge>,
    signers: &WebhookSigners,
    request: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
) {
    let head = request.head();
    let refusal = if head.uri.path() != MEDIA_STREAM_PATH {
        crate::api_error::no_route().await
    } else if let Err(err) = check_signature(&head.headers, bridge, signers) {
        err.error_response()
    } else {
        match ws::handshake(head) {
            Err(err) => err.error_response(),
            Ok(mut switching) => {
                let switching = switching.finish().drop_body();
                if let Err(err) = framed.send((switching, BodySize::None).into()).await {
                    tracing::info!(error = %err, "the media stream closed during its handshake");
                    return;
                }
                let twilio = twilio_socket(framed).await;
                // The call is a task of its own, which its sockets wake directly: polled from
                // here, each of its 150 wake-ups a second would pass through the connection's
                // dispatcher and the upgrade service's futures first.
                let bridge = bridge.clone();
                let call = actix_web::rt::spawn(async move {
                    let (twilio_out, twilio_in) = text_frames(twilio);
                    session::serve(bridge, twilio_in, twilio_out).await;
                });
                if let Err(err) = call.await {
                    tracing::error!(error = %err, "a media stream's session failed");
                }
                return;
            }
        }
    };
    refuse(framed, refusal).await;
}

/// Writes `response` on the connection, which then closes.
async fn refuse(mut framed: Framed<TcpStream, h1::Codec>, response: HttpResponse) {
    let (head, body) = response.into_parts();
    let mut head: actix_http::Response<()> = head.into();
    head.head_mut().set_connection_type(ConnectionType::Close);
    // Our own error bodies are bytes in memory: reading them cannot fail.
    let body = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let length = u64::try_from(body.len()).unwrap_or(u64::MAX);
    let written = async {
        framed
            .feed(h1::Message::Item((head, BodySize::Sized(length))))
            .await?;
        if !body.is_empty() {
            framed.feed(h1::Message::Chunk(Some(body))).await?;
        }
        framed.send(h1::Message::Chunk(None)).await?;
        framed.close().await
    };
    if let Err(err) = written.await {
        tracing::debug!(error = %err, "could not answer a refused upgrade");
    }
}

/// Twilio's socket after `101 Switching Protocols`, keeping whatever Twilio sent early.
async fn twilio_socket(framed: Framed<TcpStream, h1::Codec>) -> WebSocketStream<TcpStream> {
    let parts = framed.into_parts();
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    WebSocketStream::from_partially_read(
        parts.io,
        parts.read_buf.to_vec(),
        Role::Server,
        Some(config),
    )
    .await
}

/// The handler of `GET /twilio/media-stream` requests that are not WebSocket upgrades (those
/// are served by [`upgrades`]).
///
/// # Errors
/// 403 (`invalid_twilio_signature`) when the request is not signed by Twilio for our URL;
/// otherwise the 400 (or 405) that says why it is not a WebSocket handshake.
pub async fn media_stream(
    request: HttpRequest,
    bridge: web::Data<VoiceBridge>,
    signers: web::Data<WebhookSigners>,
) -> Result<HttpResponse, actix_web::Error> {
    check_signature(request.headers(), &bridge, &signers)?;
    ws::verify_handshake(request.head())?;
    // Not reached: a WebSocket handshake is an upgrade, which actix-web never sees.
    Err(ws::HandshakeError::NoConnectionUpgrade.into())
}

/// Twilio signs the handshake over the `<Stream>` URL alone: no parameters, no body.
fn check_signature(
    headers: &HeaderMap,
    bridge: &VoiceBridge,
    signers: &WebhookSigners,
) -> Result<(), WebhookError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
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

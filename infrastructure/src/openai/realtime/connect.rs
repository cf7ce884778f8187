//! Opening the Realtime WebSocket: the URL, the headers, TLS, and one deadline for it all.
//!
//! TLS is rustls with the ring provider and the webpki roots, chosen here explicitly: rustls
//! 0.23 panics when asked for "the" provider while several are compiled in and none is
//! installed for the process, and which ones are compiled in depends on the other crates of the
//! build. The client configuration is built once and shared by every call.
//!
//! The socket reads into a 4 KiB buffer, not tungstenite's default 128 KiB: tungstenite zeroes
//! the free part of its read buffer before every read, which with the default was a sixth of the
//! bridge's CPU (docs/benchmarks.md, "Voice bridge"). A larger frame still gets the room it needs
//! once its header is read; it takes a few more reads.
//!
//! WebSocket compression is never offered (tungstenite has no permessage-deflate), as
//! `docs/PROTOCOLS.md` §6 asks: μ-law audio does not compress and deflate costs CPU per frame.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::ClientConfig;
use secrecy::{ExposeSecret, SecretString};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::{HeaderValue, AUTHORIZATION};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::{connect_async_tls_with_config, Connector};
use url::Url;

use super::{Interface, RealtimeError, RealtimeSocket};

/// The socket's read buffer (see the module documentation).
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The header the beta interface requires, and its value.
const BETA_HEADER: (&str, &str) = ("OpenAI-Beta", "realtime=v1");

/// `OPENAI_REALTIME_URL` with its `model` query parameter set to `model` (replacing one already
/// there, keeping the other parameters): the model of a session is chosen by its URL.
pub fn realtime_url(base: &Url, model: &str) -> Url {
    let mut url = base.clone();
    let kept: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(name, _)| name != "model")
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("model", model);
    url
}

/// Opens the Realtime WebSocket at `url` (see [`realtime_url`]) with `Authorization: Bearer
/// <api_key>` (and `OpenAI-Beta: realtime=v1` for [`Interface::Beta`]). DNS, TCP, TLS and the
/// HTTP upgrade all run under `timeout`.
///
/// # Errors
/// [`RealtimeError::Timeout`] when the handshake takes longer than `timeout`;
/// [`RealtimeError::Refused`] when OpenAI answers the upgrade with an HTTP status (401 bad key,
/// 403, 429 rate or quota, 5xx); [`RealtimeError::Invalid`] for a URL that is not `ws(s)://` or
/// a key that cannot be a header; [`RealtimeError::Tls`] when TLS cannot be set up;
/// [`RealtimeError::Connect`] for any other failure (DNS, connection refused, TLS handshake).
pub async fn connect(
    url: &Url,
    api_key: &SecretString,
    interface: Interface,
    timeout: Duration,
) -> Result<RealtimeSocket, RealtimeError> {
    if !matches!(url.scheme(), "ws" | "wss") {
        return Err(RealtimeError::Invalid("the URL must be ws:// or wss://"));
    }
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|_| RealtimeError::Invalid("the URL is not a WebSocket URL"))?;
    let mut bearer = HeaderValue::from_str(&format!("Bearer {}", api_key.expose_secret()))
        .map_err(|_| RealtimeError::Invalid("the API key is not a valid header value"))?;
    bearer.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, bearer);
    if interface == Interface::Beta {
        request
            .headers_mut()
            .insert(BETA_HEADER.0, HeaderValue::from_static(BETA_HEADER.1));
    }
    let connector = Connector::Rustls(tls_config()?);
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let handshake = connect_async_tls_with_config(request, Some(config), true, Some(connector));
    match tokio::time::timeout(timeout, handshake).await {
        Err(_) => Err(RealtimeError::Timeout),
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(WsError::Http(response))) => Err(RealtimeError::Refused {
            status: response.status().as_u16(),
        }),
        Ok(Err(err)) => Err(RealtimeError::Connect(Box::new(err))),
    }
}

/// The TLS client configuration, built on first use: ring, webpki roots, safe default versions.
///
/// # Errors
/// [`RealtimeError::Tls`] when rustls refuses the configuration (not expected with ring).
pub(super) fn tls_config() -> Result<Arc<ClientConfig>, RealtimeError> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map(|builder| {
                    Arc::new(builder.with_root_certificates(roots).with_no_client_auth())
                })
                .map_err(|err| err.to_string())
        })
        .clone()
        .map_err(RealtimeError::Tls)
}

//! The extractor that admits a Twilio webhook only with a valid `X-Twilio-Signature`, computed
//! over our public URL (never the address we are bound to) and the form parameters.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use infrastructure::twilio::signature::{Body, SignatureError, SignedRequest, Signer};
use serde_json::json;
use url::Url;

use super::WebhookParams;

/// Largest webhook body we read; Twilio's are a few kilobytes.
const MAX_BODY: usize = 64 * 1024;

/// Our public base URL, and the URLs built on it that we hand to Twilio.
#[derive(Debug, Clone)]
pub struct PublicUrls {
    base: Url,
}

impl PublicUrls {
    /// URLs under `base` (e.g. `https://calls.example.com`).
    pub fn new(base: Url) -> Self {
        Self { base }
    }

    /// The public URL of `path_and_query` (which starts with `/`), as Twilio requested it.
    pub fn public(&self, path_and_query: &str) -> String {
        let base = self.base.as_str().trim_end_matches('/');
        format!("{base}{path_and_query}")
    }

    /// The Media Streams WebSocket URL (`wss://` for an https base).
    pub fn media_stream(&self) -> String {
        let url = self.public(crate::voice::MEDIA_STREAM_PATH);
        match url.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}"),
            Some((_, rest)) => format!("ws://{rest}"),
            None => url,
        }
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }
}

/// Why a webhook was refused before it was read.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No or wrong signature: not from Twilio, or not for this URL.
    #[error("the request is not signed by Twilio for this URL")]
    Forbidden(#[source] SignatureError),
    /// The body is not a form.
    #[error("the request body is not a valid form: {0}")]
    BadForm(String),
    /// A parameter every request of this kind has is missing or malformed.
    #[error("{0}")]
    MissingParameter(&'static str),
}

impl ResponseError for WebhookError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadForm(_) | Self::MissingParameter(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            Self::Forbidden(_) => "invalid_twilio_signature",
            Self::BadForm(_) => "malformed_form",
            Self::MissingParameter(_) => "missing_parameter",
        };
        HttpResponse::build(self.status_code())
            .content_type("application/problem+json")
            .json(json!({
                "type": "about:blank",
                "title": self.status_code().canonical_reason().unwrap_or("error"),
                "status": self.status_code().as_u16(),
                "code": code,
                "detail": self.to_string(),
            }))
    }
}

/// The secrets Twilio signs webhooks with: the auth token by default, a Webhooks SharedKey when
/// a Webhook Rule applies (the request then says so in `X-Twilio-Webhooks-Signature-Settings`).
pub struct WebhookSigners {
    /// Signs with the account's auth token.
    pub auth_token: Signer,
    /// Signs with the SharedKey secret, when one is configured.
    pub shared_key: Option<Signer>,
}

/// A webhook from Twilio whose signature checked out.
pub struct SignedWebhook {
    /// Its form parameters.
    pub params: WebhookParams,
    /// `I-Twilio-Idempotency-Token`, when Twilio sent one.
    pub idempotency_token: Option<String>,
}

impl FromRequest for SignedWebhook {
    type Error = WebhookError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let body = web::Bytes::from_request(&request, payload);
        Box::pin(async move {
            let urls = request.app_data::<web::Data<PublicUrls>>().cloned();
            let signers = request.app_data::<web::Data<WebhookSigners>>().cloned();
            let (Some(urls), Some(signers)) = (urls, signers) else {
                tracing::error!("webhook extractor used without PublicUrls and Signer");
                return Err(WebhookError::Forbidden(SignatureError::Missing));
            };
            let body = body
                .await
                .map_err(|err| WebhookError::BadForm(err.to_string()))?;
            if body.len() > MAX_BODY {
                return Err(WebhookError::BadForm("body too large".into()));
            }
            let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
            let path_and_query = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
            let url = urls.public(path_and_query);
            let params: Vec<(String, String)> = if body.is_empty() {
                Vec::new()
            } else {
                serde_urlencoded::from_bytes(&body)
                    .map_err(|err| WebhookError::BadForm(err.to_string()))?
            };
            let settings_header = header("X-Twilio-Webhooks-Signature-Settings");
            // Header absent: the auth token (and HMAC-SHA1). Present: the SharedKey.
            let signer = match (settings_header, &signers.shared_key) {
                (None, _) => &signers.auth_token,
                (Some(_), Some(shared_key)) => shared_key,
                (Some(_), None) => {
                    tracing::error!(
                        "Twilio signed a webhook with a Webhooks SharedKey, but \
                         TWILIO_WEBHOOKS_SHARED_KEY is not set: the request cannot be checked"
                    );
                    return Err(WebhookError::Forbidden(SignatureError::Missing));
                }
            };
            let checked = signer.validate(&SignedRequest {
                url: &url,
                body: Body::Form(&params),
                signature: header("X-Twilio-Signature"),
                settings_header,
            });
            if let Err(err) = checked {
                tracing::warn!(%url, error = %err, "refused a webhook: bad or missing Twilio signature");
                return Err(WebhookError::Forbidden(err));
            }
            Ok(Self {
                params: WebhookParams(params),
                idempotency_token: header("I-Twilio-Idempotency-Token").map(str::to_owned),
            })
        })
    }
}

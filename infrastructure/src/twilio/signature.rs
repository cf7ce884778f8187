//! Twilio request signatures (`X-Twilio-Signature`).
//!
//! Our webhooks and the Media Streams WebSocket are public URLs: anyone can call them, and a
//! forged "call answered" or "recording ready" would corrupt a call's history. Twilio proves it
//! sent a request by signing it with an HMAC keyed by the account's auth token, so every webhook
//! (form POST), JSON body (`bodySHA256`) and WebSocket handshake (URL only) is checked here before
//! it is believed. The same code produces signatures for the call simulator and the tests, which
//! play Twilio. The algorithm is described in `docs/PROTOCOLS.md` §2.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use url::Url;

/// The header that carries Twilio's signature.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// The header that names the signing algorithm when a Webhooks Setting applies.
pub const SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";

/// The query parameter that carries the hex SHA-256 of a JSON body.
const BODY_HASH_PARAM: &str = "bodySHA256";

/// The HMAC Twilio signed a request with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1, the default (no settings header).
    HmacSha1,
    /// HMAC-SHA256, named by `algorithm=HMAC_SHA256` in the settings header.
    HmacSha256,
}

impl Algorithm {
    /// Reads the algorithm from the `X-Twilio-Webhooks-Signature-Settings` header
    /// (`key=webhooks_sharedkey_…,algorithm=HMAC_SHA256`).
    ///
    /// # Errors
    /// [`SignatureError::UnknownAlgorithm`] when the header names an algorithm we do not know:
    /// we never fall back to another one. A missing header, or one without `algorithm=`, means
    /// HMAC-SHA1.
    pub fn from_settings_header(header: Option<&str>) -> Result<Self, SignatureError> {
        let named = header
            .into_iter()
            .flat_map(|h| h.split(','))
            .find_map(|part| {
                let (name, value) = part.split_once('=')?;
                let value = value.trim();
                (name.trim() == "algorithm" && !value.is_empty()).then_some(value)
            });
        match named {
            None => Ok(Self::HmacSha1),
            Some(name) if name.eq_ignore_ascii_case("HMAC_SHA1") => Ok(Self::HmacSha1),
            Some(name) if name.eq_ignore_ascii_case("HMAC_SHA256") => Ok(Self::HmacSha256),
            Some(other) => Err(SignatureError::UnknownAlgorithm(other.to_owned())),
        }
    }

    /// The raw HMAC of `parts` (concatenated) under `key`.
    fn tag(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Self::HmacSha1 => keyed::<Hmac<Sha1>>(key, parts)
                .finalize()
                .into_bytes()
                .to_vec(),
            Self::HmacSha256 => keyed::<Hmac<Sha256>>(key, parts)
                .finalize()
                .into_bytes()
                .to_vec(),
        }
    }

    /// Whether `tag` is the HMAC of `parts` under `key`, compared in constant time.
    fn verifies(self, key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
        match self {
            Self::HmacSha1 => keyed::<Hmac<Sha1>>(key, parts).verify_slice(tag).is_ok(),
            Self::HmacSha256 => keyed::<Hmac<Sha256>>(key, parts).verify_slice(tag).is_ok(),
        }
    }
}

/// An HMAC keyed with `key` that has absorbed `parts`, in order.
fn keyed<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> M {
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// The body of a signed request, as far as the signature is concerned.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// `application/x-www-form-urlencoded` parameters, in any order, names possibly repeated.
    Form(&'a [(String, String)]),
    /// A raw JSON body: the URL carries its hash in `bodySHA256` and is signed alone.
    Json(&'a [u8]),
    /// No body (the Media Streams WebSocket handshake): the URL is signed alone.
    None,
}

/// A request that claims to come from Twilio.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The full public URL Twilio requested (`PUBLIC_BASE_URL` + path + query), as requested.
    pub url: &'a str,
    /// The body of the request.
    pub body: Body<'a>,
    /// The `X-Twilio-Signature` header, if any.
    pub signature: Option<&'a str>,
    /// The `X-Twilio-Webhooks-Signature-Settings` header, if any.
    pub settings_header: Option<&'a str>,
}

/// Why a request's signature was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// The request carries no `X-Twilio-Signature` header.
    #[error("missing signature")]
    Missing,
    /// The signature is not the one the auth token gives for this request.
    #[error("signature mismatch")]
    Mismatch,
    /// The settings header names an algorithm we do not support.
    #[error("unknown signature algorithm: {0}")]
    UnknownAlgorithm(String),
    /// The JSON body does not hash to the URL's `bodySHA256`.
    #[error("body hash mismatch")]
    BodyHashMismatch,
    /// A JSON body arrived on a URL without `bodySHA256`.
    #[error("missing body hash")]
    BodyHashMissing,
    /// The URL cannot be parsed, or cannot take a body hash.
    #[error("bad url: {0}")]
    BadUrl(String),
}

/// Signs and validates Twilio requests with one secret.
///
/// The secret is the account's auth token; when a Webhooks Setting applies (the request carries
/// the settings header), Twilio signs with that Setting's shared key instead, so build the
/// `Signer` with that secret.
#[derive(Debug, Clone)]
pub struct Signer {
    auth_token: SecretString,
}

impl Signer {
    /// A signer keyed with `auth_token`.
    #[must_use]
    pub fn new(auth_token: SecretString) -> Self {
        Self { auth_token }
    }

    /// The signature Twilio would send for this request (for the simulator and tests).
    ///
    /// The URL is signed exactly as given. For [`Body::Json`] the URL is signed alone: it must
    /// already hold `bodySHA256` (see [`url_with_body_hash`]).
    #[must_use]
    pub fn sign(&self, algorithm: Algorithm, url: &str, body: &Body<'_>) -> String {
        let params = form_suffix(body);
        STANDARD.encode(algorithm.tag(self.key(), &[url.as_bytes(), params.as_bytes()]))
    }

    /// Checks a request Twilio sent us.
    ///
    /// The URL is tried as given, with the scheme's default port added, and with it removed,
    /// because Twilio is not consistent about it.
    ///
    /// # Errors
    /// [`SignatureError::UnknownAlgorithm`] for an algorithm we do not know,
    /// [`SignatureError::Missing`] without a signature, [`SignatureError::BadUrl`] for a URL
    /// that does not parse, [`SignatureError::Mismatch`] for a wrong (or malformed) signature,
    /// and, for a JSON body, [`SignatureError::BodyHashMissing`] or
    /// [`SignatureError::BodyHashMismatch`].
    pub fn validate(&self, request: &SignedRequest<'_>) -> Result<(), SignatureError> {
        let algorithm = Algorithm::from_settings_header(request.settings_header)?;
        let signature = request.signature.ok_or(SignatureError::Missing)?;
        let url = parse(request.url)?;
        let tag = STANDARD
            .decode(signature)
            .map_err(|_| SignatureError::Mismatch)?;
        let params = form_suffix(&request.body);
        let signed = port_variants(request.url).iter().any(|variant| {
            algorithm.verifies(self.key(), &[variant.as_bytes(), params.as_bytes()], &tag)
        });
        if !signed {
            return Err(SignatureError::Mismatch);
        }
        match request.body {
            Body::Json(body) => check_body_hash(&url, body),
            Body::Form(_) | Body::None => Ok(()),
        }
    }

    fn key(&self) -> &[u8] {
        self.auth_token.expose_secret().as_bytes()
    }
}

/// Appends `bodySHA256=<hex sha256>` to a URL's query, as Twilio does for JSON bodies.
///
/// # Errors
/// [`SignatureError::BadUrl`] when the URL does not parse or already carries `bodySHA256`.
pub fn url_with_body_hash(url: &str, body: &[u8]) -> Result<String, SignatureError> {
    if body_hash_param(&parse(url)?).is_some() {
        return Err(SignatureError::BadUrl(format!(
            "{url} already has {BODY_HASH_PARAM}"
        )));
    }
    let (before, fragment) = match url.find('#') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let separator = match before.find('?') {
        None => "?",
        Some(_) if before.ends_with(['?', '&']) => "",
        Some(_) => "&",
    };
    let hash = hex::encode(Sha256::digest(body));
    Ok(format!(
        "{before}{separator}{BODY_HASH_PARAM}={hash}{fragment}"
    ))
}

/// What form parameters add to the signed string: sorted names (byte order), each followed by
/// its distinct values, sorted. Other bodies add nothing.
fn form_suffix(body: &Body<'_>) -> String {
    let Body::Form(params) = body else {
        return String::new();
    };
    let mut sorted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, value) in *params {
        sorted.entry(name).or_default().insert(value);
    }
    sorted
        .iter()
        .flat_map(|(name, values)| values.iter().flat_map(move |value| [*name, *value]))
        .collect()
}

fn parse(url: &str) -> Result<Url, SignatureError> {
    Url::parse(url).map_err(|error| SignatureError::BadUrl(format!("{url}: {error}")))
}

fn body_hash_param(url: &Url) -> Option<Cow<'_, str>> {
    url.query_pairs()
        .find(|(name, _)| name == BODY_HASH_PARAM)
        .map(|(_, value)| value)
}

fn check_body_hash(url: &Url, body: &[u8]) -> Result<(), SignatureError> {
    let claimed = body_hash_param(url).ok_or(SignatureError::BodyHashMissing)?;
    let claimed = hex::decode(claimed.as_bytes()).map_err(|_| SignatureError::BodyHashMismatch)?;
    let actual = Sha256::digest(body);
    // Not secret, but compared without early exit all the same.
    let same = claimed.len() == actual.len()
        && claimed
            .iter()
            .zip(actual.iter())
            .fold(0, |diff, (a, b)| diff | (a ^ b))
            == 0;
    same.then_some(()).ok_or(SignatureError::BodyHashMismatch)
}

/// The URL as given, plus the other spelling of its port when that port is the scheme's default
/// (`:443` for https/wss, `:80` for http/ws): added when absent, removed when present. Every
/// other byte is kept as it is, since Twilio signs the URL exactly as it requested it.
fn port_variants(url: &str) -> Vec<Cow<'_, str>> {
    let mut variants = vec![Cow::Borrowed(url)];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => "443",
        "http" | "ws" => "80",
        _ => return variants,
    };
    let authority_start = scheme.len() + 3;
    let authority_end = authority_start + rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &url[authority_start..authority_end];
    // The host starts after any user info; an IPv6 host is bracketed and holds colons.
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let after_brackets = authority
        .rfind(']')
        .map_or(host_start, |at| (at + 1).max(host_start));
    let (head, tail) = url.split_at(authority_end);
    match authority[after_brackets..].rfind(':') {
        None => variants.push(Cow::Owned(format!("{head}:{default_port}{tail}"))),
        Some(colon) => {
            let colon = authority_start + after_brackets + colon;
            if &url[colon + 1..authority_end] == default_port {
                variants.push(Cow::Owned(format!("{}{tail}", &url[..colon])));
            }
        }
    }
    variants
}

#[cfg(test)]
mod tests;

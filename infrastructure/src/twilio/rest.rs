//! Our client of Twilio's REST API: buying and pointing phone numbers, steering live calls
//! (new TwiML, a redirect, a hang-up) — closing the media WebSocket is not a reliable hang-up —
//! and fetching recordings' audio ([`recording`]).
//!
//! Requests use HTTP Basic auth (`AccountSid:AuthToken`), form-encoded bodies and paths under
//! `/2010-04-01/Accounts/{AccountSid}/` of the base URL ([`crate::config::DEFAULT_TWILIO_API_BASE`]
//! unless `TWILIO_API_BASE` points elsewhere, e.g. at a fake in tests). Answers are JSON, of which
//! we read only the fields we need. A 429 is retried after `Retry-After` (or 250 ms, 500 ms, 1 s),
//! at most three times, for any method, since Twilio did nothing; a 5xx is retried only on GETs,
//! because a POST that failed that way may still have taken effect.

use std::time::Duration;

use domain::values::{CallSid, E164};
use reqwest::{header::RETRY_AFTER, Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{de::DeserializeOwned, Deserialize};

mod recording;

pub use recording::{RecordingMedia, RecordingSid};

/// How long one request may take unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a rate-limited (or, for GETs, a 5xx) request is tried again.
const MAX_RETRIES: u32 = 3;
/// The first pause between tries when Twilio gives no `Retry-After`; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// A `Retry-After` longer than this is cut short, so a call never hangs for minutes.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A client of one Twilio account. Cheap to clone: clones share one connection pool.
///
/// # Errors
/// Every call fails with [`TwilioError::Api`] when Twilio refuses (an ended call, a number no
/// longer for sale; [`TwilioError::is_not_found`] for unknown ids), [`TwilioError::RateLimited`],
/// [`TwilioError::Unreachable`] on a connection failure or timeout, and
/// [`TwilioError::UnexpectedAnswer`] when a success answer is not the expected JSON.
#[derive(Debug, Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    /// For recordings' audio: a per-read timeout instead of a total one, and some redirects.
    media: reqwest::Client,
    api_base: url::Url,
    account_sid: String,
    auth_token: SecretString,
}

/// A number Twilio has for sale.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AvailableNumber {
    /// The number in E.164 form.
    pub phone_number: String,
    /// How Twilio formats it for people, e.g. `(415) 555-0100`.
    pub friendly_name: Option<String>,
    /// The town, if known.
    pub locality: Option<String>,
    /// The state or province, if known.
    pub region: Option<String>,
    /// The ISO 3166-1 country code, e.g. `US`.
    pub iso_country: Option<String>,
}

/// A number the account holds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IncomingNumber {
    /// Twilio's id of it (`PN…`).
    pub sid: String,
    /// The number in E.164 form.
    pub phone_number: String,
    /// Where Twilio sends its incoming calls.
    pub voice_url: Option<String>,
    /// Where Twilio reports the progress of those calls.
    pub status_callback: Option<String>,
}

/// What Twilio knows about a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// The CallSid.
    pub sid: String,
    /// `queued`, `ringing`, `in-progress`, `completed`, `busy`, `failed`, `no-answer`, `canceled`.
    pub status: String,
    /// How long the call lasted, once it has ended.
    pub duration_secs: Option<u32>,
    /// What it cost as Twilio writes it (a negative decimal, e.g. `-0.0085`); `None` until known.
    pub price: Option<String>,
    /// The currency of `price`, e.g. `USD`.
    pub price_unit: Option<String>,
}

/// Why a call to Twilio's REST API failed.
#[derive(Debug, thiserror::Error)]
pub enum TwilioError {
    /// Twilio answered with an error status.
    #[error("twilio answered {status}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// Twilio's error code (e.g. 20404), when it sent one.
        code: Option<i64>,
        /// Twilio's explanation, or the start of the body when it was not Twilio's JSON.
        message: String,
        /// A link to Twilio's page about the error.
        more_info: Option<String>,
    },
    /// Twilio still answered 429 after all retries.
    #[error("twilio kept rate-limiting us")]
    RateLimited,
    /// No answer: connection failed or the request timed out.
    #[error("twilio could not be reached")]
    Unreachable(#[source] reqwest::Error),
    /// A success status with a body we could not read.
    #[error("twilio answered something unexpected: {0}")]
    UnexpectedAnswer(String),
    /// The client was set up with an unusable base URL, account or timeout.
    #[error("bad twilio client settings: {0}")]
    BadConfig(String),
}

impl TwilioError {
    /// Whether Twilio said the resource does not exist (HTTP 404 or error code 20404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status, code, .. } if *status == 404 || *code == Some(20404))
    }
}

/// Twilio's error body; every field may be missing.
#[derive(Default, Deserialize)]
struct ApiErrorBody {
    code: Option<i64>,
    message: Option<String>,
    more_info: Option<String>,
}

/// A call as Twilio sends it: `duration` and `price` are strings, or null until known.
#[derive(Deserialize)]
struct RawCall {
    sid: String,
    status: String,
    duration: Option<String>,
    price: Option<String>,
    price_unit: Option<String>,
}

impl RawCall {
    fn into_info(self) -> Result<CallInfo, TwilioError> {
        let non_empty = |text: Option<String>| text.filter(|t| !t.trim().is_empty());
        let duration_secs = match non_empty(self.duration) {
            None => None,
            Some(text) => Some(text.trim().parse().map_err(|_| {
                TwilioError::UnexpectedAnswer(format!("call duration '{text}' is not seconds"))
            })?),
        };
        let (sid, status, price_unit) = (self.sid, self.status, self.price_unit);
        let price = non_empty(self.price);
        Ok(CallInfo {
            sid,
            status,
            duration_secs,
            price,
            price_unit,
        })
    }
}

/// Twilio's answer to a new message; only its sid matters to us.
#[derive(Deserialize)]
struct SentMessage {
    sid: String,
}

#[derive(Deserialize)]
struct AvailableNumbers {
    available_phone_numbers: Vec<AvailableNumber>,
}

#[derive(Deserialize)]
struct IncomingNumbers {
    incoming_phone_numbers: Vec<IncomingNumber>,
}

impl TwilioClient {
    /// A client of the account `account_sid` at `api_base` (`https://api.twilio.com` in production);
    /// every request gives up after `timeout` (see [`DEFAULT_TIMEOUT`]).
    ///
    /// # Errors
    /// [`TwilioError::BadConfig`] when the base URL is not http(s), the account is empty, the
    /// timeout is zero, or the HTTP client cannot be built.
    pub fn new(
        api_base: &url::Url,
        account_sid: &str,
        auth_token: SecretString,
        timeout: Duration,
    ) -> Result<Self, TwilioError> {
        let bad = |why: String| Err(TwilioError::BadConfig(why));
        if api_base.cannot_be_a_base() || !matches!(api_base.scheme(), "http" | "https") {
            return bad(format!("'{api_base}' is not an http(s) base URL"));
        }
        if account_sid.trim().is_empty() || timeout.is_zero() {
            return bad("the account SID is empty or the timeout is zero".to_owned());
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // Twilio does not redirect API calls; following one would resend a form elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TwilioError::BadConfig(format!("cannot build the HTTP client: {e}")))?;
        let media = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .redirect(recording::media_redirects(api_base))
            .build()
            .map_err(|e| TwilioError::BadConfig(format!("cannot build the HTTP client: {e}")))?;
        let (api_base, account_sid) = (api_base.clone(), account_sid.to_owned());
        Ok(Self {
            http,
            media,
            api_base,
            account_sid,
            auth_token,
        })
    }

    /// Numbers for sale: `GET AvailablePhoneNumbers/{country}/Local.json?AreaCode=…`.
    #[tracing::instrument(skip_all, fields(country = %country, area_code = ?area_code), err(level = "warn"))]
    pub async fn available_local_numbers(
        &self,
        country: &str,
        area_code: Option<&str>,
    ) -> Result<Vec<AvailableNumber>, TwilioError> {
        let mut url = self.url(&["AvailablePhoneNumbers", country, "Local.json"])?;
        if let Some(area_code) = area_code {
            url.query_pairs_mut().append_pair("AreaCode", area_code);
        }
        let list: AvailableNumbers = self.call(Method::GET, url, &[]).await?;
        Ok(list.available_phone_numbers)
    }

    /// Buys a number, pointed at our webhooks: `POST IncomingPhoneNumbers.json` (`PhoneNumber`,
    /// `VoiceUrl`, `VoiceMethod=POST`, `StatusCallback`, `StatusCallbackMethod=POST`).
    #[tracing::instrument(skip_all, fields(number = %number), err(level = "warn"))]
    pub async fn buy_number(
        &self,
        number: &E164,
        voice_url: &str,
        status_callback: &str,
    ) -> Result<IncomingNumber, TwilioError> {
        let url = self.url(&["IncomingPhoneNumbers.json"])?;
        let form = [("PhoneNumber", number.as_ref())];
        let form = [&form[..], &webhooks(voice_url, status_callback)].concat();
        self.call(Method::POST, url, &form).await
    }

    /// Looks up a number we already hold: `GET IncomingPhoneNumbers.json?PhoneNumber=…`;
    /// `None` when the account does not hold it.
    #[tracing::instrument(skip_all, fields(number = %number), err(level = "warn"))]
    pub async fn find_incoming_number(
        &self,
        number: &E164,
    ) -> Result<Option<IncomingNumber>, TwilioError> {
        let mut url = self.url(&["IncomingPhoneNumbers.json"])?;
        url.query_pairs_mut()
            .append_pair("PhoneNumber", number.as_ref());
        let list: IncomingNumbers = self.call(Method::GET, url, &[]).await?;
        // Twilio's filter also matches partial numbers, so keep only the exact one.
        let mut held = list.incoming_phone_numbers.into_iter();
        Ok(held.find(|n| n.phone_number == number.as_ref()))
    }

    /// Points a held number at our webhooks: `POST IncomingPhoneNumbers/{PN…}.json`.
    #[tracing::instrument(skip_all, fields(number_sid = %number_sid), err(level = "warn"))]
    pub async fn update_number_webhooks(
        &self,
        number_sid: &str,
        voice_url: &str,
        status_callback: &str,
    ) -> Result<IncomingNumber, TwilioError> {
        let url = self.url(&["IncomingPhoneNumbers", &format!("{number_sid}.json")])?;
        let form = webhooks(voice_url, status_callback);
        self.call(Method::POST, url, &form).await
    }

    /// Releases a number: `DELETE IncomingPhoneNumbers/{PN…}.json` (Twilio answers 204).
    #[tracing::instrument(skip_all, fields(number_sid = %number_sid), err(level = "warn"))]
    pub async fn release_number(&self, number_sid: &str) -> Result<(), TwilioError> {
        let url = self.url(&["IncomingPhoneNumbers", &format!("{number_sid}.json")])?;
        self.send(Method::DELETE, url, &[]).await.map(drop)
    }

    /// Deletes a recording (and its transcriptions) at Twilio: `DELETE Recordings/{RE…}.json`
    /// (Twilio answers 204; 404 when it is gone already).
    #[tracing::instrument(skip_all, fields(recording_sid = %recording_sid), err(level = "warn"))]
    pub async fn delete_recording(&self, recording_sid: &str) -> Result<(), TwilioError> {
        let url = self.url(&["Recordings", &format!("{recording_sid}.json")])?;
        self.send(Method::DELETE, url, &[]).await.map(drop)
    }

    /// Replaces what a live call is doing with new TwiML: `POST Calls/{CallSid}.json` `Twiml=…`.
    #[tracing::instrument(skip_all, fields(call_sid = %call), err(level = "warn"))]
    pub async fn update_call_twiml(
        &self,
        call: &CallSid,
        twiml: &str,
    ) -> Result<CallInfo, TwilioError> {
        self.on_call(Method::POST, call, &[("Twiml", twiml)]).await
    }

    /// Redirects a live call to a URL that answers with TwiML (voicemail, a transfer):
    /// `POST Calls/{CallSid}.json` `Url=…&Method=POST`.
    #[tracing::instrument(skip_all, fields(call_sid = %call), err(level = "warn"))]
    pub async fn redirect_call(&self, call: &CallSid, url: &str) -> Result<CallInfo, TwilioError> {
        let form = [("Url", url), ("Method", "POST")];
        self.on_call(Method::POST, call, &form).await
    }

    /// Hangs up a live call: `POST Calls/{CallSid}.json` `Status=completed`.
    #[tracing::instrument(skip_all, fields(call_sid = %call), err(level = "warn"))]
    pub async fn hang_up(&self, call: &CallSid) -> Result<CallInfo, TwilioError> {
        let form = [("Status", "completed")];
        self.on_call(Method::POST, call, &form).await
    }

    /// Sends a text message: `POST Messages.json` (`To`, `From`, `Body`). Twilio answers 201
    /// with the message queued; its `SM…` sid is returned. A 5xx is not retried (the message
    /// may have gone out): the caller decides, knowing it may send twice.
    #[tracing::instrument(skip_all, fields(to = %to), err(level = "warn"))]
    pub async fn send_sms(&self, from: &str, to: &E164, body: &str) -> Result<String, TwilioError> {
        let url = self.url(&["Messages.json"])?;
        let form = [("To", to.as_ref()), ("From", from), ("Body", body)];
        let sent: SentMessage = self.call(Method::POST, url, &form).await?;
        Ok(sent.sid)
    }

    /// A call's facts (status, duration, price): `GET Calls/{CallSid}.json`.
    #[tracing::instrument(skip_all, fields(call_sid = %call), err(level = "warn"))]
    pub async fn fetch_call(&self, call: &CallSid) -> Result<CallInfo, TwilioError> {
        self.on_call(Method::GET, call, &[]).await
    }

    async fn on_call(
        &self,
        method: Method,
        call: &CallSid,
        form: &[(&str, &str)],
    ) -> Result<CallInfo, TwilioError> {
        let url = self.url(&["Calls", &format!("{call}.json")])?;
        let raw: RawCall = self.call(method, url, form).await?;
        raw.into_info()
    }

    /// `{api_base}/2010-04-01/Accounts/{AccountSid}/{segments…}`, each segment percent-encoded
    /// (a `/` included), so no value can escape its place in the path.
    fn url(&self, segments: &[&str]) -> Result<url::Url, TwilioError> {
        let mut url = self.api_base.clone();
        url.set_query(None);
        url.path_segments_mut()
            .map_err(|()| TwilioError::BadConfig(format!("'{}' has no path", self.api_base)))?
            .pop_if_empty()
            .extend(["2010-04-01", "Accounts", &self.account_sid])
            .extend(segments);
        Ok(url)
    }

    /// Sends the request and reads the JSON answer.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: url::Url,
        form: &[(&str, &str)],
    ) -> Result<T, TwilioError> {
        let response = self.send(method, url, form).await?;
        let body = response.bytes().await.map_err(TwilioError::Unreachable)?;
        serde_json::from_slice(&body)
            .map_err(|e| TwilioError::UnexpectedAnswer(format!("{e}: {}", excerpt(&body))))
    }

    /// Sends the request, retrying as the module doc says; returns only a success response.
    async fn send(
        &self,
        method: Method,
        url: url::Url,
        form: &[(&str, &str)],
    ) -> Result<reqwest::Response, TwilioError> {
        self.send_with(&self.http, method, url, form).await
    }

    /// [`Self::send`] through `http`.
    async fn send_with(
        &self,
        http: &reqwest::Client,
        method: Method,
        url: url::Url,
        form: &[(&str, &str)],
    ) -> Result<reqwest::Response, TwilioError> {
        let mut retries = 0;
        loop {
            let mut request = http
                .request(method.clone(), url.clone())
                .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()));
            if !form.is_empty() {
                request = request.form(form);
            }
            let response = request.send().await.map_err(TwilioError::Unreachable)?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let rate_limited = status == StatusCode::TOO_MANY_REQUESTS;
            if retries < MAX_RETRIES
                && (rate_limited || status.is_server_error() && method == Method::GET)
            {
                let pause = retry_after(&response).unwrap_or(FIRST_BACKOFF * 2u32.pow(retries));
                tracing::debug!(%status, retries, ?pause, "twilio answered an error; trying again");
                tokio::time::sleep(pause).await;
                retries += 1;
            } else if rate_limited {
                return Err(TwilioError::RateLimited);
            } else {
                return Err(self.redact(api_error(status, response).await));
            }
        }
    }

    /// Takes our credentials out of a Twilio error: its message may quote our request, and
    /// it ends up in logs and in the REST API's answers.
    fn redact(&self, err: TwilioError) -> TwilioError {
        let scrub = |text: String| {
            let token = self.auth_token.expose_secret();
            let text = match token.is_empty() {
                true => text,
                false => text.replace(token, "[auth token]"),
            };
            text.replace(&self.account_sid, "[account]")
        };
        match err {
            TwilioError::Api {
                status,
                code,
                message,
                more_info,
            } => TwilioError::Api {
                status,
                code,
                message: scrub(message),
                more_info: more_info.map(scrub),
            },
            other => other,
        }
    }
}

/// The form fields that point a number's calls and their progress reports at our webhooks.
fn webhooks<'a>(voice_url: &'a str, status_callback: &'a str) -> [(&'static str, &'a str); 4] {
    let (voice, status) = (("VoiceUrl", voice_url), ("StatusCallback", status_callback));
    [
        voice,
        ("VoiceMethod", "POST"),
        status,
        ("StatusCallbackMethod", "POST"),
    ]
}

/// `Retry-After` in whole seconds, capped; `None` when absent or an HTTP date.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    let seconds: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// Turns an error answer into [`TwilioError::Api`], with Twilio's code and message when present.
async fn api_error(status: StatusCode, response: reqwest::Response) -> TwilioError {
    let body = response.bytes().await.unwrap_or_default();
    let parsed: ApiErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    let message = parsed.message.unwrap_or_else(|| match excerpt(&body) {
        text if text.is_empty() => status.canonical_reason().unwrap_or("error").to_owned(),
        text => text,
    });
    let (code, more_info) = (parsed.code, parsed.more_info);
    TwilioError::Api {
        status: status.as_u16(),
        code,
        message,
        more_info,
    }
}

/// The start of a body, for error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.trim().chars().take(200).collect()
}

#[cfg(test)]
mod tests;

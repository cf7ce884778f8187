//! The audio of a call's recordings, fetched from Twilio with the account's credentials so the
//! REST API can stream it to the owner without ever handing out a Twilio URL.
//!
//! The media URL is always built from the recording's SID (`Recordings/{RE…}.mp3` under our
//! own base URL and account), never taken from a stored `RecordingUrl`: a URL from outside
//! could point anywhere (SSRF). Twilio may answer a media request with a redirect to its
//! storage; those are followed (at most [`MAX_MEDIA_REDIRECTS`], only to https or back to the
//! base URL's origin), and the `Authorization` header is not sent to another host.

use std::fmt;

use futures::Stream;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::Method;

use super::{TwilioClient, TwilioError};

/// How many redirects a media request follows.
pub(super) const MAX_MEDIA_REDIRECTS: usize = 3;

/// The content type of the `.mp3` representation Twilio serves.
const MP3: &str = "audio/mpeg";

/// Twilio's id of a recording: `RE` and 32 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordingSid(String);

impl RecordingSid {
    /// Parses `RE` followed by 32 hexadecimal digits; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = raw.len() == 34
            && raw.starts_with("RE")
            && raw[2..].bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| Self(raw.to_owned()))
    }

    /// The SID at the end of a recording URL as Twilio reports it
    /// (`…/Recordings/RE….mp3`, with or without extension or query). Only the SID is kept:
    /// the URL itself is never requested.
    pub fn from_recording_url(url: &str) -> Option<Self> {
        let path = url.split(['?', '#']).next()?;
        let last = path.trim_end_matches('/').rsplit('/').next()?;
        let stem = last.split('.').next()?;
        Self::parse(stem)
    }
}

impl AsRef<str> for RecordingSid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RecordingSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A recording's audio as Twilio is sending it: its type and length, then the bytes.
#[derive(Debug)]
pub struct RecordingMedia {
    content_type: String,
    content_length: Option<u64>,
    response: reqwest::Response,
}

impl RecordingMedia {
    /// The audio's MIME type, e.g. `audio/mpeg`.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The audio's length in bytes, when Twilio said it.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The audio, chunk by chunk as it arrives. A broken connection ends the stream with
    /// [`TwilioError::Unreachable`].
    pub fn into_stream(self) -> impl Stream<Item = Result<Vec<u8>, TwilioError>> + Send + 'static {
        futures::stream::unfold(Some(self.response), |response| async move {
            let mut response = response?;
            match response.chunk().await {
                Ok(Some(chunk)) => Some((Ok(Vec::from(chunk)), Some(response))),
                Ok(None) => None,
                Err(err) => Some((Err(TwilioError::Unreachable(err)), None)),
            }
        })
    }
}

impl TwilioClient {
    /// A recording's audio as MP3: `GET Recordings/{RE…}.mp3`, streamed. Waits at most the
    /// client's timeout for each read, not for the whole recording.
    ///
    /// # Errors
    /// As every call (see [`TwilioClient`]); [`TwilioError::is_not_found`] when Twilio has no
    /// such recording (deleted, or another account's); [`TwilioError::UnexpectedAnswer`] when
    /// the answer is not audio.
    #[tracing::instrument(skip_all, fields(recording_sid = %recording), err(level = "warn"))]
    pub async fn fetch_recording(
        &self,
        recording: &RecordingSid,
    ) -> Result<RecordingMedia, TwilioError> {
        let url = self.url(&["Recordings", &format!("{recording}.mp3")])?;
        let response = self.send_with(&self.media, Method::GET, url, &[]).await?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
                .filter(|value| !value.is_empty())
        };
        let content_type = header(CONTENT_TYPE).unwrap_or(MP3).to_owned();
        if !content_type.to_ascii_lowercase().starts_with("audio/") {
            return Err(TwilioError::UnexpectedAnswer(format!(
                "the recording came as '{content_type}', not audio"
            )));
        }
        let content_length = header(CONTENT_LENGTH).and_then(|value| value.parse().ok());
        Ok(RecordingMedia {
            content_type,
            content_length,
            response,
        })
    }
}

/// Where media requests may be redirected: https anywhere (Twilio's storage), or back to the
/// API base's own origin (a fake Twilio in tests); at most [`MAX_MEDIA_REDIRECTS`] times.
pub(super) fn media_redirects(api_base: &url::Url) -> reqwest::redirect::Policy {
    let origin = api_base.origin();
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_MEDIA_REDIRECTS {
            attempt.error("twilio redirected the recording too many times")
        } else if attempt.url().scheme() == "https" || attempt.url().origin() == origin {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

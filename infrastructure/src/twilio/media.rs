//! Twilio Media Streams messages, typed.
//!
//! A call's audio reaches us as JSON text frames on a WebSocket (`docs/PROTOCOLS.md` §5): fifty
//! `media` frames a second per call, with hundreds of calls on one node. This module turns each
//! frame into a [`StreamEvent`] with one serde pass straight into typed structs (no
//! `serde_json::Value` in between), and writes the three messages we send back (`media`, `mark`,
//! `clear`). Audio payloads are base64 μ-law and are passed through untouched, never decoded.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::json_text::{
    message, optional_borrowed,
    Piece::{Raw, Text},
};

/// One message from Twilio on the media stream; a `media` frame borrows from the text it was
/// read from (fifty a second per call: no copies on the hot path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    /// The socket is open; nothing about the call yet.
    Connected {
        /// `Call`.
        protocol: String,
        /// E.g. `1.0.0`.
        version: String,
    },
    /// The stream started: which call, which format, our custom parameters.
    Start(StreamStart),
    /// 20 ms of the caller's audio.
    Media(MediaFrame<'a>),
    /// One of our marks: the audio sent before it has played.
    Mark {
        /// `MZ…`.
        stream_sid: String,
        /// The name we gave the mark.
        name: String,
    },
    /// The caller pressed a key.
    Dtmf {
        /// `MZ…`.
        stream_sid: String,
        /// `0`–`9`, `*` or `#`.
        digit: String,
    },
    /// The stream ended (the call hung up or the stream was stopped).
    Stop {
        /// `MZ…`.
        stream_sid: String,
        /// `CA…`, when Twilio says.
        call_sid: Option<String>,
    },
}

/// The `start` message: the stream's call and audio format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStart {
    /// `MZ…`: every message we send back names it.
    pub stream_sid: String,
    /// `CA…`: the call.
    pub call_sid: String,
    /// `AC…`: the account.
    pub account_sid: String,
    /// `inbound`, `outbound` or both.
    pub tracks: Vec<String>,
    /// `audio/x-mulaw`.
    pub encoding: String,
    /// 8000.
    pub sample_rate: u32,
    /// 1.
    pub channels: u32,
    /// The `<Parameter>`s of our `<Stream>` TwiML.
    pub custom_parameters: HashMap<String, String>,
}

/// One `media` message: a frame of audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFrame<'a> {
    /// `MZ…`.
    pub stream_sid: Cow<'a, str>,
    /// `inbound` (the caller) or `outbound`.
    pub track: Cow<'a, str>,
    /// The frame's number in its track, from 1.
    pub chunk: u64,
    /// Milliseconds since the stream started.
    pub timestamp_ms: u64,
    /// Base64 μ-law, as Twilio sent it.
    pub payload: Cow<'a, str>,
}

/// A message that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// A well-formed message with an `event` we do not know.
    #[error("unknown media stream event '{0}'")]
    Unknown(String),
    /// Not JSON, or not the shape of its `event`.
    #[error("malformed media stream message: {0}")]
    Malformed(String),
}

/// Reads one text frame from Twilio.
///
/// One serde pass into borrowed wire structs; a `media` frame keeps borrowing from `text` (unless
/// its strings hold escapes), the other events copy out the fields we keep. Fields we do not use
/// (`sequenceNumber`, …) are skipped, and numbers Twilio sends as strings (`chunk`, `timestamp`)
/// are read from strings or plain numbers alike.
///
/// # Errors
/// [`MediaError::Unknown`] for an event type we do not know, [`MediaError::Malformed`] for
/// anything else that is not a Media Streams message (not JSON, no `event`, a field missing or
/// of the wrong type).
pub fn parse(text: &str) -> Result<StreamEvent<'_>, MediaError> {
    let wire: Wire<'_> = match serde_json::from_str(text) {
        Ok(wire) => wire,
        Err(err) => return Err(unknown_or_malformed(text, &err)),
    };
    let missing = |what: &str| MediaError::Malformed(format!("{} without {what}", wire.event));
    match wire.event.as_ref() {
        "media" => {
            let media = wire.media.ok_or_else(|| missing("media"))?;
            Ok(StreamEvent::Media(MediaFrame {
                stream_sid: wire.stream_sid.ok_or_else(|| missing("streamSid"))?,
                track: media.track,
                chunk: media.chunk,
                timestamp_ms: media.timestamp,
                payload: media.payload,
            }))
        }
        "mark" => Ok(StreamEvent::Mark {
            name: wire.mark.ok_or_else(|| missing("mark"))?.name,
            stream_sid: wire
                .stream_sid
                .ok_or_else(|| missing("streamSid"))?
                .into_owned(),
        }),
        "start" => {
            let start = wire.start.ok_or_else(|| missing("start"))?;
            let stream_sid = start
                .stream_sid
                .or_else(|| wire.stream_sid.map(Cow::into_owned))
                .ok_or_else(|| missing("streamSid"))?;
            Ok(StreamEvent::Start(StreamStart {
                stream_sid,
                call_sid: start.call_sid,
                account_sid: start.account_sid,
                tracks: start.tracks,
                encoding: start.media_format.encoding,
                sample_rate: start.media_format.sample_rate,
                channels: start.media_format.channels,
                custom_parameters: start.custom_parameters,
            }))
        }
        "connected" => Ok(StreamEvent::Connected {
            protocol: wire.protocol.ok_or_else(|| missing("protocol"))?,
            version: wire.version.ok_or_else(|| missing("version"))?,
        }),
        "dtmf" => Ok(StreamEvent::Dtmf {
            digit: wire.dtmf.ok_or_else(|| missing("dtmf"))?.digit,
            stream_sid: wire
                .stream_sid
                .ok_or_else(|| missing("streamSid"))?
                .into_owned(),
        }),
        "stop" => Ok(StreamEvent::Stop {
            stream_sid: wire
                .stream_sid
                .ok_or_else(|| missing("streamSid"))?
                .into_owned(),
            call_sid: wire.stop.and_then(|stop| stop.call_sid),
        }),
        other => Err(MediaError::Unknown(other.to_owned())),
    }
}

/// A message that failed to deserialize is still "unknown" rather than "malformed" when it names
/// an event we do not know: an unknown event may carry fields whose shapes clash with ours.
fn unknown_or_malformed(text: &str, err: &serde_json::Error) -> MediaError {
    #[derive(Deserialize)]
    struct EventOnly<'a> {
        #[serde(borrow)]
        event: Cow<'a, str>,
    }
    match serde_json::from_str::<EventOnly<'_>>(text) {
        Ok(only) if !KNOWN_EVENTS.contains(&only.event.as_ref()) => {
            MediaError::Unknown(only.event.into_owned())
        }
        _ => MediaError::Malformed(err.to_string()),
    }
}

/// The events [`parse`] understands.
const KNOWN_EVENTS: [&str; 6] = ["connected", "start", "media", "mark", "dtmf", "stop"];

/// Every field of every event, flat: one struct avoids serde's buffering of tagged enums.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "optional_borrowed")]
    stream_sid: Option<Cow<'a, str>>,
    protocol: Option<String>,
    version: Option<String>,
    start: Option<WireStart>,
    #[serde(borrow)]
    media: Option<WireMedia<'a>>,
    mark: Option<WireMark>,
    dtmf: Option<WireDtmf>,
    stop: Option<WireStop>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireStart {
    stream_sid: Option<String>,
    call_sid: String,
    account_sid: String,
    #[serde(default)]
    tracks: Vec<String>,
    media_format: WireMediaFormat,
    #[serde(default)]
    custom_parameters: HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMediaFormat {
    encoding: String,
    #[serde(deserialize_with = "number_or_text")]
    sample_rate: u32,
    #[serde(deserialize_with = "number_or_text")]
    channels: u32,
}

#[derive(Deserialize)]
struct WireMedia<'a> {
    #[serde(borrow)]
    track: Cow<'a, str>,
    #[serde(deserialize_with = "number_or_text")]
    chunk: u64,
    #[serde(deserialize_with = "number_or_text")]
    timestamp: u64,
    #[serde(borrow)]
    payload: Cow<'a, str>,
}

#[derive(Deserialize)]
struct WireMark {
    name: String,
}

#[derive(Deserialize)]
struct WireDtmf {
    digit: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireStop {
    call_sid: Option<String>,
}

/// A whole number sent as a JSON string (`"40"`, as Twilio does) or as a JSON number.
fn number_or_text<'de, D, N>(deserializer: D) -> Result<N, D::Error>
where
    D: Deserializer<'de>,
    N: TryFrom<u64>,
{
    struct Whole;

    impl Visitor<'_> for Whole {
        type Value = u64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number, or a string holding one")
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
            Ok(value)
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<u64, E> {
            value
                .parse()
                .map_err(|_| E::invalid_value(de::Unexpected::Str(value), &self))
        }
    }

    let value = deserializer.deserialize_any(Whole)?;
    N::try_from(value)
        .map_err(|_| de::Error::invalid_value(de::Unexpected::Unsigned(value), &"a smaller number"))
}

/// `{"event":"media","streamSid":…,"media":{"payload":…}}`: audio for the caller, passed
/// through as OpenAI sent it (base64 μ-law).
pub fn media(stream_sid: &str, payload_b64: &str) -> String {
    message(&[
        Raw(r#"{"event":"media","streamSid":"#),
        Text(stream_sid),
        Raw(r#","media":{"payload":"#),
        Text(payload_b64),
        Raw("}}"),
    ])
}

/// `{"event":"mark","streamSid":…,"mark":{"name":…}}`: Twilio echoes it once the audio sent
/// before it has played.
pub fn mark(stream_sid: &str, name: &str) -> String {
    message(&[
        Raw(r#"{"event":"mark","streamSid":"#),
        Text(stream_sid),
        Raw(r#","mark":{"name":"#),
        Text(name),
        Raw("}}"),
    ])
}

/// `{"event":"clear","streamSid":…}`: drops the audio not yet played (barge-in).
pub fn clear(stream_sid: &str) -> String {
    message(&[
        Raw(r#"{"event":"clear","streamSid":"#),
        Text(stream_sid),
        Raw("}"),
    ])
}

#[cfg(test)]
mod tests;

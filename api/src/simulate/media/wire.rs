//! The messages Twilio sends on a media stream (`docs/PROTOCOLS.md` §5), written with serde:
//! `connected`, `start`, `media` and `stop`, numbered as Twilio numbers them. (Mark echoes are
//! `infrastructure::twilio::media::mark`.)

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use serde::Serialize;

use super::StreamCall;

/// The messages Twilio sends, numbered as Twilio numbers them.
pub(super) struct Outbound<'a> {
    stream_sid: &'a str,
    sequence: u64,
    chunk: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Start<'a> {
    event: &'static str,
    sequence_number: String,
    stream_sid: &'a str,
    pub(super) start: StartBody<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StartBody<'a> {
    account_sid: &'a str,
    stream_sid: &'a str,
    call_sid: &'a str,
    tracks: [&'static str; 1],
    media_format: MediaFormat,
    pub(super) custom_parameters: BTreeMap<&'a str, &'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MediaFormat {
    encoding: &'static str,
    sample_rate: u32,
    channels: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Media<'a> {
    event: &'static str,
    sequence_number: String,
    stream_sid: &'a str,
    media: MediaBody,
}

#[derive(Serialize)]
struct MediaBody {
    track: &'static str,
    chunk: String,
    timestamp: String,
    payload: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Stop<'a> {
    event: &'static str,
    sequence_number: String,
    stream_sid: &'a str,
    stop: StopBody<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StopBody<'a> {
    account_sid: &'a str,
    call_sid: &'a str,
}

impl<'a> Outbound<'a> {
    pub(super) fn new(stream_sid: &'a str) -> Self {
        Self {
            stream_sid,
            sequence: 0,
            chunk: 0,
        }
    }

    pub(super) fn connected() -> String {
        r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#.to_owned()
    }

    fn next_sequence(&mut self) -> String {
        self.sequence += 1;
        self.sequence.to_string()
    }

    pub(super) fn start<'c>(&mut self, call: &'c StreamCall<'_>) -> Start<'c>
    where
        'a: 'c,
    {
        Start {
            event: "start",
            sequence_number: self.next_sequence(),
            stream_sid: self.stream_sid,
            start: StartBody {
                account_sid: call.account_sid,
                stream_sid: self.stream_sid,
                call_sid: call.call_sid,
                tracks: ["inbound"],
                media_format: MediaFormat {
                    encoding: "audio/x-mulaw",
                    sample_rate: 8_000,
                    channels: 1,
                },
                custom_parameters: call
                    .parameters
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect(),
            },
        }
    }

    pub(super) fn media(&mut self, since_start: Duration, audio: &[u8]) -> String {
        self.chunk += 1;
        let media = Media {
            event: "media",
            sequence_number: self.next_sequence(),
            stream_sid: self.stream_sid,
            media: MediaBody {
                track: "inbound",
                chunk: self.chunk.to_string(),
                timestamp: since_start.as_millis().to_string(),
                payload: base64::engine::general_purpose::STANDARD.encode(audio),
            },
        };
        serde_json::to_string(&media).unwrap_or_default()
    }

    pub(super) fn stop(&mut self, call: &StreamCall<'_>) -> String {
        let stop = Stop {
            event: "stop",
            sequence_number: self.next_sequence(),
            stream_sid: self.stream_sid,
            stop: StopBody {
                account_sid: call.account_sid,
                call_sid: call.call_sid,
            },
        };
        serde_json::to_string(&stop).unwrap_or_default()
    }
}

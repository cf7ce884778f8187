//! TwiML: the XML answers of our Twilio voice webhooks, built from typed verbs.
//!
//! Caller ids, business names and URLs carrying them are input from strangers, so no value is ever
//! pasted into markup by hand: element and attribute names are `&'static str` fixed in this file,
//! and every text and attribute value goes through [`quick_xml::escape::escape`] (`& < > " '`).
//! The output follows PROTOCOLS.md §3, with attributes in a fixed order and no whitespace.

use quick_xml::escape::escape;

/// The `Content-Type` of a TwiML answer.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// A TwiML `<Response>`: the verbs Twilio runs in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    verbs: Vec<Verb>,
}

/// One TwiML verb directly inside `<Response>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// `<Say>`: speak a text.
    Say(Say),
    /// `<Pause length="…"/>`: wait a number of seconds.
    Pause {
        /// Seconds of silence.
        length: u32,
    },
    /// `<Hangup/>`: end the call.
    Hangup,
    /// `<Reject reason="…"/>`: refuse the call without answering it (no charge).
    Reject {
        /// What the caller hears.
        reason: RejectReason,
    },
    /// `<Redirect method="POST">url</Redirect>`: fetch the next TwiML from another URL.
    Redirect {
        /// Where Twilio POSTs for the next TwiML.
        url: String,
    },
    /// `<Dial>` one `<Number>`.
    Dial(Dial),
    /// `<Connect><Stream>…</Stream></Connect>`: a two-way media stream.
    Connect(Stream),
    /// `<Record/>`: a voicemail.
    Record(Record),
    /// `<Gather>`: collect keys (or speech) while prompting.
    Gather(Gather),
}

/// The `reason` of a `<Reject>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The caller hears a busy signal.
    Busy,
    /// The caller hears "not in service".
    Rejected,
}

/// `<Say voice="…" language="…">text</Say>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Say {
    text: String,
    voice: Option<String>,
    language: Option<String>,
}

/// `<Dial …><Number …>number</Number></Dial>`; `method` is always POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    number: String,
    action: String,
    timeout_secs: u32,
    caller_id: Option<String>,
    answer_on_bridge: bool,
    time_limit_secs: Option<u32>,
    screen_url: Option<String>,
    number_status_callback: Option<String>,
}

/// `<Stream url="wss://…">` with its `<Parameter name value/>`s (Twilio drops query strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    url: String,
    parameters: Vec<(String, String)>,
}

/// `<Record action method="POST" maxLength playBeep finishOnKey …/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    action: String,
    max_length_secs: u32,
    play_beep: bool,
    finish_on_key: String,
    recording_status_callback: Option<String>,
    recording_status_callback_event: Option<String>,
    transcribe: bool,
    transcribe_callback: Option<String>,
}

/// What a `<Gather>` listens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatherInput {
    /// `input="dtmf"`: keys only.
    Dtmf,
    /// `input="dtmf speech"`: keys or speech.
    DtmfSpeech,
}

/// `<Gather input numDigits action method="POST" timeout>prompts</Gather>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gather {
    input: GatherInput,
    num_digits: Option<u32>,
    action: String,
    timeout_secs: u32,
    /// Only `Say` and `Pause`: the setters below are the only way in.
    prompts: Vec<Verb>,
}

impl Response {
    /// An empty `<Response/>`.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends any verb.
    pub fn push(mut self, verb: Verb) -> Self {
        self.verbs.push(verb);
        self
    }
    /// Appends a `<Say>`.
    pub fn say(self, say: Say) -> Self {
        self.push(Verb::Say(say))
    }
    /// Appends a `<Pause>` of `length` seconds.
    pub fn pause(self, length: u32) -> Self {
        self.push(Verb::Pause { length })
    }
    /// Appends a `<Hangup/>`.
    pub fn hangup(self) -> Self {
        self.push(Verb::Hangup)
    }
    /// Appends a `<Reject>`.
    pub fn reject(self, reason: RejectReason) -> Self {
        self.push(Verb::Reject { reason })
    }
    /// Appends a `<Redirect method="POST">`.
    pub fn redirect(self, url: impl Into<String>) -> Self {
        self.push(Verb::Redirect { url: url.into() })
    }
    /// Appends a `<Dial>`.
    pub fn dial(self, dial: Dial) -> Self {
        self.push(Verb::Dial(dial))
    }
    /// Appends a `<Connect>` around one `<Stream>`.
    pub fn connect(self, stream: Stream) -> Self {
        self.push(Verb::Connect(stream))
    }
    /// Appends a `<Record/>`.
    pub fn record(self, record: Record) -> Self {
        self.push(Verb::Record(record))
    }
    /// Appends a `<Gather>`.
    pub fn gather(self, gather: Gather) -> Self {
        self.push(Verb::Gather(gather))
    }

    /// The whole document, XML declaration included.
    ///
    /// Infallible by construction: it writes into a `String` (which cannot fail), not through an
    /// `io::Write` whose `io::Result` could never be `Err` here but would still need handling.
    pub fn to_xml(&self) -> String {
        let mut x = Xml(String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#));
        x.open("Response", &[]);
        for verb in &self.verbs {
            x.verb(verb);
        }
        x.close("Response");
        x.0
    }
}

/// Chainable setters: `field: ParamType => |v| value stored in the field;`.
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $param:ty => |$v:ident| $store:expr;)*) => {$(
        $(#[$doc])*
        pub fn $field(mut self, $v: $param) -> Self {
            self.$field = $store;
            self
        }
    )*};
}

impl Say {
    /// Speaks `text` in Twilio's default voice.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            voice: None,
            language: None,
        }
    }
    setters! {
        /// Sets `voice` (e.g. `Polly.Joanna`).
        voice: impl Into<String> => |v| Some(v.into());
        /// Sets `language` (e.g. `en-US`).
        language: impl Into<String> => |v| Some(v.into());
    }
}

impl Dial {
    /// Dials `number`, posting the outcome to `action`; rings 20 s (below a carrier voicemail).
    pub fn new(number: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            number: number.into(),
            action: action.into(),
            timeout_secs: 20,
            caller_id: None,
            answer_on_bridge: false,
            time_limit_secs: None,
            screen_url: None,
            number_status_callback: None,
        }
    }
    setters! {
        /// Sets `timeout`: seconds of ringing (Twilio accepts 5–600).
        timeout_secs: u32 => |v| v;
        /// Sets `callerId`: the number the callee sees.
        caller_id: impl Into<String> => |v| Some(v.into());
        /// Writes `answerOnBridge="true"` when set: the caller hears ringback, not silence.
        answer_on_bridge: bool => |v| v;
        /// Sets `timeLimit`: the most seconds the bridged call may last.
        time_limit_secs: u32 => |v| Some(v);
        /// Sets `<Number url>`: TwiML run on the callee's leg before bridging (call screening).
        screen_url: impl Into<String> => |v| Some(v.into());
        /// Sets `<Number statusCallback>`: status events of the callee's leg.
        number_status_callback: impl Into<String> => |v| Some(v.into());
    }
}

impl Stream {
    /// A stream to the WebSocket at `url` (`wss://…`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            parameters: Vec::new(),
        }
    }
    /// Adds a `<Parameter>` (arrives in `start.customParameters`).
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.push((name.into(), value.into()));
        self
    }
}

impl Record {
    /// Records up to 120 s after a beep, ended by `#`, posting to `action`.
    pub fn new(action: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            max_length_secs: 120,
            play_beep: true,
            finish_on_key: "#".to_owned(),
            recording_status_callback: None,
            recording_status_callback_event: None,
            transcribe: false,
            transcribe_callback: None,
        }
    }
    setters! {
        /// Sets `maxLength` in seconds.
        max_length_secs: u32 => |v| v;
        /// Sets `playBeep`.
        play_beep: bool => |v| v;
        /// Sets `finishOnKey` (empty: no key ends the recording).
        finish_on_key: impl Into<String> => |v| v.into();
        /// Sets `recordingStatusCallback`: where Twilio posts the recording's status.
        recording_status_callback: impl Into<String> => |v| Some(v.into());
        /// Sets `recordingStatusCallbackEvent` (e.g. `completed`; Twilio's default).
        recording_status_callback_event: impl Into<String> => |v| Some(v.into());
        /// Writes `transcribe="true"` when set: Twilio transcribes the recording (paid; only
        /// for recordings of at most two minutes). Unset, the attribute is left out (Twilio's
        /// default is `false`).
        transcribe: bool => |v| v;
        /// Sets `transcribeCallback`: where Twilio posts the transcription (`TranscriptionSid`,
        /// `TranscriptionText`, `TranscriptionStatus`, `RecordingSid`, …).
        transcribe_callback: impl Into<String> => |v| Some(v.into());
    }
}

impl Gather {
    /// Gathers `input`, posting the result to `action`, waiting 5 s after the prompts.
    pub fn new(input: GatherInput, action: impl Into<String>) -> Self {
        Self {
            input,
            num_digits: None,
            action: action.into(),
            timeout_secs: 5,
            prompts: Vec::new(),
        }
    }
    setters! {
        /// Sets `numDigits`: stop after that many keys.
        num_digits: u32 => |v| Some(v);
        /// Sets `timeout`: seconds of silence before giving up.
        timeout_secs: u32 => |v| v;
    }
    /// Nests a `<Say>`.
    pub fn say(mut self, say: Say) -> Self {
        self.prompts.push(Verb::Say(say));
        self
    }
    /// Nests a `<Pause>` of `length` seconds.
    pub fn pause(mut self, length: u32) -> Self {
        self.prompts.push(Verb::Pause { length });
        self
    }
}

/// An attribute: a fixed name and a value that is escaped on output; `None` is omitted.
type Attr<'a> = (&'static str, Option<&'a str>);

/// The output buffer; names are static, values only ever enter through [`escape`].
struct Xml(String);

impl Xml {
    fn start(&mut self, name: &'static str, attrs: &[Attr<'_>]) {
        self.0.extend(["<", name]);
        for (key, value) in attrs {
            if let Some(value) = value {
                self.0.extend([" ", key, "=\"", &escape(*value), "\""]);
            }
        }
    }
    fn open(&mut self, name: &'static str, attrs: &[Attr<'_>]) {
        self.start(name, attrs);
        self.0.push('>');
    }
    fn empty(&mut self, name: &'static str, attrs: &[Attr<'_>]) {
        self.start(name, attrs);
        self.0.push_str("/>");
    }
    fn close(&mut self, name: &'static str) {
        self.0.extend(["</", name, ">"]);
    }
    fn element(&mut self, name: &'static str, attrs: &[Attr<'_>], text: &str) {
        self.open(name, attrs);
        self.0.push_str(&escape(text));
        self.close(name);
    }

    fn verb(&mut self, verb: &Verb) {
        match verb {
            Verb::Say(s) => {
                let attrs = [
                    ("voice", s.voice.as_deref()),
                    ("language", s.language.as_deref()),
                ];
                self.element("Say", &attrs, &s.text);
            }
            Verb::Pause { length } => self.empty("Pause", &[("length", Some(&length.to_string()))]),
            Verb::Hangup => self.empty("Hangup", &[]),
            Verb::Reject { reason } => {
                let reason = match reason {
                    RejectReason::Busy => "busy",
                    RejectReason::Rejected => "rejected",
                };
                self.empty("Reject", &[("reason", Some(reason))]);
            }
            Verb::Redirect { url } => self.element("Redirect", &[("method", Some("POST"))], url),
            Verb::Dial(d) => {
                let time_limit = d.time_limit_secs.map(|t| t.to_string());
                self.open(
                    "Dial",
                    &[
                        ("timeout", Some(&d.timeout_secs.to_string())),
                        ("action", Some(&d.action)),
                        ("method", Some("POST")),
                        ("callerId", d.caller_id.as_deref()),
                        ("answerOnBridge", d.answer_on_bridge.then_some("true")),
                        ("timeLimit", time_limit.as_deref()),
                    ],
                );
                let number = [
                    ("url", d.screen_url.as_deref()),
                    ("statusCallback", d.number_status_callback.as_deref()),
                ];
                self.element("Number", &number, &d.number);
                self.close("Dial");
            }
            Verb::Connect(s) => {
                self.open("Connect", &[]);
                self.open("Stream", &[("url", Some(&s.url))]);
                for (name, value) in &s.parameters {
                    self.empty("Parameter", &[("name", Some(name)), ("value", Some(value))]);
                }
                self.close("Stream");
                self.close("Connect");
            }
            Verb::Record(r) => self.empty(
                "Record",
                &[
                    ("action", Some(&r.action)),
                    ("method", Some("POST")),
                    ("maxLength", Some(&r.max_length_secs.to_string())),
                    ("playBeep", Some(if r.play_beep { "true" } else { "false" })),
                    ("finishOnKey", Some(&r.finish_on_key)),
                    (
                        "recordingStatusCallback",
                        r.recording_status_callback.as_deref(),
                    ),
                    (
                        "recordingStatusCallbackEvent",
                        r.recording_status_callback_event.as_deref(),
                    ),
                    ("transcribe", r.transcribe.then_some("true")),
                    ("transcribeCallback", r.transcribe_callback.as_deref()),
                ],
            ),
            Verb::Gather(g) => {
                let input = match g.input {
                    GatherInput::Dtmf => "dtmf",
                    GatherInput::DtmfSpeech => "dtmf speech",
                };
                let num_digits = g.num_digits.map(|n| n.to_string());
                self.open(
                    "Gather",
                    &[
                        ("input", Some(input)),
                        ("numDigits", num_digits.as_deref()),
                        ("action", Some(&g.action)),
                        ("method", Some("POST")),
                        ("timeout", Some(&g.timeout_secs.to_string())),
                    ],
                );
                for prompt in &g.prompts {
                    self.verb(prompt);
                }
                self.close("Gather");
            }
        }
    }
}

#[cfg(test)]
mod tests;

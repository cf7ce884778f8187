//! What we tell Twilio to do with a call, decided by the call flow and rendered as TwiML here,
//! in one place, so every webhook (and every retry of one) answers the same way for the same
//! state.

use domain::values::{BusinessId, CallSid, RingTimeout, E164};
use infrastructure::twilio::twiml::{Dial, Gather, GatherInput, Record, Response, Say, Stream};

use crate::twilio::PublicUrls;

/// The longest voicemail, in seconds.
const VOICEMAIL_MAX_SECS: u32 = 120;
/// How long the owner has to press 1 at the screen.
const SCREEN_TIMEOUT_SECS: u32 = 5;

/// What to do with a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Say sorry and hang up (unknown number, inactive business, nothing else works).
    Apology(&'static str),
    /// Ring the owner, with screening, showing the business number as caller id.
    RingOwner {
        /// The owner's phone.
        owner_phone: E164,
        /// How long it rings.
        ring_timeout: RingTimeout,
        /// Shown to the owner: the number the caller dialled.
        caller_id: String,
    },
    /// Hand the call to the AI agent over a media stream; if the stream ends without the call
    /// ending, the caller goes on to voicemail.
    AiAgent {
        /// The call.
        call_sid: CallSid,
        /// Its business.
        business_id: Option<BusinessId>,
        /// Named in the voicemail greeting after the stream.
        business_name: Option<String>,
    },
    /// Take a voicemail.
    Voicemail {
        /// Named in the greeting.
        business_name: Option<String>,
    },
    /// On the owner's leg, before bridging: ask the owner to press 1.
    Screen {
        /// Named in the prompt.
        business_name: Option<String>,
    },
    /// Thank the caller and hang up (after a voicemail).
    Goodbye,
    /// Hang up (the call is over, or a screened leg was declined).
    Hangup,
    /// Nothing more: go on (an accepted screen bridges the call).
    Proceed,
}

/// Apology for a number we do not serve.
pub const NOT_IN_SERVICE: &str = "Sorry, the number you have called is not in service. Goodbye.";
/// Apology for a business that does not take calls.
pub const NOT_TAKING_CALLS: &str = "Sorry, this business is not taking calls right now. Goodbye.";
/// Apology when nothing else can take the call.
pub const TECHNICAL_TROUBLE: &str =
    "Sorry, we are having technical trouble and cannot take your call right now. Please call again later.";

impl Answer {
    /// The TwiML document for this answer.
    pub fn to_twiml(&self, urls: &PublicUrls) -> String {
        let webhook = |path: &str| urls.public(path);
        let response = match self {
            Self::Apology(text) => Response::new().say(Say::new(*text)).hangup(),
            Self::RingOwner {
                owner_phone,
                ring_timeout,
                caller_id,
            } => Response::new().dial(
                Dial::new(owner_phone.as_ref(), webhook("/twilio/voice/dial-result"))
                    .timeout_secs(ring_timeout.secs())
                    .caller_id(caller_id.as_str())
                    .answer_on_bridge(true)
                    .screen_url(webhook("/twilio/voice/screen")),
            ),
            Self::AiAgent {
                call_sid,
                business_id,
                business_name,
            } => {
                let mut stream =
                    Stream::new(urls.media_stream()).parameter("call_sid", call_sid.as_ref());
                if let Some(business_id) = business_id {
                    stream = stream.parameter("business_id", business_id.to_string());
                }
                voicemail(
                    Response::new().connect(stream),
                    business_name.as_deref(),
                    urls,
                )
            }
            Self::Voicemail { business_name } => {
                voicemail(Response::new(), business_name.as_deref(), urls)
            }
            Self::Screen { business_name } => {
                let prompt = match business_name {
                    Some(name) => format!("Call for {name}. Press 1 to take it."),
                    None => "Incoming call. Press 1 to take it.".to_owned(),
                };
                Response::new()
                    .gather(
                        Gather::new(GatherInput::Dtmf, webhook("/twilio/voice/screen-result"))
                            .num_digits(1)
                            .timeout_secs(SCREEN_TIMEOUT_SECS)
                            .say(Say::new(prompt)),
                    )
                    .hangup()
            }
            Self::Goodbye => Response::new()
                .say(Say::new(
                    "Thank you. Your message has been recorded. Goodbye.",
                ))
                .hangup(),
            Self::Hangup => Response::new().hangup(),
            Self::Proceed => Response::new(),
        };
        response.to_xml()
    }
}

/// A greeting, a recording with a beep (transcribed by Twilio), and a goodbye if the caller
/// said nothing.
fn voicemail(response: Response, business_name: Option<&str>, urls: &PublicUrls) -> Response {
    let greeting = match business_name {
        Some(name) => format!(
            "You have reached {name}. Nobody can take your call right now. \
             Please leave a message after the tone, and press the pound key when you are done."
        ),
        None => "Nobody can take your call right now. Please leave a message after the tone, \
                 and press the pound key when you are done."
            .to_owned(),
    };
    response
        .say(Say::new(greeting))
        .record(
            Record::new(urls.public("/twilio/voice/voicemail"))
                .max_length_secs(VOICEMAIL_MAX_SECS)
                .play_beep(true)
                .finish_on_key("#")
                .recording_status_callback(urls.public("/twilio/voice/recording"))
                .recording_status_callback_event("completed")
                // The owner reads the message, and the summariser summarises it.
                .transcribe(true)
                .transcribe_callback(urls.public("/twilio/voice/transcription")),
        )
        .say(Say::new("We did not receive a message. Goodbye."))
        .hangup()
}

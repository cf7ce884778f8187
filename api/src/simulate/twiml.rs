//! Reading the server's TwiML answers as Twilio would: the verbs that move a call on.

use anyhow::Context;
use quick_xml::events::Event;
use quick_xml::Reader;

/// The verbs of a TwiML answer that move a call on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Dial {
        action: String,
        owner: String,
        screen: Option<String>,
    },
    Stream {
        url: String,
        parameters: Vec<(String, String)>,
    },
    Record {
        action: String,
        status_callback: Option<String>,
        /// `transcribeCallback`, when the recording is to be transcribed.
        transcribe_callback: Option<String>,
    },
    Hangup,
}

/// The call-moving verbs of a TwiML document, in order.
pub(super) fn steps(twiml: &str) -> anyhow::Result<Vec<Step>> {
    let mut reader = Reader::from_str(twiml);
    let mut steps = Vec::new();
    let mut dial: Option<(String, Option<String>)> = None;
    let mut in_number = false;
    let mut in_stream = false;
    loop {
        let event = reader
            .read_event()
            .context("the server's answer is not valid TwiML")?;
        let opens = matches!(event, Event::Start(_));
        match event {
            Event::Start(tag) | Event::Empty(tag) => {
                let attr = |name: &str| -> Option<String> {
                    tag.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == name.as_bytes())
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                };
                match tag.name().as_ref() {
                    b"Dial" => dial = Some((attr("action").unwrap_or_default(), None)),
                    b"Number" => {
                        in_number = true;
                        if let Some((_, screen)) = dial.as_mut() {
                            *screen = attr("url");
                        }
                    }
                    b"Stream" => {
                        in_stream = opens;
                        steps.push(Step::Stream {
                            url: attr("url").unwrap_or_default(),
                            parameters: Vec::new(),
                        });
                    }
                    b"Parameter" if in_stream => {
                        if let Some(Step::Stream { parameters, .. }) = steps.last_mut() {
                            parameters.push((
                                attr("name").unwrap_or_default(),
                                attr("value").unwrap_or_default(),
                            ));
                        }
                    }
                    b"Record" => steps.push(Step::Record {
                        action: attr("action").unwrap_or_default(),
                        status_callback: attr("recordingStatusCallback"),
                        transcribe_callback: attr("transcribeCallback")
                            .filter(|_| attr("transcribe").as_deref() == Some("true")),
                    }),
                    b"Hangup" => steps.push(Step::Hangup),
                    _ => {}
                }
            }
            Event::Text(text) if in_number => {
                if let Some((action, screen)) = dial.take() {
                    let owner = text
                        .decode()
                        .map(|t| t.trim().to_owned())
                        .unwrap_or_default();
                    steps.push(Step::Dial {
                        action,
                        owner,
                        screen,
                    });
                }
            }
            Event::End(tag) if tag.name().as_ref() == b"Number" => in_number = false,
            Event::End(tag) if tag.name().as_ref() == b"Stream" => in_stream = false,
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(steps)
}

/// The `<Gather action>` of a TwiML document, if any.
pub(super) fn gather_action(twiml: &str) -> anyhow::Result<Option<String>> {
    let mut reader = Reader::from_str(twiml);
    loop {
        match reader
            .read_event()
            .context("the server's answer is not valid TwiML")?
        {
            Event::Start(tag) | Event::Empty(tag) if tag.name().as_ref() == b"Gather" => {
                return Ok(tag
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == b"action")
                    .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned())));
            }
            Event::Eof => return Ok(None),
            _ => {}
        }
    }
}

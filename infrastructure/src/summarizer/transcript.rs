//! What the summariser knows of one call, read from its events in the event store (never from a
//! read model, which may lag), and the text OpenAI is given: a short header (business, caller,
//! messages the agent took, whether the caller left a voicemail), the conversation with the agent
//! line by line, and the voicemail as Twilio transcribed it — the caller's own words.

use cqrs_es::persist::PersistedEventRepository;
use cqrs_es::Aggregate;
use domain::call::{AiSession, Call, CallEvent, Speaker, Urgency};
use domain::values::CallerId;
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;

use crate::privacy::PersonalData;

/// The most characters of conversation sent; a longer one loses lines from its middle, where
/// a phone call rarely says who called or what to do next.
pub(super) const MAX_CONVERSATION_CHARS: usize = 100_000;

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Line {
    pub(super) speaker: Speaker,
    pub(super) text: String,
    pub(super) offset_ms: u64,
}

/// A message the agent took.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Message {
    pub(super) caller_name: Option<String>,
    pub(super) callback_number: Option<String>,
    pub(super) message: String,
    pub(super) urgency: Urgency,
}

/// A call as its events tell it.
#[derive(Debug, Clone, Default)]
pub(super) struct CallFacts {
    pub(super) call: Call,
    pub(super) lines: Vec<Line>,
    pub(super) messages: Vec<Message>,
    /// The voicemail's transcriptions (`VoicemailTranscribed`), in order: what the caller said.
    pub(super) voicemails: Vec<String>,
}

/// The call's events could not be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadError {
    /// The database failed.
    #[error("the call's events could not be read")]
    Unavailable(#[source] cqrs_es::persist::PersistenceError),
    /// The call's personal data could not be opened.
    #[error("the call's personal data could not be opened")]
    Sealed(#[source] crate::privacy::PrivacyError),
    /// A stored event is not a `CallEvent` any more.
    #[error("event {sequence} of the call could not be read")]
    Corrupt {
        sequence: usize,
        #[source]
        source: serde_json::Error,
    },
}

impl CallFacts {
    /// Folds `events`, in order.
    pub(super) fn from_events(events: impl IntoIterator<Item = CallEvent>) -> Self {
        let mut facts = Self::default();
        for event in events {
            match &event {
                CallEvent::TranscriptSegmentRecorded {
                    speaker,
                    text,
                    offset_ms,
                } => facts.lines.push(Line {
                    speaker: *speaker,
                    text: text.clone(),
                    offset_ms: *offset_ms,
                }),
                CallEvent::MessageTaken {
                    caller_name,
                    callback_number,
                    message,
                    urgency,
                } => facts.messages.push(Message {
                    caller_name: caller_name.clone(),
                    callback_number: callback_number.clone(),
                    message: message.clone(),
                    urgency: *urgency,
                }),
                CallEvent::VoicemailTranscribed { text, .. } => facts.voicemails.push(text.clone()),
                _ => {}
            }
            facts.call.apply(event);
        }
        facts
    }

    /// Whether the call wants a summary now or later: it ended after a conversation with the
    /// agent or with a transcribed voicemail, and has neither a summary nor a recorded failure.
    pub(super) fn wants_summary(&self) -> bool {
        self.call.end.is_some()
            && (!self.lines.is_empty() || !self.voicemails.is_empty())
            && !self.call.summarized
            && !self.call.summary_failed
    }

    /// Whether the agent's session is still open: the voice bridge may still be writing the
    /// last lines of the conversation (Twilio's end of call often comes first).
    pub(super) fn session_open(&self) -> bool {
        self.call.ai_session == AiSession::Running
    }

    /// What OpenAI is given to summarise.
    pub(super) fn render(&self, business_name: &str) -> String {
        let mut out = String::new();
        let business = business_name.trim();
        if !business.is_empty() {
            out.push_str(&format!("Business: {business}\n"));
        }
        let caller = match self.call.received.as_ref().map(|r| &r.from) {
            Some(CallerId::Number(number)) => number.to_string(),
            Some(CallerId::Withheld) => "withheld".to_owned(),
            Some(CallerId::Other(raw)) => raw.clone(),
            None => "unknown".to_owned(),
        };
        out.push_str(&format!("Caller's number: {caller}\n"));
        if let Some(secs) = self.call.end.as_ref().and_then(|end| end.duration_secs) {
            out.push_str(&format!(
                "Call length: {}\n",
                clock(u64::from(secs) * 1_000)
            ));
        }
        if !self.voicemails.is_empty() {
            out.push_str(if self.lines.is_empty() {
                "The caller left a voicemail (nobody spoke with them); the message below is \
                 their own words, transcribed.\n"
            } else {
                "After talking with the receptionist, the caller also left a voicemail; the \
                 message below is their own words, transcribed.\n"
            });
        }
        if !self.messages.is_empty() {
            out.push_str("\nMessages the receptionist took:\n");
            for message in &self.messages {
                out.push_str(&format!("- {}\n", message_line(message)));
            }
        }
        if !self.lines.is_empty() {
            out.push_str("\nConversation (Receptionist is the AI agent):\n");
            for line in conversation(&self.lines, MAX_CONVERSATION_CHARS) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        if !self.voicemails.is_empty() {
            out.push_str("\nVoicemail (the caller's words):\n");
            for text in &self.voicemails {
                let text: String = text.trim().chars().take(MAX_CONVERSATION_CHARS).collect();
                out.push_str(&format!("Caller: {text}\n"));
            }
        }
        out
    }
}

/// Every event of call `sid`, its personal fields opened by `privacy` (an erased caller's words
/// read `[erased]`), folded.
pub(super) async fn read(
    pool: &PgPool,
    privacy: Option<&PersonalData>,
    sid: &str,
) -> Result<CallFacts, ReadError> {
    let mut stored = PostgresEventRepository::new(pool.clone())
        .get_events::<Call>(sid)
        .await
        .map_err(ReadError::Unavailable)?;
    if let Some(privacy) = privacy {
        privacy.open(&mut stored).await.map_err(ReadError::Sealed)?;
    }
    let mut events = Vec::with_capacity(stored.len());
    for event in stored {
        let sequence = event.sequence;
        let decoded: <Call as Aggregate>::Event = serde_json::from_value(event.payload)
            .map_err(|source| ReadError::Corrupt { sequence, source })?;
        events.push(decoded);
    }
    Ok(CallFacts::from_events(events))
}

fn message_line(message: &Message) -> String {
    let mut from = message
        .caller_name
        .clone()
        .unwrap_or_else(|| "caller".to_owned());
    if let Some(number) = &message.callback_number {
        from.push_str(&format!(", call back on {number}"));
    }
    let urgency = match message.urgency {
        Urgency::Low => "low",
        Urgency::Normal => "normal",
        Urgency::High => "high",
    };
    format!("from {from} (urgency {urgency}): {}", message.message)
}

/// The lines as `[mm:ss] Speaker: text`; when they are longer than `budget` characters, the
/// first and last lines that fit in half of it each, with a note of what was left out between.
pub(super) fn conversation(lines: &[Line], budget: usize) -> Vec<String> {
    let rendered: Vec<String> = lines
        .iter()
        .map(|line| {
            let who = match line.speaker {
                Speaker::Caller => "Caller",
                Speaker::Agent => "Receptionist",
            };
            format!("[{}] {who}: {}", clock(line.offset_ms), line.text.trim())
        })
        .collect();
    let total: usize = rendered.iter().map(|line| line.chars().count() + 1).sum();
    if total <= budget {
        return rendered;
    }
    let half = budget / 2;
    let fits = |lines: &mut dyn Iterator<Item = &String>| {
        let mut used = 0;
        lines
            .take_while(|line| {
                used += line.chars().count() + 1;
                used <= half
            })
            .count()
    };
    let head = fits(&mut rendered.iter());
    let tail = fits(&mut rendered.iter().rev()).min(rendered.len() - head);
    let left_out = rendered.len() - head - tail;
    let mut kept: Vec<String> = rendered[..head].to_vec();
    kept.push(format!("[… {left_out} lines left out …]"));
    kept.extend_from_slice(&rendered[rendered.len() - tail..]);
    kept
}

/// `mm:ss` (or `h:mm:ss` past an hour).
fn clock(ms: u64) -> String {
    let secs = ms / 1_000;
    let (hours, minutes, seconds) = (secs / 3_600, secs / 60 % 60, secs % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes:02}:{seconds:02}")
    }
}

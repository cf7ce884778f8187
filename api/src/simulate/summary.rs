//! After a simulated call's media stream: what the server recorded, read back from the event
//! store the way `callassist audit call` reads it ([`audit::call_history`]), to tell what Twilio
//! would do next and to print a short summary — the route, the events, the message taken, and
//! whether the built-in demo agent answered.

use std::time::{Duration, Instant};

use domain::values::CallSid;
use infrastructure::audit::{self, History};
use infrastructure::db;
use infrastructure::privacy::PersonalData;
use serde_json::Value;
use sqlx::PgPool;

use super::media::StreamReport;
use crate::voice::demo_agent;

/// How long the server may take to record the end of the AI session after the stream closed.
const SESSION_END_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for a session that may never have started (a refused stream).
const NO_SESSION_WAIT: Duration = Duration::from_secs(1);

/// The event store, read-only.
pub(super) struct EventLog {
    pool: PgPool,
    /// Opens personal data when `ENCRYPTION_KEY` is set (else the caller's data stays sealed).
    privacy: Option<PersonalData>,
}

impl EventLog {
    /// Connects to `url` (without migrating anything).
    pub(super) async fn connect(url: &str) -> anyhow::Result<Self> {
        let pool = db::connect(url).await?;
        Ok(Self {
            privacy: crate::privacy_cmd::personal_data(&pool).ok(),
            pool,
        })
    }

    /// What the store holds of `call_sid` (nothing when it cannot be read).
    pub(super) async fn facts(&self, call_sid: &str) -> Option<Facts> {
        let call_sid = CallSid::parse(call_sid).ok()?;
        match audit::call_history(&self.pool, self.privacy.as_ref(), &call_sid).await {
            Ok(history) => history.as_ref().map(Facts::of),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the simulated call's events");
                None
            }
        }
    }

    /// Waits (a little) until the AI session's outcome is recorded: its end, or the voicemail.
    pub(super) async fn outcome(&self, call_sid: &str) -> Option<Facts> {
        let started = Instant::now();
        loop {
            let facts = self.facts(call_sid).await;
            let waited = started.elapsed();
            let settled = facts.as_ref().is_some_and(|facts| {
                facts.ai_ended.is_some()
                    || facts.voicemail_after_ai
                    || (!facts.ai_started && waited >= NO_SESSION_WAIT)
            });
            if settled || waited >= SESSION_END_WAIT {
                return facts;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Closes the pool.
    pub(super) async fn close(self) {
        self.pool.close().await;
    }
}

/// A message the agent took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Message {
    pub caller_name: Option<String>,
    pub callback_number: Option<String>,
    pub text: String,
    pub urgency: String,
}

/// What the events of one call say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Facts {
    /// Every event type, in order.
    pub types: Vec<String>,
    /// Where the call was routed, in order: `owner`, `AI agent`, `voicemail`.
    pub route: Vec<&'static str>,
    /// An AI session started.
    pub ai_started: bool,
    /// Why it ended, once it did.
    pub ai_ended: Option<String>,
    /// The call went to voicemail after it went to the agent.
    pub voicemail_after_ai: bool,
    /// The built-in demo agent answered.
    pub demo_agent: bool,
    /// The messages taken.
    pub messages: Vec<Message>,
    /// The voicemail as Twilio transcribed it.
    pub voicemail_transcript: Option<String>,
}

impl Facts {
    /// Reads the facts off a call's history.
    pub(super) fn of(history: &History) -> Self {
        let mut facts = Self::default();
        let mut with_ai = false;
        for entry in &history.entries {
            let payload = entry
                .event
                .get(&entry.event_type)
                .cloned()
                .unwrap_or(Value::Null);
            let text = |field: &str| {
                payload
                    .get(field)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            match entry.event_type.as_str() {
                "CallRoutedToOwner" => facts.route.push("owner"),
                "CallRoutedToAi" => {
                    with_ai = true;
                    facts.route.push("AI agent");
                }
                "CallRoutedToVoicemail" => {
                    facts.voicemail_after_ai |= with_ai;
                    facts.route.push("voicemail");
                }
                "AiSessionStarted" => {
                    facts.ai_started = true;
                    facts.demo_agent |= text("model").as_deref() == Some(demo_agent::MODEL);
                }
                "TranscriptSegmentRecorded" => {
                    facts.demo_agent |= text("speaker").as_deref() == Some("agent")
                        && text("text").is_some_and(|t| t.contains("built-in demo agent"));
                }
                "MessageTaken" => facts.messages.push(Message {
                    caller_name: text("caller_name"),
                    callback_number: text("callback_number"),
                    text: text("message").unwrap_or_default(),
                    urgency: text("urgency").unwrap_or_default(),
                }),
                "AiSessionEnded" => facts.ai_ended = Some(text("reason").unwrap_or_default()),
                "VoicemailTranscribed" => facts.voicemail_transcript = text("text"),
                _ => {}
            }
            facts.types.push(entry.event_type.clone());
        }
        facts
    }
}

/// The summary's lines.
pub(super) fn lines(stream: Option<&StreamReport>, facts: Option<&Facts>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(facts) = facts {
        lines.push(format!("  route: {}", facts.route.join(" → ")));
    }
    if let Some(stream) = stream {
        let ended = if stream.closed_by_server {
            "the server closed the stream"
        } else {
            "the caller hung up"
        };
        lines.push(format!(
            "  media stream: {:.1} s of agent audio received, {} marks echoed, {} clears; {ended} after {:.1} s",
            stream.agent_audio.as_secs_f64(),
            stream.marks,
            stream.clears,
            stream.lasted.as_secs_f64()
        ));
    }
    let Some(facts) = facts else {
        lines.push(
            "  (set DATABASE_URL, as the server has it, to see the events recorded here)"
                .to_owned(),
        );
        return lines;
    };
    lines.push(format!(
        "  events recorded ({}): {}",
        facts.types.len(),
        grouped(&facts.types)
    ));
    if let Some(reason) = &facts.ai_ended {
        lines.push(format!("  AI session ended: {reason}"));
    }
    for message in &facts.messages {
        let from = [
            message.caller_name.clone(),
            message
                .callback_number
                .as_ref()
                .map(|number| format!("call back {number}")),
            Some(format!("urgency {}", message.urgency)),
        ];
        let from: Vec<String> = from.into_iter().flatten().collect();
        lines.push(format!(
            "  message taken: \"{}\" ({})",
            message.text,
            from.join(", ")
        ));
    }
    if let Some(transcript) = &facts.voicemail_transcript {
        lines.push(format!("  voicemail transcript: \"{transcript}\""));
    }
    if facts.ai_started && facts.messages.is_empty() {
        lines.push("  message taken: none".to_owned());
    }
    if facts.demo_agent {
        lines.push("  answered by the built-in demo agent (no OpenAI key configured)".to_owned());
    }
    lines
}

/// `A, B ×3, C`: runs of one type counted.
fn grouped(types: &[String]) -> String {
    let mut runs: Vec<(&str, usize)> = Vec::new();
    for kind in types {
        match runs.last_mut() {
            Some((last, count)) if *last == kind.as_str() => *count += 1,
            _ => runs.push((kind, 1)),
        }
    }
    runs.iter()
        .map(|(kind, count)| match count {
            1 => (*kind).to_owned(),
            n => format!("{kind} ×{n}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;

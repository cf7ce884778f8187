//! The OpenAI side of the bridge loop: what each server event does — the greeting, agent audio,
//! barge-in, transcripts, the agent's tools, errors.

use std::fmt::Display;

use domain::call::{CallCommand, Speaker};
use futures::{Sink, Stream};
use infrastructure::openai::realtime::{self, ErrorKind, ServerEvent};
use infrastructure::twilio::media;
use serde_json::json;
use tokio::time::Instant;

use super::{Bridge, Closing, Ending, Frame, Step};
use crate::voice::tools::{self, ToolCall, ToolError};

/// Longest reason recorded with the session's end (the domain allows 200 characters).
const REASON_MAX: usize = 180;

/// `reason`, cut to what the call's events accept.
pub(super) fn short(reason: &str) -> String {
    match reason.char_indices().nth(REASON_MAX) {
        Some((at, _)) => format!("{}…", &reason[..at]),
        None => reason.to_owned(),
    }
}

/// `conversation.item.create` with a system message telling the agent to end the call within
/// `seconds`.
pub(super) fn wrap_up_item(seconds: u64) -> String {
    let text = format!(
        "The call must end within {seconds} seconds. Wrap up now: if the caller wants something \
         passed on and you have not taken a message yet, take it; then say goodbye and call \
         end_call."
    );
    json!({
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": text}]
        }
    })
    .to_string()
}

impl<TI, TE, TO, OI, OE, OO> Bridge<TI, TO, OI, OO>
where
    TI: Stream<Item = Result<Frame, TE>> + Unpin,
    TE: Display,
    TO: Sink<String> + Unpin,
    TO::Error: Display,
    OI: Stream<Item = Result<Frame, OE>> + Unpin,
    OE: Display,
    OO: Sink<String> + Unpin,
    OO::Error: Display,
{
    pub(super) async fn on_openai(&mut self, event: Option<Result<Frame, OE>>) -> Step {
        let text = match event {
            None => return Err(Ending::voicemail("openai_closed", "openai socket closed")),
            Some(Err(err)) => {
                return Err(Ending::voicemail(
                    "openai_closed",
                    short(&format!("openai socket failed: {err}")),
                ))
            }
            Some(Ok(text)) => text,
        };
        let event = match realtime::parse_server_event(&text, self.plan.interface) {
            Ok(event) => event,
            Err(err) => {
                self.state.bad_events += 1;
                if self.state.bad_events == 1 {
                    tracing::warn!(parent: &self.span, error = %err, "skipping an unreadable OpenAI event");
                } else {
                    tracing::debug!(parent: &self.span, error = %err, "skipping an unreadable OpenAI event");
                }
                return Ok(());
            }
        };
        match event {
            ServerEvent::SessionUpdated if !self.state.greeted => {
                // The agent speaks first.
                self.state.greeted = true;
                self.request_response().await
            }
            ServerEvent::SpeechStarted { item_id, .. } => self.speech_started(item_id).await,
            ServerEvent::ResponseCreated { response_id } => {
                let responses = &mut self.state.responses;
                responses.active = Some(response_id.clone());
                responses.requested = false;
                if let Some(closing) = &mut self.state.closing {
                    closing.goodbye.get_or_insert(response_id);
                }
                Ok(())
            }
            ServerEvent::AudioDelta { item_id, delta, .. } => self.play(&item_id, &delta).await,
            ServerEvent::AgentTranscriptDone {
                item_id,
                transcript,
            } => {
                self.state.held_transcripts.push((item_id, transcript));
                self.release_transcripts(false);
                Ok(())
            }
            ServerEvent::CallerTranscriptDone {
                item_id,
                transcript,
            } => {
                let offset_ms = self.state.caller_speech.remove(&item_id);
                let text = transcript.trim();
                if !text.is_empty() {
                    self.journal.record(CallCommand::RecordTranscriptSegment {
                        speaker: Speaker::Caller,
                        text: text.to_owned(),
                        offset_ms: offset_ms.unwrap_or_else(|| self.elapsed_ms()),
                    });
                }
                Ok(())
            }
            ServerEvent::CallerTranscriptFailed { item_id } => {
                tracing::debug!(parent: &self.span, %item_id, "the caller's speech could not be transcribed");
                self.state.caller_speech.remove(&item_id);
                Ok(())
            }
            ServerEvent::OutputItemAdded {
                function_call: Some((call_id, name)),
                ..
            } => {
                self.state.function_names.insert(call_id, name);
                Ok(())
            }
            ServerEvent::FunctionCall {
                call_id,
                name,
                arguments,
            } => {
                let name = name.or_else(|| self.state.function_names.remove(&call_id));
                self.function_call(&call_id, name.as_deref(), &arguments)
                    .await
            }
            ServerEvent::AudioDone { .. } => self.mark_pause().await,
            ServerEvent::ResponseDone { response_id, .. } => {
                self.mark_pause().await?;
                self.response_done(&response_id).await
            }
            ServerEvent::Error {
                kind: ErrorKind::Fatal,
                code,
                message,
            } => {
                tracing::warn!(parent: &self.span, code = ?code, %message, "OpenAI ended the session with an error");
                let code = code.unwrap_or_else(|| "unknown".to_owned());
                Err(Ending::voicemail(
                    "openai_error",
                    short(&format!("openai error: {code}")),
                ))
            }
            ServerEvent::Error {
                kind: ErrorKind::Harmless,
                code,
                message,
            } => {
                tracing::info!(parent: &self.span, code = ?code, %message, "OpenAI refused one event; going on");
                if code.as_deref() == Some("conversation_already_has_active_response") {
                    // Our response.create lost a race with the server's own response.
                    let responses = &mut self.state.responses;
                    responses.requested = false;
                    responses.deferred = true;
                }
                Ok(())
            }
            ServerEvent::SessionCreated
            | ServerEvent::SessionUpdated
            | ServerEvent::SpeechStopped
            | ServerEvent::OutputItemAdded { .. }
            | ServerEvent::Other(_) => Ok(()),
        }
    }

    /// The caller started speaking: cut the agent off where the caller stopped hearing it.
    async fn speech_started(&mut self, item_id: String) -> Step {
        let offset_ms = self.elapsed_ms();
        self.state.caller_speech.insert(item_id, offset_ms);
        let Some(cut) = self.state.playback.barge_in() else {
            return Ok(());
        };
        tracing::debug!(parent: &self.span, item_id = %cut.item_id, audio_end_ms = cut.audio_end_ms, "barge-in");
        self.send_twilio(media::clear(&self.plan.stream_sid))
            .await?;
        self.send_openai(realtime::truncate(&cut.item_id, 0, cut.audio_end_ms))
            .await?;
        if self.plan.cancel_on_barge_in && self.state.responses.active.is_some() {
            self.send_openai(realtime::response_cancel()).await?;
        }
        self.release_transcripts(false);
        self.check_goodbye()
    }

    async fn response_done(&mut self, response_id: &str) -> Step {
        self.state.responses.active = None;
        if let Some(closing) = &mut self.state.closing {
            if closing.goodbye.as_deref() == Some(response_id) {
                closing.spoken = true;
            }
        }
        if std::mem::take(&mut self.state.responses.deferred) {
            self.request_response().await?;
        }
        self.check_goodbye()
    }

    /// Carries out a tool call and answers it; the agent then speaks the result.
    async fn function_call(&mut self, call_id: &str, name: Option<&str>, arguments: &str) -> Step {
        let call = match name {
            Some(name) => tools::parse(name, arguments),
            None => Err(ToolError::Unknown(String::new())),
        };
        let output = match call {
            Ok(ToolCall::TakeMessage {
                caller_name,
                callback_number,
                message,
                urgency,
            }) => {
                self.journal.record(CallCommand::TakeMessage {
                    caller_name,
                    callback_number,
                    message,
                    urgency,
                });
                tools::succeeded()
            }
            Ok(ToolCall::EndCall) => {
                self.start_closing(Ending::HangUp);
                tools::succeeded()
            }
            Ok(ToolCall::TransferToOwner) if !self.plan.can_transfer => tools::failed(
                &ToolError::Unavailable("the owner has no phone to transfer to"),
            ),
            Ok(ToolCall::TransferToOwner) => {
                self.start_closing(Ending::Transfer);
                tools::succeeded()
            }
            Err(err) => {
                tracing::info!(parent: &self.span, error = %err, "the agent called a tool wrongly");
                tools::failed(&err)
            }
        };
        self.send_openai(realtime::function_call_output(call_id, &output))
            .await?;
        self.request_response().await
    }

    /// After `end_call` or `transfer_to_owner`: the next response is the goodbye.
    fn start_closing(&mut self, ending: Ending) {
        if self.state.closing.is_some() {
            return;
        }
        tracing::info!(parent: &self.span, ?ending, "the agent is closing the call");
        self.state.closing = Some(Closing {
            ending,
            deadline: Instant::now() + self.plan.limits.goodbye_timeout,
            goodbye: None,
            spoken: false,
        });
    }
}

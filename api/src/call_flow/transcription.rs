//! `POST /twilio/voice/transcription`: Twilio's transcription of a voicemail
//! (`<Record transcribe="true" transcribeCallback=…>`), usually posted after the call ended.
//!
//! Kept beside the other callbacks' handling but in a file of its own: it only records a fact
//! on the call, as the recording callback does — same bounded wait for the event store, same
//! empty answer whatever came of it (Twilio wants no TwiML here and would only retry).

use domain::call::CallCommand;

use super::{CallFlow, Webhook};
use crate::twilio::WebhookError;

/// The domain's limit on a transcription's length, in characters; a longer one is cut rather
/// than lost (Twilio transcribes at most two minutes of speech, so it never should be).
const TEXT_MAX: usize = 10_000;

impl CallFlow {
    /// Records the voicemail's transcription (`TranscriptionStatus=completed`) or that Twilio
    /// could not make one (`failed`). Without a well-formed `CallSid`, `TranscriptionSid` or
    /// `RecordingSid` the request is refused (400); a call we never recorded, or one that
    /// never went to voicemail, records nothing, and Twilio gets its 204 all the same.
    pub async fn transcription(&self, hook: &Webhook<'_>) -> Result<(), WebhookError> {
        let call_sid = hook.call_sid()?;
        let (Some(transcription_sid), Some(recording_sid)) = (
            hook.params.get("TranscriptionSid"),
            hook.params.get("RecordingSid"),
        ) else {
            return Err(WebhookError::MissingParameter(
                "TranscriptionSid and RecordingSid are required",
            ));
        };
        let command = match hook.params.get("TranscriptionStatus") {
            Some("completed") => CallCommand::RecordVoicemailTranscription {
                transcription_sid: transcription_sid.to_owned(),
                recording_sid: recording_sid.to_owned(),
                text: hook
                    .params
                    .get("TranscriptionText")
                    .unwrap_or_default()
                    .chars()
                    .take(TEXT_MAX)
                    .collect(),
            },
            Some("failed") => CallCommand::RecordVoicemailTranscriptionFailure {
                transcription_sid: transcription_sid.to_owned(),
                recording_sid: recording_sid.to_owned(),
            },
            other => {
                tracing::warn!(call_sid = %call_sid, status = ?other, "transcription callback with an unknown TranscriptionStatus");
                return Ok(());
            }
        };
        if let Err(trouble) = self.bounded(self.execute(&call_sid, command, hook)).await {
            tracing::error!(call_sid = %call_sid, error = %trouble, "voicemail transcription not recorded");
        }
        Ok(())
    }
}

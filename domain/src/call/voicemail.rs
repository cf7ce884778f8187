//! Voicemail transcriptions. Twilio transcribes a `<Record transcribe="true">` voicemail on its
//! own time — usually after the call ended — and may post the result more than once, so the
//! rule is kept apart from the routing rules of `aggregate.rs`: a fact about the past, accepted
//! whenever it comes, once per transcription sid.

use super::aggregate::TEXT_MAX;
use super::{Call, CallError, CallEvent};
use crate::values::bounded_text;

/// Twilio's sids are 34 characters; a little room for other formats.
const SID_MAX: usize = 64;

impl Call {
    /// `RecordVoicemailTranscription` (with `text`) and `RecordVoicemailTranscriptionFailure`
    /// (without): only for a call that went to voicemail; a transcription already recorded
    /// (done or failed) appends nothing; blank text is a failed transcription.
    pub(super) fn transcribe_voicemail(
        &self,
        transcription_sid: &str,
        recording_sid: &str,
        text: Option<&str>,
    ) -> Result<Vec<CallEvent>, CallError> {
        self.require_received()?;
        if !self.routed_to_voicemail {
            return Err(CallError::NotRoutedToVoicemail);
        }
        let transcription_sid = bounded_text("transcription_sid", transcription_sid, SID_MAX)?;
        if self.voicemail_transcriptions.contains(&transcription_sid) {
            return Ok(vec![]);
        }
        let recording_sid = bounded_text("recording_sid", recording_sid, SID_MAX)?;
        let event = match text.filter(|text| !text.trim().is_empty()) {
            Some(text) => CallEvent::VoicemailTranscribed {
                transcription_sid,
                recording_sid,
                text: bounded_text("text", text, TEXT_MAX)?,
            },
            None => CallEvent::VoicemailTranscriptionFailed {
                transcription_sid,
                recording_sid,
            },
        };
        Ok(vec![event])
    }
}

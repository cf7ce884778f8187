//! The transcription Twilio posts some time after a voicemail was recorded
//! (`<Record transcribe="true" transcribeCallback=…>`): the simulator sends one with a made-up
//! text once the call is over, as Twilio usually does, so the voicemail's transcription — and
//! the summary made of it — can be watched end to end.

use super::random_sid;

/// What the simulated caller "said" in the voicemail.
pub(super) const TEXT: &str = "Hi, this is a simulated caller. I'd like to book a visit \
    next week, please call me back on this number. Thanks!";

/// Twilio's transcription parameters (besides the call's own) for the recording `recording_sid`
/// at `recording_url` of account `account_sid`.
pub(super) fn params(
    account_sid: &str,
    recording_sid: &str,
    recording_url: &str,
) -> Vec<(String, String)> {
    let transcription_sid = random_sid("TR");
    let transcription_url = format!(
        "https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Transcriptions/{transcription_sid}"
    );
    [
        ("CallStatus", "completed"),
        ("TranscriptionSid", transcription_sid.as_str()),
        ("TranscriptionText", TEXT),
        ("TranscriptionStatus", "completed"),
        ("TranscriptionUrl", transcription_url.as_str()),
        ("RecordingSid", recording_sid),
        ("RecordingUrl", recording_url),
    ]
    .iter()
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect()
}

-- Read model `calls` (projections/src/calls), version 2: the voicemail's transcription.
--
-- Twilio transcribes a voicemail (`<Record transcribe="true">`) and posts the text to
-- `/twilio/voice/transcription`; the call records it as `VoicemailTranscribed`. The call page
-- shows it beside the voicemail's recording. Null while none arrived, and when Twilio could not
-- transcribe the message (`VoicemailTranscriptionFailed`, shown in the timeline only).
-- The projection's version went from 1 to 2, so it rebuilds at start and fills the column for
-- calls recorded before it existed.
ALTER TABLE rm_calls.calls ADD COLUMN voicemail_transcript text;

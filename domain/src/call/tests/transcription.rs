//! `RecordVoicemailTranscription` and `RecordVoicemailTranscriptionFailure`: Twilio's
//! transcription of a voicemail, which usually arrives after the call ended and may come twice.

use super::*;

const TRANSCRIPTION: &str = "TR0123456789abcdef0123456789abcdef";
const RECORDING: &str = "RE0123456789abcdef0123456789abcdef";

fn transcribe(text: &str) -> CallCommand {
    CallCommand::RecordVoicemailTranscription {
        transcription_sid: TRANSCRIPTION.into(),
        recording_sid: RECORDING.into(),
        text: text.into(),
    }
}

fn transcription_failed() -> CallCommand {
    CallCommand::RecordVoicemailTranscriptionFailure {
        transcription_sid: TRANSCRIPTION.into(),
        recording_sid: RECORDING.into(),
    }
}

fn transcribed(text: &str) -> CallEvent {
    CallEvent::VoicemailTranscribed {
        transcription_sid: TRANSCRIPTION.into(),
        recording_sid: RECORDING.into(),
        text: text.into(),
    }
}

fn failed() -> CallEvent {
    CallEvent::VoicemailTranscriptionFailed {
        transcription_sid: TRANSCRIPTION.into(),
        recording_sid: RECORDING.into(),
    }
}

fn voicemail_left() -> Vec<CallEvent> {
    let mut events = in_voicemail();
    events.push(CallEvent::VoicemailRecorded {
        recording_url: format!("https://api.twilio.com/Recordings/{RECORDING}"),
        duration_secs: 17,
    });
    events
}

#[test]
fn it_should_record_the_transcription_of_a_voicemail() {
    given(voicemail_left())
        .when(transcribe(
            "Hi, this is Ann. My sink leaks, please call back.",
        ))
        .then_expect_events(vec![transcribed(
            "Hi, this is Ann. My sink leaks, please call back.",
        )]);
}

#[test]
fn it_should_accept_a_transcription_that_arrives_after_the_call_ended() {
    given(voicemail_left())
        .and(vec![ended(FinalStatus::Completed)])
        .when(transcribe("Call me back."))
        .then_expect_events(vec![transcribed("Call me back.")]);
}

#[test]
fn it_should_record_a_failed_transcription() {
    given(voicemail_left())
        .and(vec![ended(FinalStatus::Completed)])
        .when(transcription_failed())
        .then_expect_events(vec![failed()]);
}

#[test]
fn it_should_count_a_blank_transcription_as_failed() {
    given(voicemail_left())
        .when(transcribe(" \n\t "))
        .then_expect_events(vec![failed()]);
}

#[test]
fn it_should_keep_the_words_without_the_surrounding_blanks() {
    given(voicemail_left())
        .when(transcribe("  Call me back.\n"))
        .then_expect_events(vec![transcribed("Call me back.")]);
}

#[test]
fn it_should_record_nothing_for_a_repeated_transcription() {
    given(voicemail_left())
        .and(vec![transcribed("Call me back.")])
        .when(transcribe("Call me back."))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_record_nothing_when_a_transcription_already_recorded_is_reported_as_failed() {
    given(voicemail_left())
        .and(vec![transcribed("Call me back.")])
        .when(transcription_failed())
        .then_expect_events(vec![]);
}

#[test]
fn it_should_record_nothing_for_a_repeated_failure() {
    given(voicemail_left())
        .and(vec![failed()])
        .when(transcription_failed())
        .then_expect_events(vec![]);
}

#[test]
fn it_should_record_another_transcription_of_the_same_call() {
    given(voicemail_left())
        .and(vec![failed()])
        .when(CallCommand::RecordVoicemailTranscription {
            transcription_sid: "TRffffffffffffffffffffffffffffffff".into(),
            recording_sid: RECORDING.into(),
            text: "Call me back.".into(),
        })
        .then_expect_events(vec![CallEvent::VoicemailTranscribed {
            transcription_sid: "TRffffffffffffffffffffffffffffffff".into(),
            recording_sid: RECORDING.into(),
            text: "Call me back.".into(),
        }]);
}

#[test]
fn it_should_accept_a_transcription_before_the_voicemail_itself_is_recorded() {
    given(in_voicemail())
        .when(transcribe("Call me back."))
        .then_expect_events(vec![transcribed("Call me back.")]);
}

#[test]
fn it_should_reject_a_transcription_for_a_call_that_never_went_to_voicemail() {
    given(with_ai_agent())
        .when(transcribe("Call me back."))
        .then_expect_error(CallError::NotRoutedToVoicemail);
}

#[test]
fn it_should_reject_a_failed_transcription_for_a_call_that_never_went_to_voicemail() {
    given(with_ai_agent())
        .and(vec![ended(FinalStatus::Completed)])
        .when(transcription_failed())
        .then_expect_error(CallError::NotRoutedToVoicemail);
}

#[test]
fn it_should_reject_a_transcription_for_an_unknown_call() {
    given_nothing()
        .when(transcribe("Call me back."))
        .then_expect_error(CallError::NotFound);
}

#[test]
fn it_should_reject_a_transcription_without_a_sid() {
    given(voicemail_left())
        .when(CallCommand::RecordVoicemailTranscription {
            transcription_sid: " ".into(),
            recording_sid: RECORDING.into(),
            text: "Call me back.".into(),
        })
        .then_expect_error(CallError::Invalid(ValueError::BadText {
            field: "transcription_sid",
            max: 64,
        }));
}

#[test]
fn it_should_reject_a_transcription_longer_than_the_limit() {
    given(voicemail_left())
        .when(transcribe(&"a".repeat(10_001)))
        .then_expect_error(CallError::Invalid(ValueError::BadText {
            field: "text",
            max: 10_000,
        }));
}

#[test]
fn it_should_remember_which_transcriptions_it_recorded() {
    let mut events = voicemail_left();
    events.push(failed());

    let call = state_after(events);

    assert_eq!(
        call.voicemail_transcriptions,
        vec![TRANSCRIPTION.to_owned()]
    );
}

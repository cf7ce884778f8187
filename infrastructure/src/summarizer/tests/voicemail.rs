//! Voicemails: a transcription makes a call worth summarising, and OpenAI reads it as the
//! caller's own words.

use super::*;

/// A call that went to voicemail, was left a message and ended, before its transcription.
fn voicemail_call() -> Vec<CallEvent> {
    vec![
        received(),
        CallEvent::CallRoutedToVoicemail {
            why: RouteReason::OwnerUnavailable,
        },
        CallEvent::VoicemailRecorded {
            recording_url: "https://api.twilio.com/Recordings/RE1".into(),
            duration_secs: 9,
        },
        CallEvent::CallEnded {
            status: FinalStatus::Completed,
            duration_secs: Some(21),
        },
    ]
}

fn voicemail_transcribed(text: &str) -> CallEvent {
    CallEvent::VoicemailTranscribed {
        transcription_sid: "TR1".into(),
        recording_sid: "RE1".into(),
        text: text.into(),
    }
}

#[test]
fn it_should_queue_work_on_a_voicemail_transcription_that_arrives_after_the_end() {
    let batch = [
        recorded("Call", "CA1", "VoicemailTranscriptionFailed", 1),
        recorded("Call", "CA2", "VoicemailTranscribed", 2),
        recorded("Call", "CA2", "CallSummarized", 3),
    ];

    let (sids, positions) = candidates(&batch);

    assert_eq!(sids, vec!["CA2".to_owned()]);
    assert_eq!(positions, vec![2]);
}

#[test]
fn it_should_want_a_summary_for_an_ended_call_with_a_transcribed_voicemail_only() {
    let mut transcribed = voicemail_call();
    transcribed.push(voicemail_transcribed("Hi, it's Ann. Please call me back."));
    let mut failed = voicemail_call();
    failed.push(CallEvent::VoicemailTranscriptionFailed {
        transcription_sid: "TR1".into(),
        recording_sid: "RE1".into(),
    });
    let mut before_the_end = voicemail_call();
    before_the_end.pop();
    before_the_end.push(voicemail_transcribed("Call me back."));

    assert!(facts(transcribed).wants_summary());
    assert!(!facts(voicemail_call()).wants_summary(), "no transcription");
    assert!(!facts(failed).wants_summary(), "nothing to summarise");
    assert!(!facts(before_the_end).wants_summary(), "not ended");
}

#[test]
fn it_should_give_openai_the_voicemail_as_the_callers_words() {
    let mut events = voicemail_call();
    events.push(voicemail_transcribed(
        " Hi, it's Ann Baker. My kitchen sink leaks, please call me back today. ",
    ));

    let text = facts(events).render("Joe's Plumbing");

    assert_eq!(
        text,
        "Business: Joe's Plumbing\n\
         Caller's number: +12125550199\n\
         Call length: 00:21\n\
         The caller left a voicemail (nobody spoke with them); the message below is their own \
         words, transcribed.\n\
         \n\
         Voicemail (the caller's words):\n\
         Caller: Hi, it's Ann Baker. My kitchen sink leaks, please call me back today.\n"
    );
}

#[test]
fn it_should_give_openai_both_the_conversation_and_the_voicemail_left_after_it() {
    let mut events = ai_call();
    events.extend([
        session_ended(),
        CallEvent::CallRoutedToVoicemail {
            why: RouteReason::AgentFailed,
        },
        ended(),
        voicemail_transcribed("It's Ann again, the line dropped."),
    ]);

    let text = facts(events).render("Joe's Plumbing");

    assert!(text.contains("After talking with the receptionist, the caller also left a voicemail"));
    let conversation = text
        .find("[00:02] Caller: My sink leaks. I'm Ann.")
        .unwrap();
    let voicemail = text
        .find("Caller: It's Ann again, the line dropped.")
        .unwrap();
    assert!(conversation < voicemail, "{text}");
}

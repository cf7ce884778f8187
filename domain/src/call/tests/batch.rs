//! `Batch`: what the voice bridge queued up, decided in order and appended together.

use super::*;

fn segment(speaker: Speaker, text: &str, offset_ms: u64) -> CallCommand {
    CallCommand::RecordTranscriptSegment {
        speaker,
        text: text.into(),
        offset_ms,
    }
}

fn segment_recorded(speaker: Speaker, text: &str, offset_ms: u64) -> CallEvent {
    CallEvent::TranscriptSegmentRecorded {
        speaker,
        text: text.into(),
        offset_ms,
    }
}

#[test]
fn it_should_decide_each_command_of_a_batch_on_the_state_the_previous_ones_left() {
    given(with_ai_agent())
        .when(CallCommand::Batch(vec![
            CallCommand::StartAiSession {
                model: "gpt-realtime".into(),
                voice: "marin".into(),
            },
            segment(Speaker::Agent, "Hello, Joe's Plumbing.", 300),
            segment(Speaker::Caller, "My sink leaks.", 2_100),
            CallCommand::EndAiSession {
                reason: "caller hung up".into(),
            },
        ]))
        .then_expect_events(vec![
            ai_session_started(),
            segment_recorded(Speaker::Agent, "Hello, Joe's Plumbing.", 300),
            segment_recorded(Speaker::Caller, "My sink leaks.", 2_100),
            ai_session_ended(),
        ]);
}

#[test]
fn it_should_refuse_the_whole_batch_when_one_command_is_refused() {
    given(ai_session_running())
        .when(CallCommand::Batch(vec![
            segment(Speaker::Caller, "Hello?", 100),
            CallCommand::StartAiSession {
                model: "gpt-realtime".into(),
                voice: "marin".into(),
            },
        ]))
        .then_expect_error(CallError::AiSessionAlreadyStarted);
}

#[test]
fn it_should_refuse_a_batch_whose_later_command_depends_on_an_earlier_refusal() {
    given(with_ai_agent())
        .when(CallCommand::Batch(vec![
            CallCommand::EndAiSession {
                reason: "caller hung up".into(),
            },
            segment(Speaker::Caller, "Hello?", 100),
        ]))
        .then_expect_error(CallError::NoAiSession);
}

#[test]
fn it_should_record_nothing_for_an_empty_batch() {
    given(ai_session_running())
        .when(CallCommand::Batch(vec![]))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_end_the_session_and_send_the_call_to_voicemail_in_one_batch() {
    given(ai_session_running())
        .when(CallCommand::Batch(vec![
            CallCommand::EndAiSession {
                reason: "openai socket closed".into(),
            },
            CallCommand::RouteToVoicemail {
                why: RouteReason::AgentFailed,
            },
        ]))
        .then_expect_events(vec![
            CallEvent::AiSessionEnded {
                reason: "openai socket closed".into(),
            },
            routed_to_voicemail(RouteReason::AgentFailed),
        ]);
}

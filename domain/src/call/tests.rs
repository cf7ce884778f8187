use super::*;

use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use cqrs_es::Aggregate;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::routing::{Route, RouteReason};
use crate::values::{BusinessId, CallSid, CallerId, Money, RingTimeout, ValueError, E164};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn given(events: Vec<CallEvent>) -> AggregateTestExecutor<Call> {
    TestFramework::<Call>::with(()).given(events)
}

fn given_nothing() -> AggregateTestExecutor<Call> {
    TestFramework::<Call>::with(()).given_no_previous_events()
}

fn sid() -> CallSid {
    CallSid::parse("CA0123456789abcdef0123456789abcdef").expect("fixture sid is well formed")
}

fn business_id() -> BusinessId {
    BusinessId(Uuid::from_u128(0xB05))
}

fn owner_phone() -> E164 {
    E164::parse("+14155550123").expect("fixture phone is E.164")
}

fn caller() -> CallerId {
    CallerId::Number(E164::parse("+12125550199").expect("fixture phone is E.164"))
}

fn incoming_call() -> IncomingCall {
    IncomingCall {
        call_sid: sid(),
        from: caller(),
        to: "+14155550100".into(),
        business_id: Some(business_id()),
    }
}

fn received() -> CallEvent {
    CallEvent::CallReceived {
        call_sid: sid(),
        from: caller(),
        to: "+14155550100".into(),
        business_id: Some(business_id()),
    }
}

fn owner_route() -> Route {
    Route::Owner {
        owner_phone: owner_phone(),
        ring_timeout: RingTimeout::default(),
    }
}

fn routed_to_owner() -> CallEvent {
    CallEvent::CallRoutedToOwner {
        owner_phone: owner_phone(),
        ring_timeout: RingTimeout::default(),
    }
}

fn owner_answered() -> CallEvent {
    CallEvent::OwnerAnswered {
        dial_call_sid: Some("CAffffffffffffffffffffffffffffffff".into()),
    }
}

fn owner_missed() -> CallEvent {
    CallEvent::OwnerMissed {
        reason: MissReason::NoAnswer,
    }
}

fn routed_to_ai(why: RouteReason) -> CallEvent {
    CallEvent::CallRoutedToAi { why }
}

fn routed_to_voicemail(why: RouteReason) -> CallEvent {
    CallEvent::CallRoutedToVoicemail { why }
}

fn ai_session_started() -> CallEvent {
    CallEvent::AiSessionStarted {
        model: "gpt-realtime".into(),
        voice: "marin".into(),
    }
}

fn ai_session_ended() -> CallEvent {
    CallEvent::AiSessionEnded {
        reason: "caller hung up".into(),
    }
}

fn ended(status: FinalStatus) -> CallEvent {
    CallEvent::CallEnded {
        status,
        duration_secs: Some(42),
    }
}

fn recording(recording_sid: &str) -> CallEvent {
    CallEvent::RecordingAvailable {
        recording_sid: recording_sid.into(),
        recording_url: format!("https://api.twilio.com/Recordings/{recording_sid}"),
        duration_secs: 42,
    }
}

fn attach_recording(recording_sid: &str) -> CallCommand {
    CallCommand::AttachRecording {
        recording_sid: recording_sid.into(),
        recording_url: format!("https://api.twilio.com/Recordings/{recording_sid}"),
        duration_secs: 42,
    }
}

fn usd(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2), "USD").expect("fixture currency is valid")
}

/// Received and the owner's phone is ringing.
fn ringing_owner() -> Vec<CallEvent> {
    vec![received(), routed_to_owner()]
}

/// The owner missed it; waiting for the fallback route.
fn owner_missed_call() -> Vec<CallEvent> {
    vec![received(), routed_to_owner(), owner_missed()]
}

/// The owner missed it and the AI agent has it.
fn with_ai_agent() -> Vec<CallEvent> {
    vec![
        received(),
        routed_to_owner(),
        owner_missed(),
        routed_to_ai(RouteReason::OwnerMissed),
    ]
}

/// The AI agent has it and its session is open.
fn ai_session_running() -> Vec<CallEvent> {
    let mut events = with_ai_agent();
    events.push(ai_session_started());
    events
}

/// Outside business hours without an agent: straight to voicemail.
fn in_voicemail() -> Vec<CallEvent> {
    vec![
        received(),
        routed_to_voicemail(RouteReason::OutsideBusinessHours),
    ]
}

/// Turned away because the number is unknown.
fn rejected_call() -> Vec<CallEvent> {
    vec![
        received(),
        CallEvent::CallRejected {
            reason: RejectReason::UnknownNumber,
        },
    ]
}

fn state_after(events: impl IntoIterator<Item = CallEvent>) -> Call {
    let mut call = Call::default();
    for event in events {
        call.apply(event);
    }
    call
}

/// Every ordering of `items` (Heap's algorithm).
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    fn heap<T: Clone>(k: usize, items: &mut Vec<T>, out: &mut Vec<Vec<T>>) {
        if k <= 1 {
            out.push(items.clone());
            return;
        }
        for i in 0..k - 1 {
            heap(k - 1, items, out);
            if k.is_multiple_of(2) {
                items.swap(i, k - 1);
            } else {
                items.swap(0, k - 1);
            }
        }
        heap(k - 1, items, out);
    }
    let mut items = items.to_vec();
    let mut out = Vec::new();
    heap(items.len(), &mut items, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Receive
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_receive_a_call_and_ring_the_owner() {
    given_nothing()
        .when(CallCommand::Receive {
            call: incoming_call(),
            route: owner_route(),
        })
        .then_expect_events(vec![received(), routed_to_owner()]);
}

#[test]
fn it_should_receive_a_call_and_hand_it_to_the_ai_agent() {
    given_nothing()
        .when(CallCommand::Receive {
            call: incoming_call(),
            route: Route::AiAgent {
                why: RouteReason::OutsideBusinessHours,
            },
        })
        .then_expect_events(vec![
            received(),
            routed_to_ai(RouteReason::OutsideBusinessHours),
        ]);
}

#[test]
fn it_should_receive_a_call_and_send_it_to_voicemail() {
    given_nothing()
        .when(CallCommand::Receive {
            call: incoming_call(),
            route: Route::Voicemail {
                why: RouteReason::OwnerUnavailable,
            },
        })
        .then_expect_events(vec![
            received(),
            routed_to_voicemail(RouteReason::OwnerUnavailable),
        ]);
}

#[test]
fn it_should_record_nothing_for_a_retried_receive_with_the_same_facts() {
    given(ringing_owner())
        .when(CallCommand::Receive {
            call: incoming_call(),
            route: owner_route(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn it_should_record_nothing_for_a_retried_receive_after_the_call_moved_on() {
    given(with_ai_agent())
        .and(vec![ended(FinalStatus::Completed)])
        .when(CallCommand::Receive {
            call: incoming_call(),
            route: owner_route(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn it_should_reject_receiving_the_call_again_with_other_facts() {
    let other_facts = [
        IncomingCall {
            from: CallerId::Withheld,
            ..incoming_call()
        },
        IncomingCall {
            to: "+14155550101".into(),
            ..incoming_call()
        },
        IncomingCall {
            business_id: None,
            ..incoming_call()
        },
        IncomingCall {
            business_id: Some(BusinessId(Uuid::from_u128(0xB06))),
            ..incoming_call()
        },
    ];

    for call in other_facts {
        given(ringing_owner())
            .when(CallCommand::Receive {
                call,
                route: owner_route(),
            })
            .then_expect_error(CallError::AlreadyReceived);
    }
}

#[test]
fn it_should_reject_receiving_a_call_that_was_turned_away() {
    given(rejected_call())
        .when(CallCommand::Receive {
            call: incoming_call(),
            route: owner_route(),
        })
        .then_expect_error(CallError::AlreadyReceived);
}

// ---------------------------------------------------------------------------------------------
// Reject
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_record_a_call_turned_away() {
    given_nothing()
        .when(CallCommand::Reject {
            call: incoming_call(),
            reason: RejectReason::UnknownNumber,
        })
        .then_expect_events(rejected_call());
}

#[test]
fn it_should_record_nothing_for_a_retried_reject_with_the_same_reason() {
    given(rejected_call())
        .when(CallCommand::Reject {
            call: incoming_call(),
            reason: RejectReason::UnknownNumber,
        })
        .then_expect_events(vec![]);
}

#[test]
fn it_should_reject_a_retried_reject_with_another_reason() {
    given(rejected_call())
        .when(CallCommand::Reject {
            call: incoming_call(),
            reason: RejectReason::BusinessInactive,
        })
        .then_expect_error(CallError::AlreadyReceived);
}

#[test]
fn it_should_reject_turning_away_a_call_that_was_routed() {
    given(ringing_owner())
        .when(CallCommand::Reject {
            call: incoming_call(),
            reason: RejectReason::NumberSuspended,
        })
        .then_expect_error(CallError::AlreadyReceived);
}

// ---------------------------------------------------------------------------------------------
// RecordOwnerAnswered
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_record_that_the_owner_answered_a_ringing_call() {
    given(ringing_owner())
        .when(CallCommand::RecordOwnerAnswered {
            dial_call_sid: Some("CAffffffffffffffffffffffffffffffff".into()),
        })
        .then_expect_events(vec![owner_answered()]);
}

#[test]
fn it_should_reject_a_second_owner_answered_for_one_call() {
    given(ringing_owner())
        .and(vec![owner_answered()])
        .when(CallCommand::RecordOwnerAnswered {
            dial_call_sid: None,
        })
        .then_expect_error(CallError::OwnerAlreadyAnswered);
}

#[test]
fn it_should_reject_owner_answered_after_the_owner_missed_the_call() {
    given(owner_missed_call())
        .when(CallCommand::RecordOwnerAnswered {
            dial_call_sid: None,
        })
        .then_expect_error(CallError::OwnerOutcomeKnown);
}

#[test]
fn it_should_reject_owner_answered_when_the_owner_was_never_rung() {
    given(in_voicemail())
        .when(CallCommand::RecordOwnerAnswered {
            dial_call_sid: None,
        })
        .then_expect_error(CallError::OwnerNotRinging);
}

#[test]
fn it_should_reject_owner_answered_for_an_unknown_call() {
    given_nothing()
        .when(CallCommand::RecordOwnerAnswered {
            dial_call_sid: None,
        })
        .then_expect_error(CallError::NotFound);
}

#[test]
fn it_should_accept_the_owner_answering_a_transfer_from_the_agent() {
    given(with_ai_agent())
        .and(vec![routed_to_owner()])
        .when(CallCommand::RecordOwnerAnswered {
            dial_call_sid: None,
        })
        .then_expect_events(vec![CallEvent::OwnerAnswered {
            dial_call_sid: None,
        }]);
}

// ---------------------------------------------------------------------------------------------
// RecordOwnerMissed
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_record_that_the_owner_missed_a_ringing_call() {
    given(ringing_owner())
        .when(CallCommand::RecordOwnerMissed {
            reason: MissReason::Busy,
        })
        .then_expect_events(vec![CallEvent::OwnerMissed {
            reason: MissReason::Busy,
        }]);
}

#[test]
fn it_should_reject_owner_missed_after_the_owner_answered() {
    given(ringing_owner())
        .and(vec![owner_answered()])
        .when(CallCommand::RecordOwnerMissed {
            reason: MissReason::NoAnswer,
        })
        .then_expect_error(CallError::OwnerAlreadyAnswered);
}

#[test]
fn it_should_reject_a_second_owner_missed_for_one_ring() {
    given(owner_missed_call())
        .when(CallCommand::RecordOwnerMissed {
            reason: MissReason::NoAnswer,
        })
        .then_expect_error(CallError::OwnerOutcomeKnown);
}

#[test]
fn it_should_reject_owner_missed_when_the_owner_was_never_rung() {
    given(in_voicemail())
        .when(CallCommand::RecordOwnerMissed {
            reason: MissReason::NoAnswer,
        })
        .then_expect_error(CallError::OwnerNotRinging);
}

#[test]
fn it_should_reject_owner_missed_for_a_call_turned_away() {
    given(rejected_call())
        .when(CallCommand::RecordOwnerMissed {
            reason: MissReason::NoAnswer,
        })
        .then_expect_error(CallError::OwnerNotRinging);
}

// ---------------------------------------------------------------------------------------------
// RouteToAi
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_hand_a_missed_call_to_the_ai_agent() {
    given(owner_missed_call())
        .when(CallCommand::RouteToAi {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_events(vec![routed_to_ai(RouteReason::OwnerMissed)]);
}

#[test]
fn it_should_reject_routing_an_ended_call_to_the_ai_agent() {
    given(owner_missed_call())
        .and(vec![ended(FinalStatus::Completed)])
        .when(CallCommand::RouteToAi {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_error(CallError::Ended);
}

#[test]
fn it_should_reject_routing_to_the_ai_agent_while_the_owner_phone_rings() {
    given(ringing_owner())
        .when(CallCommand::RouteToAi {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_error(CallError::NotAwaitingRoute);
}

#[test]
fn it_should_reject_routing_to_the_ai_agent_a_call_the_owner_took() {
    given(ringing_owner())
        .and(vec![owner_answered()])
        .when(CallCommand::RouteToAi {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_error(CallError::NotAwaitingRoute);
}

#[test]
fn it_should_reject_routing_to_the_ai_agent_twice() {
    given(with_ai_agent())
        .when(CallCommand::RouteToAi {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_error(CallError::NotAwaitingRoute);
}

#[test]
fn it_should_reject_routing_a_call_turned_away() {
    given(rejected_call())
        .when(CallCommand::RouteToAi {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_error(CallError::Rejected);
}

#[test]
fn it_should_reject_routing_an_unknown_call() {
    given_nothing()
        .when(CallCommand::RouteToAi {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_error(CallError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// RouteToVoicemail
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_send_a_missed_call_to_voicemail() {
    given(owner_missed_call())
        .when(CallCommand::RouteToVoicemail {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_events(vec![routed_to_voicemail(RouteReason::OwnerMissed)]);
}

#[test]
fn it_should_send_a_call_to_voicemail_when_the_agent_fails() {
    given(ai_session_running())
        .when(CallCommand::RouteToVoicemail {
            why: RouteReason::AgentFailed,
        })
        .then_expect_events(vec![routed_to_voicemail(RouteReason::AgentFailed)]);
}

#[test]
fn it_should_reject_voicemail_while_the_owner_phone_rings() {
    given(ringing_owner())
        .when(CallCommand::RouteToVoicemail {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_error(CallError::NotAwaitingRoute);
}

#[test]
fn it_should_reject_voicemail_for_a_call_already_in_voicemail() {
    given(in_voicemail())
        .when(CallCommand::RouteToVoicemail {
            why: RouteReason::OutsideBusinessHours,
        })
        .then_expect_error(CallError::NotAwaitingRoute);
}

#[test]
fn it_should_reject_voicemail_for_an_ended_call() {
    given(ai_session_running())
        .and(vec![ended(FinalStatus::Completed)])
        .when(CallCommand::RouteToVoicemail {
            why: RouteReason::AgentFailed,
        })
        .then_expect_error(CallError::Ended);
}

#[test]
fn it_should_reject_voicemail_for_a_call_turned_away() {
    given(rejected_call())
        .when(CallCommand::RouteToVoicemail {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_error(CallError::Rejected);
}

// ---------------------------------------------------------------------------------------------
// TransferToOwner
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_let_the_agent_transfer_the_caller_to_the_owner() {
    let ring_timeout = RingTimeout::from_secs(30).expect("in range");

    given(ai_session_running())
        .when(CallCommand::TransferToOwner {
            owner_phone: owner_phone(),
            ring_timeout,
        })
        .then_expect_events(vec![CallEvent::CallRoutedToOwner {
            owner_phone: owner_phone(),
            ring_timeout,
        }]);
}

#[test]
fn it_should_reject_a_transfer_when_the_agent_does_not_have_the_call() {
    given(owner_missed_call())
        .when(CallCommand::TransferToOwner {
            owner_phone: owner_phone(),
            ring_timeout: RingTimeout::default(),
        })
        .then_expect_error(CallError::NotWithAgent);
}

#[test]
fn it_should_reject_a_transfer_of_an_ended_call() {
    given(ai_session_running())
        .and(vec![ended(FinalStatus::Completed)])
        .when(CallCommand::TransferToOwner {
            owner_phone: owner_phone(),
            ring_timeout: RingTimeout::default(),
        })
        .then_expect_error(CallError::Ended);
}

// ---------------------------------------------------------------------------------------------
// StartAiSession
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_start_the_ai_session_of_a_call_with_the_agent() {
    given(with_ai_agent())
        .when(CallCommand::StartAiSession {
            model: " gpt-realtime ".into(),
            voice: "marin".into(),
        })
        .then_expect_events(vec![ai_session_started()]);
}

#[test]
fn it_should_reject_starting_an_ai_session_twice() {
    given(ai_session_running())
        .when(CallCommand::StartAiSession {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
        })
        .then_expect_error(CallError::AiSessionAlreadyStarted);
}

#[test]
fn it_should_open_a_new_ai_session_when_the_call_comes_back_to_the_agent_after_a_missed_transfer() {
    given(ai_session_running())
        .and(vec![
            CallEvent::AiSessionEnded {
                reason: "transferred to owner".into(),
            },
            routed_to_owner(),
            owner_missed(),
            CallEvent::CallRoutedToAi {
                why: RouteReason::OwnerMissed,
            },
        ])
        .when(CallCommand::StartAiSession {
            model: " gpt-realtime ".into(),
            voice: "marin".into(),
        })
        .then_expect_events(vec![ai_session_started()]);
}

#[test]
fn it_should_reject_an_ai_session_for_a_call_the_agent_does_not_have() {
    given(ringing_owner())
        .when(CallCommand::StartAiSession {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
        })
        .then_expect_error(CallError::NotWithAgent);
}

#[test]
fn it_should_reject_an_ai_session_for_an_ended_call() {
    given(with_ai_agent())
        .and(vec![ended(FinalStatus::Canceled)])
        .when(CallCommand::StartAiSession {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
        })
        .then_expect_error(CallError::Ended);
}

#[test]
fn it_should_reject_an_ai_session_without_a_voice() {
    given(with_ai_agent())
        .when(CallCommand::StartAiSession {
            model: "gpt-realtime".into(),
            voice: "".into(),
        })
        .then_expect_error(CallError::Invalid(ValueError::BadText {
            field: "voice",
            max: 200,
        }));
}

// ---------------------------------------------------------------------------------------------
// RecordTranscriptSegment
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_record_a_transcript_segment_during_the_ai_session() {
    given(ai_session_running())
        .when(CallCommand::RecordTranscriptSegment {
            speaker: Speaker::Caller,
            text: "Hi, my sink is leaking.".into(),
            offset_ms: 1200,
        })
        .then_expect_events(vec![CallEvent::TranscriptSegmentRecorded {
            speaker: Speaker::Caller,
            text: "Hi, my sink is leaking.".into(),
            offset_ms: 1200,
        }]);
}

#[test]
fn it_should_accept_a_late_transcript_segment_after_the_session_ended() {
    given(ai_session_running())
        .and(vec![ai_session_ended(), ended(FinalStatus::Completed)])
        .when(CallCommand::RecordTranscriptSegment {
            speaker: Speaker::Agent,
            text: "Goodbye.".into(),
            offset_ms: 60_000,
        })
        .then_expect_events(vec![CallEvent::TranscriptSegmentRecorded {
            speaker: Speaker::Agent,
            text: "Goodbye.".into(),
            offset_ms: 60_000,
        }]);
}

#[test]
fn it_should_reject_a_transcript_segment_before_the_session_started() {
    given(with_ai_agent())
        .when(CallCommand::RecordTranscriptSegment {
            speaker: Speaker::Caller,
            text: "Hello?".into(),
            offset_ms: 0,
        })
        .then_expect_error(CallError::NoAiSession);
}

#[test]
fn it_should_reject_an_empty_transcript_segment() {
    given(ai_session_running())
        .when(CallCommand::RecordTranscriptSegment {
            speaker: Speaker::Caller,
            text: "   ".into(),
            offset_ms: 0,
        })
        .then_expect_error(CallError::Invalid(ValueError::BadText {
            field: "text",
            max: 10_000,
        }));
}

// ---------------------------------------------------------------------------------------------
// TakeMessage
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_take_a_message_and_drop_blank_optional_fields() {
    given(ai_session_running())
        .when(CallCommand::TakeMessage {
            caller_name: Some("  ".into()),
            callback_number: Some(" +12125550199 ".into()),
            message: " Sink is leaking. ".into(),
            urgency: Urgency::High,
        })
        .then_expect_events(vec![CallEvent::MessageTaken {
            caller_name: None,
            callback_number: Some("+12125550199".into()),
            message: "Sink is leaking.".into(),
            urgency: Urgency::High,
        }]);
}

#[test]
fn it_should_reject_a_message_before_the_ai_session_started() {
    given(with_ai_agent())
        .when(CallCommand::TakeMessage {
            caller_name: None,
            callback_number: None,
            message: "Call me back.".into(),
            urgency: Urgency::Normal,
        })
        .then_expect_error(CallError::NoAiSession);
}

#[test]
fn it_should_reject_an_empty_message() {
    given(ai_session_running())
        .when(CallCommand::TakeMessage {
            caller_name: Some("Ann".into()),
            callback_number: None,
            message: "".into(),
            urgency: Urgency::Low,
        })
        .then_expect_error(CallError::Invalid(ValueError::BadText {
            field: "message",
            max: 10_000,
        }));
}

// ---------------------------------------------------------------------------------------------
// EndAiSession
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_end_a_running_ai_session() {
    given(ai_session_running())
        .when(CallCommand::EndAiSession {
            reason: "caller hung up".into(),
        })
        .then_expect_events(vec![ai_session_ended()]);
}

#[test]
fn it_should_reject_ending_an_ai_session_that_never_started() {
    given(with_ai_agent())
        .when(CallCommand::EndAiSession {
            reason: "caller hung up".into(),
        })
        .then_expect_error(CallError::NoAiSession);
}

#[test]
fn it_should_reject_ending_an_ai_session_twice() {
    given(ai_session_running())
        .and(vec![ai_session_ended()])
        .when(CallCommand::EndAiSession {
            reason: "openai socket closed".into(),
        })
        .then_expect_error(CallError::AiSessionAlreadyEnded);
}

// ---------------------------------------------------------------------------------------------
// RecordVoicemail
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_record_a_voicemail_for_a_call_in_voicemail() {
    given(in_voicemail())
        .when(CallCommand::RecordVoicemail {
            recording_url: "https://api.twilio.com/Recordings/RE1".into(),
            duration_secs: 17,
        })
        .then_expect_events(vec![CallEvent::VoicemailRecorded {
            recording_url: "https://api.twilio.com/Recordings/RE1".into(),
            duration_secs: 17,
        }]);
}

#[test]
fn it_should_accept_a_voicemail_reported_after_the_call_ended() {
    given(in_voicemail())
        .and(vec![ended(FinalStatus::Completed)])
        .when(CallCommand::RecordVoicemail {
            recording_url: "https://api.twilio.com/Recordings/RE1".into(),
            duration_secs: 17,
        })
        .then_expect_events(vec![CallEvent::VoicemailRecorded {
            recording_url: "https://api.twilio.com/Recordings/RE1".into(),
            duration_secs: 17,
        }]);
}

#[test]
fn it_should_reject_a_voicemail_for_a_call_never_sent_to_voicemail() {
    given(with_ai_agent())
        .when(CallCommand::RecordVoicemail {
            recording_url: "https://api.twilio.com/Recordings/RE1".into(),
            duration_secs: 17,
        })
        .then_expect_error(CallError::NotRoutedToVoicemail);
}

#[test]
fn it_should_reject_a_second_voicemail() {
    given(in_voicemail())
        .and(vec![CallEvent::VoicemailRecorded {
            recording_url: "https://api.twilio.com/Recordings/RE1".into(),
            duration_secs: 17,
        }])
        .when(CallCommand::RecordVoicemail {
            recording_url: "https://api.twilio.com/Recordings/RE2".into(),
            duration_secs: 5,
        })
        .then_expect_error(CallError::VoicemailAlreadyRecorded);
}

#[test]
fn it_should_reject_a_voicemail_for_an_unknown_call() {
    given_nothing()
        .when(CallCommand::RecordVoicemail {
            recording_url: "https://api.twilio.com/Recordings/RE1".into(),
            duration_secs: 17,
        })
        .then_expect_error(CallError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// AttachRecording
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_attach_a_recording() {
    given(ringing_owner())
        .and(vec![owner_answered(), ended(FinalStatus::Completed)])
        .when(attach_recording("RE1"))
        .then_expect_events(vec![recording("RE1")]);
}

#[test]
fn it_should_record_nothing_for_the_same_recording_sid_twice() {
    given(ringing_owner())
        .and(vec![recording("RE1")])
        .when(attach_recording("RE1"))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_record_nothing_for_the_same_recording_sid_with_stray_whitespace() {
    given(ringing_owner())
        .and(vec![recording("RE1")])
        .when(attach_recording(" RE1 "))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_attach_a_second_recording_with_another_sid() {
    given(ringing_owner())
        .and(vec![recording("RE1")])
        .when(attach_recording("RE2"))
        .then_expect_events(vec![recording("RE2")]);
}

#[test]
fn it_should_reject_a_recording_without_a_url() {
    given(ringing_owner())
        .when(CallCommand::AttachRecording {
            recording_sid: "RE1".into(),
            recording_url: " ".into(),
            duration_secs: 42,
        })
        .then_expect_error(CallError::Invalid(ValueError::BadText {
            field: "recording_url",
            max: 2048,
        }));
}

#[test]
fn it_should_reject_a_recording_for_an_unknown_call() {
    given_nothing()
        .when(attach_recording("RE1"))
        .then_expect_error(CallError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// End
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_end_a_call() {
    given(ringing_owner())
        .and(vec![owner_answered()])
        .when(CallCommand::End {
            status: FinalStatus::Completed,
            duration_secs: Some(42),
        })
        .then_expect_events(vec![ended(FinalStatus::Completed)]);
}

#[test]
fn it_should_end_a_call_that_was_turned_away() {
    given(rejected_call())
        .when(CallCommand::End {
            status: FinalStatus::Canceled,
            duration_secs: None,
        })
        .then_expect_events(vec![CallEvent::CallEnded {
            status: FinalStatus::Canceled,
            duration_secs: None,
        }]);
}

#[test]
fn it_should_record_nothing_for_a_duplicate_end_with_the_same_status() {
    given(ringing_owner())
        .and(vec![owner_answered(), ended(FinalStatus::Completed)])
        .when(CallCommand::End {
            status: FinalStatus::Completed,
            duration_secs: Some(42),
        })
        .then_expect_events(vec![]);
}

#[test]
fn it_should_reject_an_end_with_another_status_than_recorded() {
    given(ringing_owner())
        .and(vec![ended(FinalStatus::Completed)])
        .when(CallCommand::End {
            status: FinalStatus::Failed,
            duration_secs: None,
        })
        .then_expect_error(CallError::AlreadyEnded);
}

#[test]
fn it_should_reject_ending_an_unknown_call() {
    given_nothing()
        .when(CallCommand::End {
            status: FinalStatus::Completed,
            duration_secs: None,
        })
        .then_expect_error(CallError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// RecordCost
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_record_the_cost_of_a_call() {
    given(ringing_owner())
        .and(vec![ended(FinalStatus::Completed)])
        .when(CallCommand::RecordCost { price: usd(-85) })
        .then_expect_events(vec![CallEvent::CallCostRecorded { price: usd(-85) }]);
}

#[test]
fn it_should_record_nothing_for_the_same_cost_twice() {
    given(ringing_owner())
        .and(vec![
            ended(FinalStatus::Completed),
            CallEvent::CallCostRecorded { price: usd(-85) },
        ])
        .when(CallCommand::RecordCost { price: usd(-85) })
        .then_expect_events(vec![]);
}

#[test]
fn it_should_record_a_corrected_cost() {
    given(ringing_owner())
        .and(vec![
            ended(FinalStatus::Completed),
            CallEvent::CallCostRecorded { price: usd(-85) },
        ])
        .when(CallCommand::RecordCost { price: usd(-90) })
        .then_expect_events(vec![CallEvent::CallCostRecorded { price: usd(-90) }]);
}

#[test]
fn it_should_reject_a_cost_for_an_unknown_call() {
    given_nothing()
        .when(CallCommand::RecordCost { price: usd(-85) })
        .then_expect_error(CallError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// RecordSummary
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_record_the_summary_of_an_ended_call() {
    given(ai_session_running())
        .and(vec![ai_session_ended(), ended(FinalStatus::Completed)])
        .when(CallCommand::RecordSummary {
            summary: " Leaking sink; call back. ".into(),
        })
        .then_expect_events(vec![CallEvent::CallSummarized {
            summary: "Leaking sink; call back.".into(),
        }]);
}

#[test]
fn it_should_reject_a_summary_before_the_call_ended() {
    given(ai_session_running())
        .when(CallCommand::RecordSummary {
            summary: "Leaking sink.".into(),
        })
        .then_expect_error(CallError::NotEnded);
}

#[test]
fn it_should_reject_a_second_summary() {
    given(ringing_owner())
        .and(vec![
            ended(FinalStatus::Completed),
            CallEvent::CallSummarized {
                summary: "Leaking sink.".into(),
            },
        ])
        .when(CallCommand::RecordSummary {
            summary: "Leaking sink again.".into(),
        })
        .then_expect_error(CallError::AlreadySummarized);
}

#[test]
fn it_should_reject_a_summary_for_an_unknown_call() {
    given_nothing()
        .when(CallCommand::RecordSummary {
            summary: "Leaking sink.".into(),
        })
        .then_expect_error(CallError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// RecordSummaryFailure
// ---------------------------------------------------------------------------------------------

fn summary_failed(reason: &str) -> CallEvent {
    CallEvent::CallSummaryFailed {
        reason: reason.into(),
    }
}

fn ended_ai_call() -> Vec<CallEvent> {
    ai_session_running()
        .into_iter()
        .chain([ai_session_ended(), ended(FinalStatus::Completed)])
        .collect()
}

#[test]
fn it_should_record_that_the_summary_of_an_ended_call_failed() {
    given(ended_ai_call())
        .when(CallCommand::RecordSummaryFailure {
            reason: " OpenAI answered 401: invalid key ".into(),
        })
        .then_expect_events(vec![summary_failed("OpenAI answered 401: invalid key")]);
}

#[test]
fn it_should_reject_a_summary_failure_before_the_call_ended() {
    given(ai_session_running())
        .when(CallCommand::RecordSummaryFailure {
            reason: "no OpenAI key".into(),
        })
        .then_expect_error(CallError::NotEnded);
}

#[test]
fn it_should_reject_a_summary_failure_once_the_call_was_summarized() {
    given(ended_ai_call())
        .and(vec![CallEvent::CallSummarized {
            summary: "Leaking sink.".into(),
        }])
        .when(CallCommand::RecordSummaryFailure {
            reason: "no OpenAI key".into(),
        })
        .then_expect_error(CallError::AlreadySummarized);
}

#[test]
fn it_should_record_a_summary_failure_once_and_append_nothing_when_it_is_repeated() {
    given(ended_ai_call())
        .and(vec![summary_failed("no OpenAI key")])
        .when(CallCommand::RecordSummaryFailure {
            reason: "OpenAI answered 401: invalid key".into(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn it_should_reject_a_blank_or_overlong_summary_failure_reason() {
    for reason in ["  ".to_owned(), "x".repeat(1_001)] {
        given(ended_ai_call())
            .when(CallCommand::RecordSummaryFailure { reason })
            .then_expect_error(CallError::Invalid(ValueError::BadText {
                field: "reason",
                max: 1_000,
            }));
    }
}

#[test]
fn it_should_reject_a_summary_failure_for_an_unknown_call() {
    given_nothing()
        .when(CallCommand::RecordSummaryFailure {
            reason: "no OpenAI key".into(),
        })
        .then_expect_error(CallError::NotFound);
}

#[test]
fn it_should_still_accept_a_summary_after_a_failure_was_recorded() {
    given(ended_ai_call())
        .and(vec![summary_failed("OpenAI kept failing")])
        .when(CallCommand::RecordSummary {
            summary: "Leaking sink; call back.".into(),
        })
        .then_expect_events(vec![CallEvent::CallSummarized {
            summary: "Leaking sink; call back.".into(),
        }]);
}

#[test]
fn it_should_fold_a_summary_failure_into_the_call_state() {
    let call = state_after(
        ended_ai_call()
            .into_iter()
            .chain([summary_failed("no OpenAI key")]),
    );

    assert!(call.summary_failed);
    assert!(!call.summarized);
}

// ---------------------------------------------------------------------------------------------
// Twilio out of order: the end arrives while the owner's phone still rings
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_accept_a_late_owner_answered_after_the_call_ended_while_ringing() {
    given(ringing_owner())
        .and(vec![ended(FinalStatus::Completed)])
        .when(CallCommand::RecordOwnerAnswered {
            dial_call_sid: None,
        })
        .then_expect_events(vec![CallEvent::OwnerAnswered {
            dial_call_sid: None,
        }]);
}

#[test]
fn it_should_accept_a_late_owner_missed_after_the_call_ended_while_ringing() {
    given(ringing_owner())
        .and(vec![ended(FinalStatus::Canceled)])
        .when(CallCommand::RecordOwnerMissed {
            reason: MissReason::Canceled,
        })
        .then_expect_events(vec![CallEvent::OwnerMissed {
            reason: MissReason::Canceled,
        }]);
}

#[test]
fn it_should_reject_routing_to_the_ai_agent_after_a_late_owner_missed() {
    given(ringing_owner())
        .and(vec![
            ended(FinalStatus::Canceled),
            CallEvent::OwnerMissed {
                reason: MissReason::Canceled,
            },
        ])
        .when(CallCommand::RouteToAi {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_error(CallError::Ended);
}

#[test]
fn it_should_reject_routing_to_voicemail_after_a_late_owner_missed() {
    given(ringing_owner())
        .and(vec![ended(FinalStatus::NoAnswer), owner_missed()])
        .when(CallCommand::RouteToVoicemail {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_error(CallError::Ended);
}

#[test]
fn it_should_reject_routing_to_the_ai_agent_after_a_late_owner_answered() {
    given(ringing_owner())
        .and(vec![ended(FinalStatus::Completed), owner_answered()])
        .when(CallCommand::RouteToAi {
            why: RouteReason::OwnerMissed,
        })
        .then_expect_error(CallError::Ended);
}

#[test]
fn it_should_reject_a_second_late_owner_answered_after_the_call_ended() {
    given(ringing_owner())
        .and(vec![ended(FinalStatus::Completed), owner_answered()])
        .when(CallCommand::RecordOwnerAnswered {
            dial_call_sid: None,
        })
        .then_expect_error(CallError::OwnerAlreadyAnswered);
}

#[test]
fn it_should_accept_a_recording_and_a_cost_after_the_call_was_summarized() {
    let summarized = || {
        given(ringing_owner()).and(vec![
            owner_answered(),
            ended(FinalStatus::Completed),
            CallEvent::CallSummarized {
                summary: "Leaking sink.".into(),
            },
        ])
    };

    summarized()
        .when(attach_recording("RE1"))
        .then_expect_events(vec![recording("RE1")]);
    summarized()
        .when(CallCommand::RecordCost { price: usd(-85) })
        .then_expect_events(vec![CallEvent::CallCostRecorded { price: usd(-85) }]);
}

// ---------------------------------------------------------------------------------------------
// Applying events
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_fold_the_agent_path_into_the_call_state() {
    let call = state_after(ai_session_running().into_iter().chain([
        CallEvent::MessageTaken {
            caller_name: None,
            callback_number: None,
            message: "Call back.".into(),
            urgency: Urgency::Normal,
        },
        ai_session_ended(),
        routed_to_voicemail(RouteReason::AgentFailed),
        recording("RE1"),
        ended(FinalStatus::Completed),
        CallEvent::CallCostRecorded { price: usd(-85) },
        CallEvent::CallSummarized {
            summary: "Call back.".into(),
        },
    ]));

    assert_eq!(call.leg, CallLeg::Voicemail);
    assert_eq!(
        call.owner_outcome,
        Some(OwnerOutcome::Missed(MissReason::NoAnswer))
    );
    assert_eq!(call.ai_session, AiSession::Ended);
    assert!(call.handled_by_ai);
    assert!(call.routed_to_voicemail);
    assert_eq!(call.messages_taken, 1);
    assert_eq!(call.recordings, vec!["RE1".to_owned()]);
    assert_eq!(
        call.end,
        Some(CallEnd {
            status: FinalStatus::Completed,
            duration_secs: Some(42)
        })
    );
    assert_eq!(call.price, Some(usd(-85)));
    assert!(call.summarized);
}

#[test]
fn it_should_forget_the_previous_owner_outcome_when_the_owner_is_rung_again() {
    let call = state_after(with_ai_agent().into_iter().chain([routed_to_owner()]));

    assert_eq!(call.leg, CallLeg::RingingOwner);
    assert_eq!(call.owner_outcome, None);
    assert!(
        call.handled_by_ai,
        "the agent did handle the call before the transfer"
    );
}

#[test]
fn it_should_apply_events_in_any_order_without_panicking_and_stay_unroutable_once_ended() {
    let events = [
        received(),
        routed_to_owner(),
        owner_missed(),
        routed_to_ai(RouteReason::OwnerMissed),
        ai_session_started(),
        ai_session_ended(),
        ended(FinalStatus::Completed),
    ];
    let mut orders = 0;

    for order in permutations(&events) {
        let call = state_after(order.clone());

        assert!(call.received.is_some(), "{order:?}");
        assert!(call.end.is_some(), "{order:?}");
        assert_eq!(
            call.decide(CallCommand::RouteToAi {
                why: RouteReason::OwnerMissed
            }),
            Err(CallError::Ended),
            "{order:?}"
        );
        assert_eq!(
            call.decide(CallCommand::RouteToVoicemail {
                why: RouteReason::AgentFailed
            }),
            Err(CallError::Ended),
            "{order:?}"
        );
        orders += 1;
    }

    assert_eq!(orders, 5040, "all 7! orders were tried");
}

#[test]
fn it_should_apply_every_event_twice_and_backwards_without_panicking() {
    let all = vec![
        received(),
        CallEvent::CallRejected {
            reason: RejectReason::NumberReleased,
        },
        routed_to_owner(),
        owner_answered(),
        owner_missed(),
        routed_to_ai(RouteReason::OwnerMissed),
        routed_to_voicemail(RouteReason::AgentFailed),
        ai_session_started(),
        CallEvent::TranscriptSegmentRecorded {
            speaker: Speaker::Caller,
            text: "Hi".into(),
            offset_ms: 0,
        },
        CallEvent::MessageTaken {
            caller_name: None,
            callback_number: None,
            message: "Call back.".into(),
            urgency: Urgency::Normal,
        },
        ai_session_ended(),
        CallEvent::VoicemailRecorded {
            recording_url: "https://example.test/v".into(),
            duration_secs: 3,
        },
        CallEvent::VoicemailTranscribed {
            transcription_sid: "TR1".into(),
            recording_sid: "RE1".into(),
            text: "Call back.".into(),
        },
        CallEvent::VoicemailTranscriptionFailed {
            transcription_sid: "TR2".into(),
            recording_sid: "RE1".into(),
        },
        recording("RE1"),
        ended(FinalStatus::Completed),
        CallEvent::CallCostRecorded { price: usd(-85) },
        CallEvent::CallSummarized {
            summary: "Call back.".into(),
        },
        CallEvent::CallSummaryFailed {
            reason: "no OpenAI key".into(),
        },
    ];
    let backwards_twice: Vec<CallEvent> =
        all.iter().rev().chain(all.iter().rev()).cloned().collect();

    let call = state_after(backwards_twice);

    assert_eq!(call.messages_taken, 2);
    assert_eq!(call.recordings.len(), 2);
    assert_eq!(call.rejected, Some(RejectReason::NumberReleased));
    assert_eq!(
        call.leg,
        CallLeg::Rejected,
        "the rejection was the last change of leg applied"
    );
    assert_eq!(
        call.decide(CallCommand::RouteToAi {
            why: RouteReason::OwnerMissed
        }),
        Err(CallError::Rejected)
    );
}

#[test]
fn it_should_remember_the_latest_route_with_what_the_answer_to_twilio_needs() {
    let mut call = Call::default();
    for event in [received(), routed_to_owner()] {
        call.apply(event);
    }
    assert_eq!(call.route, Some(owner_route()));

    for event in [
        owner_missed(),
        CallEvent::CallRoutedToAi {
            why: RouteReason::OwnerMissed,
        },
    ] {
        call.apply(event);
    }
    assert_eq!(
        call.route,
        Some(Route::AiAgent {
            why: RouteReason::OwnerMissed
        })
    );

    call.apply(CallEvent::CallRoutedToVoicemail {
        why: RouteReason::AgentFailed,
    });
    assert_eq!(
        call.route,
        Some(Route::Voicemail {
            why: RouteReason::AgentFailed
        })
    );
}

mod batch;
mod notifications;
mod transcription;

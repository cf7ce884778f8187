//! `RecordNotification` and what counts as a missed call.

use super::*;
use crate::business::{NotificationChannel, NotificationTrigger};
use crate::call::NotificationOutcome;

fn sent(id: &str) -> CallCommand {
    CallCommand::RecordNotification {
        notification_id: id.into(),
        trigger: NotificationTrigger::MissedCall,
        channel: NotificationChannel::Sms,
        outcome: NotificationOutcome::Sent {
            to: "+14155550199".into(),
            provider_id: Some("SM0123456789abcdef0123456789abcdef".into()),
        },
    }
}

fn notified(id: &str) -> CallEvent {
    CallEvent::OwnerNotified {
        notification_id: id.into(),
        trigger: NotificationTrigger::MissedCall,
        channel: NotificationChannel::Sms,
        to: "+14155550199".into(),
        provider_id: Some("SM0123456789abcdef0123456789abcdef".into()),
    }
}

fn missed_and_ended() -> Vec<CallEvent> {
    let mut events = ringing_owner();
    events.push(owner_missed());
    events.push(ended(FinalStatus::Completed));
    events
}

#[test]
fn it_should_record_that_the_owner_was_notified() {
    given(missed_and_ended())
        .when(sent("42-sms"))
        .then_expect_events(vec![notified("42-sms")]);
}

#[test]
fn it_should_record_a_notification_only_once() {
    let mut events = missed_and_ended();
    events.push(notified("42-sms"));
    given(events.clone())
        .when(sent("42-sms"))
        .then_expect_events(vec![]);
    given(events)
        .when(CallCommand::RecordNotification {
            notification_id: "42-sms".into(),
            trigger: NotificationTrigger::MissedCall,
            channel: NotificationChannel::Sms,
            outcome: NotificationOutcome::Failed {
                reason: "late failure".into(),
            },
        })
        .then_expect_events(vec![]);
}

#[test]
fn it_should_record_a_failed_notification_with_its_reason() {
    given(missed_and_ended())
        .when(CallCommand::RecordNotification {
            notification_id: "42-email".into(),
            trigger: NotificationTrigger::MissedCall,
            channel: NotificationChannel::Email,
            outcome: NotificationOutcome::Failed {
                reason: "the SMTP server refused the address".into(),
            },
        })
        .then_expect_events(vec![CallEvent::OwnerNotificationFailed {
            notification_id: "42-email".into(),
            trigger: NotificationTrigger::MissedCall,
            channel: NotificationChannel::Email,
            reason: "the SMTP server refused the address".into(),
        }]);
}

#[test]
fn it_should_not_record_a_notification_for_an_unknown_call() {
    given_nothing()
        .when(sent("1-sms"))
        .then_expect_error(CallError::NotFound);
}

#[test]
fn it_should_count_a_call_nobody_took_as_missed() {
    assert!(state_after(missed_and_ended()).was_missed());
}

#[test]
fn it_should_not_count_answered_ai_voicemail_rejected_or_ongoing_calls_as_missed() {
    let mut answered = ringing_owner();
    answered.extend([owner_answered(), ended(FinalStatus::Completed)]);
    assert!(!state_after(answered).was_missed());

    let mut with_agent = ai_session_running();
    with_agent.push(ended(FinalStatus::Completed));
    assert!(!state_after(with_agent).was_missed());

    let mut voicemail = in_voicemail();
    voicemail.extend([
        CallEvent::VoicemailRecorded {
            recording_url: "https://api.twilio.com/Recordings/RE1".into(),
            duration_secs: 9,
        },
        ended(FinalStatus::Completed),
    ]);
    assert!(!state_after(voicemail).was_missed());

    let mut rejected = rejected_call();
    rejected.push(ended(FinalStatus::Completed));
    assert!(!state_after(rejected).was_missed());

    let mut ringing = ringing_owner();
    ringing.push(owner_missed());
    assert!(!state_after(ringing).was_missed(), "not ended yet");
}

#[test]
fn it_should_count_a_voicemail_route_the_caller_hung_up_on_as_missed() {
    let mut events = in_voicemail();
    events.push(ended(FinalStatus::Completed));
    assert!(state_after(events).was_missed());
}

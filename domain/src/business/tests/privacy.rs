//! `RecordErasure` and `SetRetention`: callers' personal data erased and kept no longer than set.

use super::*;
use crate::values::CallSid;

fn call(n: u8) -> CallSid {
    CallSid::parse(&format!("CA{:032x}", n)).unwrap()
}

#[test]
fn it_should_record_an_erasure_of_the_calls_it_is_given() {
    given(vec![registered()])
        .when(BusinessCommand::RecordErasure {
            calls: vec![call(1), call(2)],
            reason: ErasureReason::Request,
        })
        .then_expect_events(vec![BusinessEvent::CallerDataErased {
            calls: vec![call(1), call(2)],
            reason: ErasureReason::Request,
        }]);
}

#[test]
fn it_should_record_an_erasure_for_a_deactivated_business_and_one_without_calls() {
    given(vec![
        registered(),
        BusinessEvent::BusinessDeactivated {
            reason: "closed".into(),
        },
    ])
    .when(BusinessCommand::RecordErasure {
        calls: vec![],
        reason: ErasureReason::Retention { days: 30 },
    })
    .then_expect_events(vec![BusinessEvent::CallerDataErased {
        calls: vec![],
        reason: ErasureReason::Retention { days: 30 },
    }]);
}

#[test]
fn it_should_not_record_an_erasure_for_a_business_that_does_not_exist() {
    given_nothing()
        .when(BusinessCommand::RecordErasure {
            calls: vec![call(1)],
            reason: ErasureReason::Request,
        })
        .then_expect_error(BusinessError::NotFound);
}

#[test]
fn it_should_set_the_retention_once_and_record_nothing_when_it_is_set_already() {
    given(vec![registered()])
        .when(BusinessCommand::SetRetention { days: Some(30) })
        .then_expect_events(vec![BusinessEvent::RetentionSet { days: Some(30) }]);
    given(vec![
        registered(),
        BusinessEvent::RetentionSet { days: Some(30) },
    ])
    .when(BusinessCommand::SetRetention { days: Some(30) })
    .then_expect_events(vec![]);
    let business = state_after(vec![
        registered(),
        BusinessEvent::RetentionSet { days: Some(30) },
        BusinessEvent::RetentionSet { days: None },
    ]);
    assert_eq!(business.retention_days, None);
}

#[test]
fn it_should_name_the_erasure_reason_in_the_stored_payload() {
    let stored = serde_json::to_value(BusinessEvent::CallerDataErased {
        calls: vec![call(1)],
        reason: ErasureReason::Retention { days: 7 },
    })
    .unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"CallerDataErased": {
            "calls": [call(1).to_string()],
            "reason": {"kind": "retention", "days": 7}
        }})
    );
}

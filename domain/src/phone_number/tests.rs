use super::*;

use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use cqrs_es::Aggregate;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::values::{BusinessId, Money, ValueError, E164};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn given(events: Vec<PhoneNumberEvent>) -> AggregateTestExecutor<PhoneNumber> {
    TestFramework::<PhoneNumber>::with(()).given(events)
}

fn given_nothing() -> AggregateTestExecutor<PhoneNumber> {
    TestFramework::<PhoneNumber>::with(()).given_no_previous_events()
}

fn number() -> E164 {
    E164::parse("+14155550100").expect("fixture number is E.164")
}

fn monthly_cost() -> Money {
    Money::new(Decimal::new(115, 2), "USD").expect("fixture currency is valid")
}

fn business_a() -> BusinessId {
    BusinessId(Uuid::from_u128(0xA))
}

fn business_b() -> BusinessId {
    BusinessId(Uuid::from_u128(0xB))
}

fn provision_command() -> ProvisionNumber {
    ProvisionNumber {
        number: number(),
        twilio_sid: " PN0123456789abcdef0123456789abcdef ".into(),
        country: "us".into(),
        area_code: Some("415".into()),
        monthly_cost: monthly_cost(),
    }
}

fn provisioned() -> PhoneNumberEvent {
    PhoneNumberEvent::NumberProvisioned {
        number: number(),
        twilio_sid: "PN0123456789abcdef0123456789abcdef".into(),
        country: "US".into(),
        area_code: Some("415".into()),
        monthly_cost: monthly_cost(),
    }
}

fn assigned_to(
    business_id: BusinessId,
    previous_business_id: Option<BusinessId>,
) -> PhoneNumberEvent {
    PhoneNumberEvent::NumberAssigned {
        business_id,
        previous_business_id,
    }
}

fn suspended() -> PhoneNumberEvent {
    PhoneNumberEvent::NumberSuspended {
        reason: "fraud check".into(),
    }
}

fn state_after(events: Vec<PhoneNumberEvent>) -> PhoneNumber {
    let mut number = PhoneNumber::default();
    for event in events {
        number.apply(event);
    }
    number
}

// ---------------------------------------------------------------------------------------------
// Provision
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_provision_a_new_number_with_a_normalised_country() {
    given_nothing()
        .when(PhoneNumberCommand::Provision(provision_command()))
        .then_expect_events(vec![provisioned()]);
}

#[test]
fn it_should_provision_a_released_number_again() {
    given(vec![
        provisioned(),
        assigned_to(business_a(), None),
        PhoneNumberEvent::NumberReleased,
    ])
    .when(PhoneNumberCommand::Provision(provision_command()))
    .then_expect_events(vec![provisioned()]);
}

#[test]
fn it_should_reject_provisioning_a_number_we_hold() {
    given(vec![provisioned()])
        .when(PhoneNumberCommand::Provision(provision_command()))
        .then_expect_error(PhoneNumberError::AlreadyProvisioned);
}

#[test]
fn it_should_reject_provisioning_a_suspended_number() {
    given(vec![provisioned(), suspended()])
        .when(PhoneNumberCommand::Provision(provision_command()))
        .then_expect_error(PhoneNumberError::AlreadyProvisioned);
}

#[test]
fn it_should_reject_a_country_code_longer_than_two_letters() {
    let command = ProvisionNumber {
        country: "USA".into(),
        ..provision_command()
    };

    given_nothing()
        .when(PhoneNumberCommand::Provision(command))
        .then_expect_error(PhoneNumberError::Invalid(ValueError::BadText {
            field: "country",
            max: 2,
        }));
}

#[test]
fn it_should_reject_provisioning_without_a_twilio_sid() {
    let command = ProvisionNumber {
        twilio_sid: "".into(),
        ..provision_command()
    };

    given_nothing()
        .when(PhoneNumberCommand::Provision(command))
        .then_expect_error(PhoneNumberError::Invalid(ValueError::BadText {
            field: "twilio_sid",
            max: 64,
        }));
}

// ---------------------------------------------------------------------------------------------
// AssignToBusiness
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_assign_a_provisioned_number_to_a_business() {
    given(vec![provisioned()])
        .when(PhoneNumberCommand::AssignToBusiness(business_a()))
        .then_expect_events(vec![assigned_to(business_a(), None)]);
}

#[test]
fn it_should_remember_the_previous_business_when_reassigning() {
    given(vec![provisioned(), assigned_to(business_a(), None)])
        .when(PhoneNumberCommand::AssignToBusiness(business_b()))
        .then_expect_events(vec![assigned_to(business_b(), Some(business_a()))]);
}

#[test]
fn it_should_record_nothing_when_assigning_to_the_same_business_again() {
    given(vec![provisioned(), assigned_to(business_a(), None)])
        .when(PhoneNumberCommand::AssignToBusiness(business_a()))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_assign_a_suspended_number() {
    given(vec![provisioned(), suspended()])
        .when(PhoneNumberCommand::AssignToBusiness(business_a()))
        .then_expect_events(vec![assigned_to(business_a(), None)]);
}

#[test]
fn it_should_reject_assigning_a_released_number() {
    given(vec![
        provisioned(),
        assigned_to(business_a(), None),
        PhoneNumberEvent::NumberReleased,
    ])
    .when(PhoneNumberCommand::AssignToBusiness(business_a()))
    .then_expect_error(PhoneNumberError::Released);
}

#[test]
fn it_should_reject_assigning_a_number_never_provisioned() {
    given_nothing()
        .when(PhoneNumberCommand::AssignToBusiness(business_a()))
        .then_expect_error(PhoneNumberError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// Release
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_release_an_active_number() {
    given(vec![provisioned(), assigned_to(business_a(), None)])
        .when(PhoneNumberCommand::Release)
        .then_expect_events(vec![PhoneNumberEvent::NumberReleased]);
}

#[test]
fn it_should_release_a_suspended_number() {
    given(vec![provisioned(), suspended()])
        .when(PhoneNumberCommand::Release)
        .then_expect_events(vec![PhoneNumberEvent::NumberReleased]);
}

#[test]
fn it_should_reject_releasing_a_released_number() {
    given(vec![provisioned(), PhoneNumberEvent::NumberReleased])
        .when(PhoneNumberCommand::Release)
        .then_expect_error(PhoneNumberError::Released);
}

#[test]
fn it_should_reject_releasing_a_number_never_provisioned() {
    given_nothing()
        .when(PhoneNumberCommand::Release)
        .then_expect_error(PhoneNumberError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// Suspend
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_suspend_an_active_number_with_a_trimmed_reason() {
    given(vec![provisioned()])
        .when(PhoneNumberCommand::Suspend {
            reason: "  fraud check ".into(),
        })
        .then_expect_events(vec![suspended()]);
}

#[test]
fn it_should_reject_suspending_a_suspended_number() {
    given(vec![provisioned(), suspended()])
        .when(PhoneNumberCommand::Suspend {
            reason: "again".into(),
        })
        .then_expect_error(PhoneNumberError::AlreadySuspended);
}

#[test]
fn it_should_reject_suspending_a_released_number() {
    given(vec![provisioned(), PhoneNumberEvent::NumberReleased])
        .when(PhoneNumberCommand::Suspend {
            reason: "fraud check".into(),
        })
        .then_expect_error(PhoneNumberError::Released);
}

#[test]
fn it_should_reject_suspending_without_a_reason() {
    given(vec![provisioned()])
        .when(PhoneNumberCommand::Suspend {
            reason: "  ".into(),
        })
        .then_expect_error(PhoneNumberError::Invalid(ValueError::BadText {
            field: "reason",
            max: 2000,
        }));
}

#[test]
fn it_should_reject_suspending_a_number_never_provisioned() {
    given_nothing()
        .when(PhoneNumberCommand::Suspend {
            reason: "fraud check".into(),
        })
        .then_expect_error(PhoneNumberError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// Reactivate
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_reactivate_a_suspended_number() {
    given(vec![provisioned(), suspended()])
        .when(PhoneNumberCommand::Reactivate)
        .then_expect_events(vec![PhoneNumberEvent::NumberReactivated]);
}

#[test]
fn it_should_reject_reactivating_an_active_number() {
    given(vec![provisioned()])
        .when(PhoneNumberCommand::Reactivate)
        .then_expect_error(PhoneNumberError::NotSuspended);
}

#[test]
fn it_should_reject_reactivating_a_released_number() {
    given(vec![
        provisioned(),
        suspended(),
        PhoneNumberEvent::NumberReleased,
    ])
    .when(PhoneNumberCommand::Reactivate)
    .then_expect_error(PhoneNumberError::Released);
}

#[test]
fn it_should_reject_reactivating_a_number_never_provisioned() {
    given_nothing()
        .when(PhoneNumberCommand::Reactivate)
        .then_expect_error(PhoneNumberError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// Applying events: which business a number rings for
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_ring_for_its_business_while_active() {
    let number = state_after(vec![provisioned(), assigned_to(business_a(), None)]);

    assert_eq!(number.status, NumberStatus::Active);
    assert_eq!(number.rings_for(), Some(business_a()));
}

#[test]
fn it_should_ring_for_nobody_while_unassigned() {
    let number = state_after(vec![provisioned()]);

    assert_eq!(number.rings_for(), None);
}

#[test]
fn it_should_ring_for_nobody_while_suspended_and_again_once_reactivated() {
    let suspended_number = state_after(vec![
        provisioned(),
        assigned_to(business_a(), None),
        suspended(),
    ]);
    let reactivated_number = state_after(vec![
        provisioned(),
        assigned_to(business_a(), None),
        suspended(),
        PhoneNumberEvent::NumberReactivated,
    ]);

    assert_eq!(suspended_number.rings_for(), None);
    assert_eq!(
        suspended_number.business_id,
        Some(business_a()),
        "suspension keeps the assignment"
    );
    assert_eq!(reactivated_number.rings_for(), Some(business_a()));
}

#[test]
fn it_should_forget_the_business_of_a_released_number_even_once_provisioned_again() {
    let released = state_after(vec![
        provisioned(),
        assigned_to(business_a(), None),
        PhoneNumberEvent::NumberReleased,
    ]);
    let reprovisioned = state_after(vec![
        provisioned(),
        assigned_to(business_a(), None),
        PhoneNumberEvent::NumberReleased,
        provisioned(),
    ]);

    assert_eq!(released.status, NumberStatus::Released);
    assert_eq!(released.rings_for(), None);
    assert_eq!(released.business_id, None);
    assert_eq!(reprovisioned.status, NumberStatus::Active);
    assert_eq!(reprovisioned.business_id, None);
    assert_eq!(reprovisioned.monthly_cost, Some(monthly_cost()));
}

#[test]
fn it_should_apply_events_in_an_unexpected_order_without_panicking() {
    let number = state_after(vec![
        PhoneNumberEvent::NumberReactivated,
        assigned_to(business_a(), None),
        suspended(),
        PhoneNumberEvent::NumberReleased,
        assigned_to(business_b(), Some(business_a())),
    ]);

    assert_eq!(number.status, NumberStatus::Released);
    assert_eq!(number.number, None, "never provisioned");
    assert_eq!(number.rings_for(), None);
}

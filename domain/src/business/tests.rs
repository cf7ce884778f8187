use super::*;

use chrono_tz::Tz;
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use cqrs_es::Aggregate;
use uuid::Uuid;

use crate::values::{BusinessId, RingTimeout, ValueError, E164};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn given(events: Vec<BusinessEvent>) -> AggregateTestExecutor<Business> {
    TestFramework::<Business>::with(()).given(events)
}

fn given_nothing() -> AggregateTestExecutor<Business> {
    TestFramework::<Business>::with(()).given_no_previous_events()
}

fn business_id() -> BusinessId {
    BusinessId(Uuid::from_u128(0xB05))
}

fn owner_user_id() -> Uuid {
    Uuid::from_u128(0x0E4)
}

fn phone(raw: &str) -> E164 {
    E164::parse(raw).expect("fixture phone numbers are E.164")
}

fn owner_phone() -> E164 {
    phone("+14155550123")
}

fn register_command() -> RegisterBusiness {
    RegisterBusiness {
        id: business_id(),
        name: "  Joe's Plumbing ".into(),
        description: "Pipes, fast.".into(),
        owner_user_id: Some(owner_user_id()),
        owner_phone: Some(owner_phone()),
        timezone: chrono_tz::America::New_York,
    }
}

fn registered() -> BusinessEvent {
    BusinessEvent::BusinessRegistered {
        id: business_id(),
        name: "Joe's Plumbing".into(),
        description: "Pipes, fast.".into(),
        owner_user_id: Some(owner_user_id()),
        owner_phone: Some(owner_phone()),
        timezone: chrono_tz::America::New_York,
    }
}

fn deactivated() -> BusinessEvent {
    BusinessEvent::BusinessDeactivated {
        reason: "unpaid invoice".into(),
    }
}

fn sealed_key(last_four: &str) -> SealedSecret {
    SealedSecret {
        key_id: "k1".into(),
        ciphertext: format!("c2VhbGVk{last_four}"),
        last_four: last_four.into(),
    }
}

fn agent_settings(api_key: Option<SealedSecret>) -> AgentSettings {
    AgentSettings {
        model: "gpt-realtime".into(),
        voice: "marin".into(),
        instructions: "Take a message for Joe.".into(),
        api_key,
    }
}

fn agent_configured() -> BusinessEvent {
    BusinessEvent::AgentConfigured {
        model: "gpt-realtime".into(),
        voice: "marin".into(),
        instructions: "Take a message for Joe.".into(),
        api_key: sealed_key("abcd"),
    }
}

fn time(raw: &str) -> ClockTime {
    ClockTime::parse(raw).expect("fixture times are HH:MM")
}

fn nine_to_five_on_weekdays() -> WeeklyHours {
    let day = vec![OpenRange {
        opens: time("09:00"),
        closes: time("17:00"),
    }];
    WeeklyHours::new([
        day.clone(),
        day.clone(),
        day.clone(),
        day.clone(),
        day,
        vec![],
        vec![],
    ])
    .expect("fixture hours are valid")
}

fn ring_timeout(secs: u32) -> RingTimeout {
    RingTimeout::from_secs(secs).expect("fixture ring timeouts are in range")
}

fn state_after(events: Vec<BusinessEvent>) -> Business {
    let mut business = Business::default();
    for event in events {
        business.apply(event);
    }
    business
}

// ---------------------------------------------------------------------------------------------
// Register
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_register_a_new_business_with_a_trimmed_name() {
    given_nothing()
        .when(BusinessCommand::Register(register_command()))
        .then_expect_events(vec![registered()]);
}

#[test]
fn it_should_register_a_blank_description_as_empty() {
    let command = RegisterBusiness {
        description: "   ".into(),
        ..register_command()
    };

    given_nothing()
        .when(BusinessCommand::Register(command))
        .then_expect_events(vec![BusinessEvent::BusinessRegistered {
            id: business_id(),
            name: "Joe's Plumbing".into(),
            description: String::new(),
            owner_user_id: Some(owner_user_id()),
            owner_phone: Some(owner_phone()),
            timezone: chrono_tz::America::New_York,
        }]);
}

#[test]
fn it_should_reject_registering_a_business_twice() {
    given(vec![registered()])
        .when(BusinessCommand::Register(register_command()))
        .then_expect_error(BusinessError::AlreadyRegistered);
}

#[test]
fn it_should_reject_registering_a_deactivated_business_again() {
    given(vec![registered(), deactivated()])
        .when(BusinessCommand::Register(register_command()))
        .then_expect_error(BusinessError::AlreadyRegistered);
}

#[test]
fn it_should_reject_a_registration_without_a_name() {
    let command = RegisterBusiness {
        name: "   ".into(),
        ..register_command()
    };

    given_nothing()
        .when(BusinessCommand::Register(command))
        .then_expect_error(BusinessError::Invalid(ValueError::BadText {
            field: "name",
            max: 120,
        }));
}

// ---------------------------------------------------------------------------------------------
// UpdateProfile
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_update_the_profile_when_it_changes() {
    given(vec![registered()])
        .when(BusinessCommand::UpdateProfile {
            name: "Joe & Sons Plumbing".into(),
            description: " Pipes, faster. ".into(),
        })
        .then_expect_events(vec![BusinessEvent::BusinessProfileUpdated {
            name: "Joe & Sons Plumbing".into(),
            description: "Pipes, faster.".into(),
        }]);
}

#[test]
fn it_should_record_nothing_when_the_profile_is_unchanged() {
    given(vec![registered()])
        .when(BusinessCommand::UpdateProfile {
            name: " Joe's Plumbing ".into(),
            description: "Pipes, fast.".into(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn it_should_reject_a_profile_update_for_an_unregistered_business() {
    given_nothing()
        .when(BusinessCommand::UpdateProfile {
            name: "Joe".into(),
            description: String::new(),
        })
        .then_expect_error(BusinessError::NotFound);
}

#[test]
fn it_should_reject_a_profile_update_for_a_deactivated_business() {
    given(vec![registered(), deactivated()])
        .when(BusinessCommand::UpdateProfile {
            name: "Joe".into(),
            description: String::new(),
        })
        .then_expect_error(BusinessError::Deactivated);
}

#[test]
fn it_should_reject_a_profile_with_an_overlong_description() {
    given(vec![registered()])
        .when(BusinessCommand::UpdateProfile {
            name: "Joe's Plumbing".into(),
            description: "x".repeat(2001),
        })
        .then_expect_error(BusinessError::Invalid(ValueError::BadText {
            field: "description",
            max: 2000,
        }));
}

// ---------------------------------------------------------------------------------------------
// SetOwnerPhone
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_change_the_owner_phone() {
    given(vec![registered()])
        .when(BusinessCommand::SetOwnerPhone(Some(phone("+14155550199"))))
        .then_expect_events(vec![BusinessEvent::OwnerPhoneChanged {
            owner_phone: Some(phone("+14155550199")),
        }]);
}

#[test]
fn it_should_clear_the_owner_phone() {
    given(vec![registered()])
        .when(BusinessCommand::SetOwnerPhone(None))
        .then_expect_events(vec![BusinessEvent::OwnerPhoneChanged { owner_phone: None }]);
}

#[test]
fn it_should_record_nothing_when_the_owner_phone_is_set_to_the_same_number() {
    given(vec![registered()])
        .when(BusinessCommand::SetOwnerPhone(Some(owner_phone())))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_reject_changing_the_owner_phone_of_a_deactivated_business() {
    given(vec![registered(), deactivated()])
        .when(BusinessCommand::SetOwnerPhone(Some(phone("+14155550199"))))
        .then_expect_error(BusinessError::Deactivated);
}

// ---------------------------------------------------------------------------------------------
// SetTimezone
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_change_the_timezone() {
    given(vec![registered()])
        .when(BusinessCommand::SetTimezone(chrono_tz::Europe::Berlin))
        .then_expect_events(vec![BusinessEvent::TimezoneChanged {
            timezone: chrono_tz::Europe::Berlin,
        }]);
}

#[test]
fn it_should_record_nothing_when_the_timezone_is_unchanged() {
    given(vec![registered()])
        .when(BusinessCommand::SetTimezone(chrono_tz::America::New_York))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_reject_changing_the_timezone_of_an_unregistered_business() {
    given_nothing()
        .when(BusinessCommand::SetTimezone(Tz::UTC))
        .then_expect_error(BusinessError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// SetBusinessHours
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_replace_the_business_hours() {
    given(vec![registered()])
        .when(BusinessCommand::SetBusinessHours(nine_to_five_on_weekdays()))
        .then_expect_events(vec![BusinessEvent::BusinessHoursChanged {
            hours: nine_to_five_on_weekdays(),
        }]);
}

#[test]
fn it_should_record_nothing_when_the_business_hours_are_unchanged() {
    given(vec![
        registered(),
        BusinessEvent::BusinessHoursChanged {
            hours: nine_to_five_on_weekdays(),
        },
    ])
    .when(BusinessCommand::SetBusinessHours(nine_to_five_on_weekdays()))
    .then_expect_events(vec![]);
}

#[test]
fn it_should_record_nothing_when_setting_always_open_hours_on_a_new_business() {
    given(vec![registered()])
        .when(BusinessCommand::SetBusinessHours(WeeklyHours::always_open()))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_reject_changing_the_hours_of_a_deactivated_business() {
    given(vec![registered(), deactivated()])
        .when(BusinessCommand::SetBusinessHours(nine_to_five_on_weekdays()))
        .then_expect_error(BusinessError::Deactivated);
}

// ---------------------------------------------------------------------------------------------
// SetOwnerAvailability
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_switch_the_owner_to_unavailable() {
    given(vec![registered()])
        .when(BusinessCommand::SetOwnerAvailability { available: false })
        .then_expect_events(vec![BusinessEvent::OwnerAvailabilityChanged {
            available: false,
        }]);
}

#[test]
fn it_should_switch_the_owner_back_to_available() {
    given(vec![
        registered(),
        BusinessEvent::OwnerAvailabilityChanged { available: false },
    ])
    .when(BusinessCommand::SetOwnerAvailability { available: true })
    .then_expect_events(vec![BusinessEvent::OwnerAvailabilityChanged {
        available: true,
    }]);
}

#[test]
fn it_should_record_nothing_when_availability_is_set_to_the_value_it_has() {
    given(vec![registered()])
        .when(BusinessCommand::SetOwnerAvailability { available: true })
        .then_expect_events(vec![]);
}

#[test]
fn it_should_record_nothing_for_a_double_click_on_unavailable() {
    given(vec![
        registered(),
        BusinessEvent::OwnerAvailabilityChanged { available: false },
    ])
    .when(BusinessCommand::SetOwnerAvailability { available: false })
    .then_expect_events(vec![]);
}

#[test]
fn it_should_reject_changing_availability_of_a_deactivated_business() {
    given(vec![registered(), deactivated()])
        .when(BusinessCommand::SetOwnerAvailability { available: false })
        .then_expect_error(BusinessError::Deactivated);
}

// ---------------------------------------------------------------------------------------------
// SetRingTimeout
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_change_the_ring_timeout() {
    given(vec![registered()])
        .when(BusinessCommand::SetRingTimeout(ring_timeout(35)))
        .then_expect_events(vec![BusinessEvent::RingTimeoutChanged {
            ring_timeout: ring_timeout(35),
        }]);
}

#[test]
fn it_should_record_nothing_when_the_ring_timeout_is_the_default_already() {
    given(vec![registered()])
        .when(BusinessCommand::SetRingTimeout(RingTimeout::default()))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_reject_changing_the_ring_timeout_of_an_unregistered_business() {
    given_nothing()
        .when(BusinessCommand::SetRingTimeout(ring_timeout(35)))
        .then_expect_error(BusinessError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// ConfigureAgent
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_configure_the_agent_with_a_key() {
    given(vec![registered()])
        .when(BusinessCommand::ConfigureAgent(agent_settings(Some(
            sealed_key("abcd"),
        ))))
        .then_expect_events(vec![agent_configured()]);
}

#[test]
fn it_should_reject_a_first_agent_configuration_without_a_key() {
    given(vec![registered()])
        .when(BusinessCommand::ConfigureAgent(agent_settings(None)))
        .then_expect_error(BusinessError::AgentKeyMissing);
}

#[test]
fn it_should_keep_the_key_in_force_when_reconfiguring_without_a_key() {
    let settings = AgentSettings {
        voice: "cedar".into(),
        ..agent_settings(None)
    };

    given(vec![registered(), agent_configured()])
        .when(BusinessCommand::ConfigureAgent(settings))
        .then_expect_events(vec![BusinessEvent::AgentConfigured {
            model: "gpt-realtime".into(),
            voice: "cedar".into(),
            instructions: "Take a message for Joe.".into(),
            api_key: sealed_key("abcd"),
        }]);
}

#[test]
fn it_should_replace_the_key_when_a_new_one_is_given() {
    given(vec![registered(), agent_configured()])
        .when(BusinessCommand::ConfigureAgent(agent_settings(Some(
            sealed_key("wxyz"),
        ))))
        .then_expect_events(vec![BusinessEvent::AgentConfigured {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
            instructions: "Take a message for Joe.".into(),
            api_key: sealed_key("wxyz"),
        }]);
}

#[test]
fn it_should_record_nothing_when_the_agent_is_configured_identically() {
    given(vec![registered(), agent_configured()])
        .when(BusinessCommand::ConfigureAgent(agent_settings(None)))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_re_enable_a_disabled_agent_configured_with_the_same_settings() {
    given(vec![
        registered(),
        agent_configured(),
        BusinessEvent::AgentDisabled,
    ])
    .when(BusinessCommand::ConfigureAgent(agent_settings(None)))
    .then_expect_events(vec![agent_configured()]);
}

#[test]
fn it_should_reject_an_agent_configuration_without_a_model() {
    let settings = AgentSettings {
        model: " ".into(),
        ..agent_settings(Some(sealed_key("abcd")))
    };

    given(vec![registered()])
        .when(BusinessCommand::ConfigureAgent(settings))
        .then_expect_error(BusinessError::Invalid(ValueError::BadText {
            field: "model",
            max: 64,
        }));
}

#[test]
fn it_should_reject_configuring_the_agent_of_a_deactivated_business() {
    given(vec![registered(), deactivated()])
        .when(BusinessCommand::ConfigureAgent(agent_settings(Some(
            sealed_key("abcd"),
        ))))
        .then_expect_error(BusinessError::Deactivated);
}

// ---------------------------------------------------------------------------------------------
// DisableAgent
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_disable_an_enabled_agent() {
    given(vec![registered(), agent_configured()])
        .when(BusinessCommand::DisableAgent)
        .then_expect_events(vec![BusinessEvent::AgentDisabled]);
}

#[test]
fn it_should_reject_disabling_an_agent_that_was_never_configured() {
    given(vec![registered()])
        .when(BusinessCommand::DisableAgent)
        .then_expect_error(BusinessError::AgentNotEnabled);
}

#[test]
fn it_should_reject_disabling_an_agent_twice() {
    given(vec![
        registered(),
        agent_configured(),
        BusinessEvent::AgentDisabled,
    ])
    .when(BusinessCommand::DisableAgent)
    .then_expect_error(BusinessError::AgentNotEnabled);
}

#[test]
fn it_should_reject_disabling_the_agent_of_a_deactivated_business() {
    given(vec![registered(), agent_configured(), deactivated()])
        .when(BusinessCommand::DisableAgent)
        .then_expect_error(BusinessError::Deactivated);
}

// ---------------------------------------------------------------------------------------------
// Deactivate
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_deactivate_an_active_business_with_a_trimmed_reason() {
    given(vec![registered()])
        .when(BusinessCommand::Deactivate {
            reason: " unpaid invoice ".into(),
        })
        .then_expect_events(vec![deactivated()]);
}

#[test]
fn it_should_deactivate_without_a_reason() {
    given(vec![registered()])
        .when(BusinessCommand::Deactivate {
            reason: "  ".into(),
        })
        .then_expect_events(vec![BusinessEvent::BusinessDeactivated {
            reason: String::new(),
        }]);
}

#[test]
fn it_should_reject_deactivating_a_deactivated_business() {
    given(vec![registered(), deactivated()])
        .when(BusinessCommand::Deactivate {
            reason: "again".into(),
        })
        .then_expect_error(BusinessError::Deactivated);
}

#[test]
fn it_should_reject_deactivating_an_unregistered_business() {
    given_nothing()
        .when(BusinessCommand::Deactivate {
            reason: String::new(),
        })
        .then_expect_error(BusinessError::NotFound);
}

// ---------------------------------------------------------------------------------------------
// Reactivate
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_reactivate_a_deactivated_business() {
    given(vec![registered(), deactivated()])
        .when(BusinessCommand::Reactivate)
        .then_expect_events(vec![BusinessEvent::BusinessReactivated]);
}

#[test]
fn it_should_reject_reactivating_an_active_business() {
    given(vec![registered()])
        .when(BusinessCommand::Reactivate)
        .then_expect_error(BusinessError::AlreadyActive);
}

#[test]
fn it_should_reject_reactivating_an_unregistered_business() {
    given_nothing()
        .when(BusinessCommand::Reactivate)
        .then_expect_error(BusinessError::NotFound);
}

#[test]
fn it_should_accept_changes_again_once_reactivated() {
    given(vec![
        registered(),
        deactivated(),
        BusinessEvent::BusinessReactivated,
    ])
    .when(BusinessCommand::SetOwnerAvailability { available: false })
    .then_expect_events(vec![BusinessEvent::OwnerAvailabilityChanged {
        available: false,
    }]);
}

// ---------------------------------------------------------------------------------------------
// Applying events
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_fold_events_into_the_state_routing_reads() {
    let business = state_after(vec![
        registered(),
        BusinessEvent::TimezoneChanged {
            timezone: chrono_tz::Europe::Berlin,
        },
        BusinessEvent::BusinessHoursChanged {
            hours: nine_to_five_on_weekdays(),
        },
        BusinessEvent::OwnerAvailabilityChanged { available: false },
        BusinessEvent::RingTimeoutChanged {
            ring_timeout: ring_timeout(35),
        },
        BusinessEvent::OwnerPhoneChanged { owner_phone: None },
        agent_configured(),
    ]);

    assert_eq!(business.id, Some(business_id()));
    assert!(business.active);
    assert_eq!(business.timezone, chrono_tz::Europe::Berlin);
    assert_eq!(business.hours, nine_to_five_on_weekdays());
    assert!(!business.owner_available);
    assert_eq!(business.ring_timeout, ring_timeout(35));
    assert_eq!(business.owner_phone, None);
    assert!(business.agent_ready());
}

#[test]
fn it_should_keep_the_agent_settings_when_the_agent_is_disabled() {
    let business = state_after(vec![
        registered(),
        agent_configured(),
        BusinessEvent::AgentDisabled,
    ]);

    assert!(!business.agent_ready());
    let agent = business.agent.expect("the settings are kept");
    assert_eq!(agent.api_key, sealed_key("abcd"));
    assert!(!agent.enabled);
}

#[test]
fn it_should_follow_deactivation_and_reactivation() {
    let deactivated_business = state_after(vec![registered(), deactivated()]);
    let reactivated_business = state_after(vec![
        registered(),
        deactivated(),
        BusinessEvent::BusinessReactivated,
    ]);

    assert!(!deactivated_business.active);
    assert!(reactivated_business.active);
}

#[test]
fn it_should_apply_events_in_an_unexpected_order_without_panicking() {
    let business = state_after(vec![
        BusinessEvent::AgentDisabled,
        BusinessEvent::BusinessReactivated,
        BusinessEvent::BusinessDeactivated {
            reason: String::new(),
        },
        BusinessEvent::OwnerAvailabilityChanged { available: false },
        registered(),
        BusinessEvent::AgentDisabled,
    ]);

    assert_eq!(business.id, Some(business_id()));
    assert!(business.active, "registering makes a business active");
    assert!(!business.owner_available);
    assert_eq!(
        business.agent, None,
        "disabling without an agent leaves none"
    );
}

fn quiet_nights() -> NotificationSettings {
    NotificationSettings {
        sms: true,
        email: false,
        triggers: vec![
            NotificationTrigger::MissedCall,
            NotificationTrigger::MessageTaken,
        ],
        quiet_hours: Some(QuietHours {
            from: time("22:00"),
            until: time("07:00"),
        }),
    }
}

#[test]
fn it_should_change_notification_settings_with_triggers_in_canonical_order() {
    given(vec![registered()])
        .when(BusinessCommand::SetNotificationSettings(quiet_nights()))
        .then_expect_events(vec![BusinessEvent::NotificationSettingsChanged {
            settings: NotificationSettings {
                triggers: vec![
                    NotificationTrigger::MessageTaken,
                    NotificationTrigger::MissedCall,
                ],
                ..quiet_nights()
            },
        }]);
}

#[test]
fn it_should_record_nothing_when_notification_settings_are_unchanged() {
    given(vec![registered()])
        .when(BusinessCommand::SetNotificationSettings(
            NotificationSettings::default(),
        ))
        .then_expect_events(vec![]);
    let changed = BusinessEvent::NotificationSettingsChanged {
        settings: quiet_nights().normalized(),
    };
    given(vec![registered(), changed])
        .when(BusinessCommand::SetNotificationSettings(quiet_nights()))
        .then_expect_events(vec![]);
}

#[test]
fn it_should_refuse_quiet_hours_that_end_when_they_start() {
    let settings = NotificationSettings {
        quiet_hours: Some(QuietHours {
            from: time("22:00"),
            until: time("22:00"),
        }),
        ..NotificationSettings::default()
    };
    given(vec![registered()])
        .when(BusinessCommand::SetNotificationSettings(settings))
        .then_expect_error(BusinessError::EmptyQuietHours);
}

mod privacy;
mod reseal;

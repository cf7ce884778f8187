use super::*;

use chrono::{Duration, TimeZone};
use chrono_tz::America::New_York;
use chrono_tz::Asia::Kolkata;
use chrono_tz::Australia::Sydney;
use chrono_tz::Europe::Berlin;
use chrono_tz::Tz;
use cqrs_es::Aggregate;
use uuid::Uuid;

use crate::business::{BusinessEvent, ClockTime, OpenRange, SealedSecret, WeeklyHours};
use crate::values::BusinessId;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const ALL_REASONS: [RouteReason; 5] = [
    RouteReason::OwnerUnavailable,
    RouteReason::OutsideBusinessHours,
    RouteReason::NoOwnerPhone,
    RouteReason::OwnerMissed,
    RouteReason::AgentFailed,
];

fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, 0)
        .single()
        .expect("fixture instants exist")
}

fn range(opens: &str, closes: &str) -> OpenRange {
    OpenRange {
        opens: ClockTime::parse(opens).expect("fixture times are HH:MM"),
        closes: ClockTime::parse(closes).expect("fixture times are HH:MM"),
    }
}

fn weekly(days: [Vec<OpenRange>; 7]) -> WeeklyHours {
    WeeklyHours::new(days).expect("fixture hours are valid")
}

fn every_day(ranges: &[OpenRange]) -> WeeklyHours {
    weekly(std::array::from_fn(|_| ranges.to_vec()))
}

/// Monday to Friday 09:00–12:00 and 13:00–17:00, Saturday 10:00–14:00, Sunday closed.
fn weekdays_with_lunch_break() -> WeeklyHours {
    let weekday = vec![range("09:00", "12:00"), range("13:00", "17:00")];
    weekly([
        weekday.clone(),
        weekday.clone(),
        weekday.clone(),
        weekday.clone(),
        weekday,
        vec![range("10:00", "14:00")],
        vec![],
    ])
}

fn owner_phone() -> E164 {
    E164::parse("+14155550123").expect("fixture phone is E.164")
}

fn ring_timeout(secs: u32) -> RingTimeout {
    RingTimeout::from_secs(secs).expect("fixture ring timeouts are in range")
}

fn registered(timezone: Tz) -> BusinessEvent {
    BusinessEvent::BusinessRegistered {
        id: BusinessId(Uuid::from_u128(0xB05)),
        name: "Joe's Plumbing".into(),
        description: String::new(),
        owner_user_id: None,
        owner_phone: Some(owner_phone()),
        timezone,
    }
}

fn agent_configured() -> BusinessEvent {
    BusinessEvent::AgentConfigured {
        model: "gpt-realtime".into(),
        voice: "marin".into(),
        instructions: "Take a message.".into(),
        api_key: SealedSecret {
            key_id: "k1".into(),
            ciphertext: "c2VhbGVk".into(),
            last_four: "abcd".into(),
        },
    }
}

/// A registered business in `timezone` with `hours`, the owner available and no agent.
fn business_in(timezone: Tz, hours: WeeklyHours) -> Business {
    with(
        Business::default(),
        [
            registered(timezone),
            BusinessEvent::BusinessHoursChanged { hours },
        ],
    )
}

fn with(mut business: Business, events: impl IntoIterator<Item = BusinessEvent>) -> Business {
    for event in events {
        business.apply(event);
    }
    business
}

/// The route of a call the owner takes, with the default ring timeout.
fn owner() -> Route {
    Route::Owner {
        owner_phone: owner_phone(),
        ring_timeout: RingTimeout::default(),
    }
}

/// The route of a call outside business hours to a business without an agent.
fn closed() -> Route {
    Route::Voicemail {
        why: RouteReason::OutsideBusinessHours,
    }
}

/// How many minutes, starting at `from`, the owner's phone would ring, over `hours` real hours.
fn open_minutes(business: &Business, from: DateTime<Utc>, hours: i64) -> usize {
    (0..hours * 60)
        .filter(|minute| {
            matches!(
                route_new_call(business, from + Duration::minutes(*minute)),
                Route::Owner { .. }
            )
        })
        .count()
}

// ---------------------------------------------------------------------------------------------
// Business hours
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_ring_the_owner_inside_business_hours() {
    let business = business_in(Tz::UTC, weekdays_with_lunch_break());

    let route = route_new_call(&business, utc(2026, 6, 15, 10, 0));

    assert_eq!(route, owner());
}

#[test]
fn it_should_send_a_call_outside_business_hours_to_the_ai_agent() {
    let business = with(
        business_in(Tz::UTC, weekdays_with_lunch_break()),
        [agent_configured()],
    );

    let route = route_new_call(&business, utc(2026, 6, 15, 18, 0));

    assert_eq!(
        route,
        Route::AiAgent {
            why: RouteReason::OutsideBusinessHours
        }
    );
}

#[test]
fn it_should_send_a_call_outside_business_hours_to_voicemail_without_an_agent() {
    let business = business_in(Tz::UTC, weekdays_with_lunch_break());

    let route = route_new_call(&business, utc(2026, 6, 15, 18, 0));

    assert_eq!(route, closed());
}

#[test]
fn it_should_open_at_the_opening_minute_and_close_at_the_closing_minute() {
    let business = business_in(Tz::UTC, weekdays_with_lunch_break());

    assert_eq!(route_new_call(&business, utc(2026, 6, 15, 8, 59)), closed());
    assert_eq!(route_new_call(&business, utc(2026, 6, 15, 9, 0)), owner());
    assert_eq!(route_new_call(&business, utc(2026, 6, 15, 16, 59)), owner());
    assert_eq!(route_new_call(&business, utc(2026, 6, 15, 17, 0)), closed());
}

#[test]
fn it_should_not_ring_the_owner_during_the_lunch_break() {
    let business = business_in(Tz::UTC, weekdays_with_lunch_break());

    assert_eq!(route_new_call(&business, utc(2026, 6, 15, 11, 59)), owner());
    assert_eq!(route_new_call(&business, utc(2026, 6, 15, 12, 0)), closed());
    assert_eq!(
        route_new_call(&business, utc(2026, 6, 15, 12, 30)),
        closed()
    );
    assert_eq!(route_new_call(&business, utc(2026, 6, 15, 13, 0)), owner());
}

#[test]
fn it_should_use_each_day_own_hours() {
    let business = business_in(Tz::UTC, weekdays_with_lunch_break());

    // 2026-06-20 is a Saturday: 10:00–14:00 only.
    assert_eq!(route_new_call(&business, utc(2026, 6, 20, 9, 30)), closed());
    assert_eq!(route_new_call(&business, utc(2026, 6, 20, 12, 30)), owner());
    assert_eq!(route_new_call(&business, utc(2026, 6, 20, 15, 0)), closed());
}

#[test]
fn it_should_keep_a_closed_day_closed_all_day() {
    let business = business_in(Tz::UTC, weekdays_with_lunch_break());

    // 2026-06-21 is a Sunday.
    assert_eq!(open_minutes(&business, utc(2026, 6, 21, 0, 0), 24), 0);
}

#[test]
fn it_should_ring_the_owner_around_the_clock_with_the_default_hours() {
    let business = with(Business::default(), [registered(Tz::UTC)]);

    assert_eq!(route_new_call(&business, utc(2026, 6, 21, 0, 0)), owner());
    assert_eq!(route_new_call(&business, utc(2026, 6, 21, 23, 59)), owner());
    assert_eq!(
        open_minutes(&business, utc(2026, 6, 15, 0, 0), 24 * 7),
        7 * 24 * 60
    );
}

// ---------------------------------------------------------------------------------------------
// Owner availability, owner phone, agent and ring timeout
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_not_ring_an_unavailable_owner_inside_business_hours() {
    let business = with(
        business_in(Tz::UTC, weekdays_with_lunch_break()),
        [
            agent_configured(),
            BusinessEvent::OwnerAvailabilityChanged { available: false },
        ],
    );

    let route = route_new_call(&business, utc(2026, 6, 15, 10, 0));

    assert_eq!(
        route,
        Route::AiAgent {
            why: RouteReason::OwnerUnavailable
        }
    );
}

#[test]
fn it_should_send_calls_for_an_unavailable_owner_to_voicemail_without_an_agent() {
    let business = with(
        business_in(Tz::UTC, weekdays_with_lunch_break()),
        [BusinessEvent::OwnerAvailabilityChanged { available: false }],
    );

    let route = route_new_call(&business, utc(2026, 6, 15, 10, 0));

    assert_eq!(
        route,
        Route::Voicemail {
            why: RouteReason::OwnerUnavailable
        }
    );
}

#[test]
fn it_should_give_owner_unavailability_as_the_reason_even_outside_business_hours() {
    let business = with(
        business_in(Tz::UTC, weekdays_with_lunch_break()),
        [BusinessEvent::OwnerAvailabilityChanged { available: false }],
    );

    let route = route_new_call(&business, utc(2026, 6, 21, 10, 0));

    assert_eq!(
        route,
        Route::Voicemail {
            why: RouteReason::OwnerUnavailable
        }
    );
}

#[test]
fn it_should_not_ring_the_owner_without_an_owner_phone() {
    let business = with(
        business_in(Tz::UTC, weekdays_with_lunch_break()),
        [
            agent_configured(),
            BusinessEvent::OwnerPhoneChanged { owner_phone: None },
        ],
    );

    let route = route_new_call(&business, utc(2026, 6, 15, 10, 0));

    assert_eq!(
        route,
        Route::AiAgent {
            why: RouteReason::NoOwnerPhone
        }
    );
}

#[test]
fn it_should_send_calls_to_voicemail_without_an_owner_phone_nor_an_agent() {
    let business = with(
        business_in(Tz::UTC, weekdays_with_lunch_break()),
        [BusinessEvent::OwnerPhoneChanged { owner_phone: None }],
    );

    let route = route_new_call(&business, utc(2026, 6, 15, 10, 0));

    assert_eq!(
        route,
        Route::Voicemail {
            why: RouteReason::NoOwnerPhone
        }
    );
}

#[test]
fn it_should_give_closed_hours_as_the_reason_when_there_is_also_no_owner_phone() {
    let business = with(
        business_in(Tz::UTC, weekdays_with_lunch_break()),
        [BusinessEvent::OwnerPhoneChanged { owner_phone: None }],
    );

    let route = route_new_call(&business, utc(2026, 6, 15, 20, 0));

    assert_eq!(route, closed());
}

#[test]
fn it_should_ring_the_owner_inside_business_hours_even_when_an_agent_is_configured() {
    let business = with(
        business_in(Tz::UTC, weekdays_with_lunch_break()),
        [agent_configured()],
    );

    let route = route_new_call(&business, utc(2026, 6, 15, 10, 0));

    assert_eq!(route, owner());
}

#[test]
fn it_should_send_calls_to_voicemail_when_the_agent_is_disabled() {
    let business = with(
        business_in(Tz::UTC, weekdays_with_lunch_break()),
        [agent_configured(), BusinessEvent::AgentDisabled],
    );

    let route = route_new_call(&business, utc(2026, 6, 15, 20, 0));

    assert_eq!(route, closed());
}

#[test]
fn it_should_carry_the_ring_timeout_into_the_owner_route() {
    let business = with(
        business_in(Tz::UTC, weekdays_with_lunch_break()),
        [BusinessEvent::RingTimeoutChanged {
            ring_timeout: ring_timeout(35),
        }],
    );

    let route = route_new_call(&business, utc(2026, 6, 15, 10, 0));

    assert_eq!(
        route,
        Route::Owner {
            owner_phone: owner_phone(),
            ring_timeout: ring_timeout(35)
        }
    );
}

#[test]
fn it_should_ring_the_phone_the_owner_changed_to() {
    let new_phone = E164::parse("+4930123456").expect("fixture phone is E.164");
    let business = with(
        business_in(Tz::UTC, weekdays_with_lunch_break()),
        [BusinessEvent::OwnerPhoneChanged {
            owner_phone: Some(new_phone.clone()),
        }],
    );

    let route = route_new_call(&business, utc(2026, 6, 15, 10, 0));

    assert_eq!(
        route,
        Route::Owner {
            owner_phone: new_phone,
            ring_timeout: RingTimeout::default()
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Fallback
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_fall_back_to_the_agent_for_every_reason_but_its_own_failure() {
    let business = with(
        business_in(Tz::UTC, WeeklyHours::always_open()),
        [agent_configured()],
    );

    for why in ALL_REASONS {
        let expected = if why == RouteReason::AgentFailed {
            Route::Voicemail { why }
        } else {
            Route::AiAgent { why }
        };
        assert_eq!(fallback(&business, why), expected, "{why:?}");
    }
}

#[test]
fn it_should_fall_back_to_voicemail_without_an_agent() {
    let business = business_in(Tz::UTC, WeeklyHours::always_open());

    for why in ALL_REASONS {
        assert_eq!(
            fallback(&business, why),
            Route::Voicemail { why },
            "{why:?}"
        );
    }
}

#[test]
fn it_should_fall_back_to_voicemail_when_the_agent_is_disabled() {
    let business = with(
        business_in(Tz::UTC, WeeklyHours::always_open()),
        [agent_configured(), BusinessEvent::AgentDisabled],
    );

    assert_eq!(
        fallback(&business, RouteReason::OwnerMissed),
        Route::Voicemail {
            why: RouteReason::OwnerMissed
        }
    );
}

#[test]
fn it_should_fall_back_to_the_agent_again_once_it_is_reconfigured() {
    let business = with(
        business_in(Tz::UTC, WeeklyHours::always_open()),
        [
            agent_configured(),
            BusinessEvent::AgentDisabled,
            agent_configured(),
        ],
    );

    assert_eq!(
        fallback(&business, RouteReason::OwnerMissed),
        Route::AiAgent {
            why: RouteReason::OwnerMissed
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Timezones
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_read_business_hours_in_the_business_timezone() {
    let nine_to_five = every_day(&[range("09:00", "17:00")]);
    // 2026-06-15 14:00 UTC is a Monday.
    let at = utc(2026, 6, 15, 14, 0);

    // 10:00 EDT.
    assert_eq!(
        route_new_call(&business_in(New_York, nine_to_five.clone()), at),
        owner()
    );
    // 16:00 CEST.
    assert_eq!(
        route_new_call(&business_in(Berlin, nine_to_five.clone()), at),
        owner()
    );
    // 19:30 IST.
    assert_eq!(
        route_new_call(&business_in(Kolkata, nine_to_five.clone()), at),
        closed()
    );
    // 00:00 AEST on Tuesday.
    assert_eq!(
        route_new_call(&business_in(Sydney, nine_to_five), at),
        closed()
    );
}

#[test]
fn it_should_be_open_in_one_timezone_while_closed_in_another() {
    let nine_to_five = every_day(&[range("09:00", "17:00")]);
    let new_york = business_in(New_York, nine_to_five.clone());
    let berlin = business_in(Berlin, nine_to_five);

    // 16:00 EDT, 22:00 CEST.
    assert_eq!(route_new_call(&new_york, utc(2026, 6, 15, 20, 0)), owner());
    assert_eq!(route_new_call(&berlin, utc(2026, 6, 15, 20, 0)), closed());
    // 03:00 EDT, 09:00 CEST.
    assert_eq!(route_new_call(&new_york, utc(2026, 6, 15, 7, 0)), closed());
    assert_eq!(route_new_call(&berlin, utc(2026, 6, 15, 7, 0)), owner());
}

#[test]
fn it_should_honour_the_half_hour_offset_of_kolkata() {
    let business = business_in(Kolkata, every_day(&[range("09:00", "17:00")]));

    // UTC+05:30: 09:00 IST is 03:30 UTC and 17:00 IST is 11:30 UTC.
    assert_eq!(route_new_call(&business, utc(2026, 6, 15, 3, 29)), closed());
    assert_eq!(route_new_call(&business, utc(2026, 6, 15, 3, 30)), owner());
    assert_eq!(route_new_call(&business, utc(2026, 6, 15, 11, 29)), owner());
    assert_eq!(
        route_new_call(&business, utc(2026, 6, 15, 11, 30)),
        closed()
    );
}

#[test]
fn it_should_read_the_weekday_in_the_business_timezone() {
    let mondays_only = weekly([
        vec![range("09:00", "17:00")],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    ]);
    let sydney = business_in(Sydney, mondays_only.clone());
    let utc_business = business_in(Tz::UTC, mondays_only);

    // Sunday 23:00 UTC is Monday 09:00 AEST.
    assert_eq!(route_new_call(&sydney, utc(2026, 6, 14, 23, 0)), owner());
    assert_eq!(
        route_new_call(&utc_business, utc(2026, 6, 14, 23, 0)),
        closed()
    );
    // Monday 08:00 UTC is Monday 18:00 AEST.
    assert_eq!(route_new_call(&sydney, utc(2026, 6, 15, 8, 0)), closed());
    assert_eq!(
        route_new_call(&utc_business, utc(2026, 6, 15, 10, 0)),
        owner()
    );
}

#[test]
fn it_should_follow_a_change_of_timezone() {
    let business = business_in(New_York, every_day(&[range("09:00", "17:00")]));
    let moved = with(
        business.clone(),
        [BusinessEvent::TimezoneChanged { timezone: Berlin }],
    );
    // 16:00 EDT, 22:00 CEST.
    let at = utc(2026, 6, 15, 20, 0);

    assert_eq!(route_new_call(&business, at), owner());
    assert_eq!(route_new_call(&moved, at), closed());
}

// ---------------------------------------------------------------------------------------------
// Daylight saving time: America/New_York (2026-03-08 and 2026-11-01)
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_open_an_hour_earlier_in_utc_after_the_new_york_spring_forward() {
    let business = business_in(New_York, every_day(&[range("08:00", "17:00")]));

    // Saturday 2026-03-07, EST (UTC-5).
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 7, 12, 30)),
        closed(),
        "07:30 EST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 7, 13, 0)),
        owner(),
        "08:00 EST"
    );
    // Sunday 2026-03-08, EDT (UTC-4) from 07:00 UTC.
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 8, 11, 59)),
        closed(),
        "07:59 EDT"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 8, 12, 30)),
        owner(),
        "08:30 EDT"
    );
    // Monday 2026-03-09, EDT.
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 9, 12, 30)),
        owner(),
        "08:30 EDT"
    );
}

#[test]
fn it_should_close_an_hour_earlier_in_utc_after_the_new_york_spring_forward() {
    let business = business_in(New_York, every_day(&[range("08:00", "17:00")]));

    assert_eq!(
        route_new_call(&business, utc(2026, 3, 7, 21, 30)),
        owner(),
        "16:30 EST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 7, 22, 0)),
        closed(),
        "17:00 EST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 9, 20, 59)),
        owner(),
        "16:59 EDT"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 9, 21, 30)),
        closed(),
        "17:30 EDT"
    );
}

#[test]
fn it_should_map_a_range_touching_the_skipped_hour_on_the_new_york_spring_forward() {
    let business = business_in(New_York, every_day(&[range("01:00", "03:00")]));

    assert_eq!(
        route_new_call(&business, utc(2026, 3, 8, 5, 59)),
        closed(),
        "00:59 EST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 8, 6, 0)),
        owner(),
        "01:00 EST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 8, 6, 59)),
        owner(),
        "01:59 EST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 8, 7, 0)),
        closed(),
        "03:00 EDT"
    );
    // 02:00–03:00 does not exist that night: the range lasts one real hour instead of two.
    assert_eq!(open_minutes(&business, utc(2026, 3, 8, 0, 0), 24), 60);
    assert_eq!(open_minutes(&business, utc(2026, 3, 15, 0, 0), 24), 120);
}

#[test]
fn it_should_never_open_a_range_inside_the_skipped_new_york_hour() {
    let business = business_in(New_York, every_day(&[range("02:00", "03:00")]));

    assert_eq!(open_minutes(&business, utc(2026, 3, 8, 0, 0), 24), 0);
    assert_eq!(open_minutes(&business, utc(2026, 3, 7, 0, 0), 24), 60);
}

#[test]
fn it_should_open_an_hour_later_in_utc_after_the_new_york_fall_back() {
    let business = business_in(New_York, every_day(&[range("08:00", "17:00")]));

    // Saturday 2026-10-31, EDT (UTC-4).
    assert_eq!(
        route_new_call(&business, utc(2026, 10, 31, 11, 59)),
        closed(),
        "07:59 EDT"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 10, 31, 12, 30)),
        owner(),
        "08:30 EDT"
    );
    // Sunday 2026-11-01, EST (UTC-5) from 06:00 UTC.
    assert_eq!(
        route_new_call(&business, utc(2026, 11, 1, 12, 30)),
        closed(),
        "07:30 EST"
    );
    // Monday 2026-11-02, EST.
    assert_eq!(
        route_new_call(&business, utc(2026, 11, 2, 12, 30)),
        closed(),
        "07:30 EST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 11, 2, 13, 0)),
        owner(),
        "08:00 EST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 11, 2, 21, 59)),
        owner(),
        "16:59 EST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 11, 2, 22, 0)),
        closed(),
        "17:00 EST"
    );
}

#[test]
fn it_should_open_the_repeated_hour_twice_on_the_new_york_fall_back() {
    let business = business_in(New_York, every_day(&[range("01:00", "02:00")]));

    assert_eq!(
        route_new_call(&business, utc(2026, 11, 1, 4, 59)),
        closed(),
        "00:59 EDT"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 11, 1, 5, 30)),
        owner(),
        "01:30 EDT"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 11, 1, 6, 30)),
        owner(),
        "01:30 EST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 11, 1, 7, 0)),
        closed(),
        "02:00 EST"
    );
    assert_eq!(open_minutes(&business, utc(2026, 11, 1, 0, 0), 24), 120);
}

#[test]
fn it_should_map_a_range_across_the_repeated_hour_on_the_new_york_fall_back() {
    let business = business_in(New_York, every_day(&[range("01:00", "03:00")]));

    assert_eq!(
        route_new_call(&business, utc(2026, 11, 1, 5, 0)),
        owner(),
        "01:00 EDT"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 11, 1, 7, 59)),
        owner(),
        "02:59 EST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 11, 1, 8, 0)),
        closed(),
        "03:00 EST"
    );
    // 01:00–02:00 happens twice that night: the range lasts three real hours instead of two.
    assert_eq!(open_minutes(&business, utc(2026, 11, 1, 0, 0), 24), 180);
    assert_eq!(open_minutes(&business, utc(2026, 11, 8, 0, 0), 24), 120);
}

// ---------------------------------------------------------------------------------------------
// Daylight saving time: Europe/Berlin (2026-03-29 and 2026-10-25)
// ---------------------------------------------------------------------------------------------

#[test]
fn it_should_map_business_hours_across_the_berlin_spring_forward() {
    let business = business_in(Berlin, every_day(&[range("08:00", "17:00")]));

    // Saturday 2026-03-28, CET (UTC+1).
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 28, 6, 30)),
        closed(),
        "07:30 CET"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 28, 15, 30)),
        owner(),
        "16:30 CET"
    );
    // Sunday 2026-03-29, CEST (UTC+2) from 01:00 UTC.
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 29, 6, 30)),
        owner(),
        "08:30 CEST"
    );
    // Monday 2026-03-30, CEST.
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 30, 6, 30)),
        owner(),
        "08:30 CEST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 30, 15, 30)),
        closed(),
        "17:30 CEST"
    );
}

#[test]
fn it_should_never_open_a_range_inside_the_skipped_berlin_hour() {
    let business = business_in(Berlin, every_day(&[range("02:00", "03:00")]));

    assert_eq!(
        route_new_call(&business, utc(2026, 3, 29, 0, 59)),
        closed(),
        "01:59 CET"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 3, 29, 1, 0)),
        closed(),
        "03:00 CEST"
    );
    assert_eq!(open_minutes(&business, utc(2026, 3, 28, 12, 0), 24), 0);
    assert_eq!(open_minutes(&business, utc(2026, 3, 21, 12, 0), 24), 60);
}

#[test]
fn it_should_map_business_hours_across_the_berlin_fall_back() {
    let business = business_in(Berlin, every_day(&[range("08:00", "17:00")]));

    // Saturday 2026-10-24, CEST (UTC+2).
    assert_eq!(
        route_new_call(&business, utc(2026, 10, 24, 6, 30)),
        owner(),
        "08:30 CEST"
    );
    // Sunday 2026-10-25, CET (UTC+1) from 01:00 UTC.
    assert_eq!(
        route_new_call(&business, utc(2026, 10, 25, 6, 30)),
        closed(),
        "07:30 CET"
    );
    // Monday 2026-10-26, CET.
    assert_eq!(
        route_new_call(&business, utc(2026, 10, 26, 6, 30)),
        closed(),
        "07:30 CET"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 10, 26, 7, 0)),
        owner(),
        "08:00 CET"
    );
}

#[test]
fn it_should_open_the_repeated_hour_twice_on_the_berlin_fall_back() {
    let business = business_in(Berlin, every_day(&[range("02:00", "03:00")]));

    assert_eq!(
        route_new_call(&business, utc(2026, 10, 24, 23, 59)),
        closed(),
        "01:59 CEST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 10, 25, 0, 30)),
        owner(),
        "02:30 CEST"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 10, 25, 1, 30)),
        owner(),
        "02:30 CET"
    );
    assert_eq!(
        route_new_call(&business, utc(2026, 10, 25, 2, 0)),
        closed(),
        "03:00 CET"
    );
    assert_eq!(open_minutes(&business, utc(2026, 10, 24, 12, 0), 24), 120);
}

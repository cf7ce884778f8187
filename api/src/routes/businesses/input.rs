//! Checking what clients send to the business endpoints (and the dashboard's business forms),
//! before any command: every malformed field answers 400 with a stable `invalid_<field>` code,
//! and nothing that PostgreSQL would refuse (a NUL character) or that the domain would reject
//! reaches the event store.

use std::str::FromStr;

use chrono_tz::Tz;
use domain::business::{ClockTime, OpenRange, WeeklyHours};
use domain::values::{bounded_text, RingTimeout, ValueError, E164};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api_error::ApiError;

/// Longest name (as the aggregate allows).
pub(crate) const NAME_MAX: usize = 120;
/// Longest description or deactivation reason.
pub(crate) const DESCRIPTION_MAX: usize = 2000;
/// Longest agent instructions.
pub(crate) const INSTRUCTIONS_MAX: usize = 20_000;
/// Longest model or voice name.
pub(crate) const SETTING_MAX: usize = 64;
/// Longest timezone name we look up.
const TIMEZONE_MAX: usize = 64;
/// Shortest OpenAI key we accept.
const API_KEY_MIN: usize = 8;
/// Longest OpenAI key we accept.
const API_KEY_MAX: usize = 512;

/// The stable code of a malformed field.
fn code(field: &str) -> &'static str {
    match field {
        "name" => "invalid_name",
        "description" => "invalid_description",
        "instructions" => "invalid_instructions",
        "model" => "invalid_model",
        "voice" => "invalid_voice",
        "reason" => "invalid_reason",
        _ => "invalid_input",
    }
}

/// A value the domain refused, as a 400.
pub(crate) fn invalid(err: ValueError) -> ApiError {
    match &err {
        ValueError::BadText { field, .. } => ApiError::bad_request(code(field), err),
        ValueError::NotE164(_) => ApiError::bad_request("invalid_owner_phone", err),
        ValueError::RingTimeoutOutOfRange(_) => ApiError::bad_request("invalid_ring_timeout", err),
        ValueError::NotCallSid(_) | ValueError::NotCurrency(_) => {
            ApiError::bad_request("invalid_input", err)
        }
    }
}

/// A free text of at most `max` characters without NUL; when `required`, not blank either.
/// Returned as given: the aggregate trims it.
pub(crate) fn text(
    field: &'static str,
    raw: &str,
    max: usize,
    required: bool,
) -> Result<String, ApiError> {
    let bad = || invalid(ValueError::BadText { field, max });
    if raw.chars().count() > max || raw.contains('\0') {
        return Err(bad());
    }
    if required {
        bounded_text(field, raw, max).map_err(|_| bad())?;
    }
    Ok(raw.to_owned())
}

/// An E.164 phone number.
pub(crate) fn phone(raw: &str) -> Result<E164, ApiError> {
    E164::parse(raw).map_err(invalid)
}

/// An IANA timezone name, e.g. `Europe/Berlin`.
pub(crate) fn timezone(raw: &str) -> Result<Tz, ApiError> {
    let unknown = || {
        ApiError::bad_request(
            "invalid_timezone",
            format!("'{raw}' is not an IANA timezone such as Europe/Berlin"),
        )
    };
    if raw.len() > TIMEZONE_MAX {
        return Err(unknown());
    }
    Tz::from_str(raw).map_err(|_| unknown())
}

/// A ring timeout in seconds (5 to 60).
pub(crate) fn ring_timeout(seconds: i64) -> Result<RingTimeout, ApiError> {
    let out_of_range = || {
        invalid(ValueError::RingTimeoutOutOfRange(
            u32::try_from(seconds).unwrap_or(u32::MAX),
        ))
    };
    let seconds = u32::try_from(seconds).map_err(|_| out_of_range())?;
    RingTimeout::from_secs(seconds).map_err(invalid)
}

/// An OpenAI API key: 8 to 512 visible ASCII characters (surrounding whitespace is dropped).
/// The message never repeats the key.
pub(crate) fn api_key(raw: &str) -> Result<String, ApiError> {
    let key = raw.trim();
    let length = key.chars().count();
    if (API_KEY_MIN..=API_KEY_MAX).contains(&length) && key.chars().all(|c| c.is_ascii_graphic()) {
        Ok(key.to_owned())
    } else {
        Err(ApiError::bad_request(
            "invalid_openai_api_key",
            format!(
                "openai_api_key must be {API_KEY_MIN} to {API_KEY_MAX} visible ASCII characters"
            ),
        ))
    }
}

/// One opening range as a person writes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RangeBody {
    /// When the owner starts taking calls, `HH:MM` (local time).
    #[schema(
        example = "09:00",
        pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
    )]
    opens: String,
    /// When the owner stops taking calls, `HH:MM`; `24:00` is the end of the day.
    #[schema(
        example = "17:00",
        pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
    )]
    closes: String,
}

/// Weekly hours: for each weekday, the ranges the owner takes calls in (several a day for a
/// lunch break). A day left out, or with no ranges, is closed. Ranges of a day must not
/// overlap, and each must close after it opens.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "monday": [{"opens": "09:00", "closes": "12:00"}, {"opens": "13:00", "closes": "17:00"}],
    "tuesday": [{"opens": "09:00", "closes": "17:00"}],
    "saturday": []
}))]
pub(super) struct HoursBody {
    /// Monday.
    #[serde(default)]
    monday: Vec<RangeBody>,
    /// Tuesday.
    #[serde(default)]
    tuesday: Vec<RangeBody>,
    /// Wednesday.
    #[serde(default)]
    wednesday: Vec<RangeBody>,
    /// Thursday.
    #[serde(default)]
    thursday: Vec<RangeBody>,
    /// Friday.
    #[serde(default)]
    friday: Vec<RangeBody>,
    /// Saturday.
    #[serde(default)]
    saturday: Vec<RangeBody>,
    /// Sunday.
    #[serde(default)]
    sunday: Vec<RangeBody>,
}

impl HoursBody {
    /// The validated hours.
    pub(super) fn parse(self) -> Result<WeeklyHours, ApiError> {
        let day = |ranges: Vec<RangeBody>| -> Vec<(String, String)> {
            ranges
                .into_iter()
                .map(|range| (range.opens, range.closes))
                .collect()
        };
        weekly_hours([
            day(self.monday),
            day(self.tuesday),
            day(self.wednesday),
            day(self.thursday),
            day(self.friday),
            day(self.saturday),
            day(self.sunday),
        ])
    }
}

/// Weekly hours from each weekday's `(opens, closes)` ranges as written (`HH:MM`, `24:00` the
/// end of the day), Monday first: every time well-formed, every range closing after it opens,
/// no two ranges of a day overlapping.
pub(crate) fn weekly_hours(days: [Vec<(String, String)>; 7]) -> Result<WeeklyHours, ApiError> {
    let bad =
        |err: domain::business::hours::HoursError| ApiError::bad_request("invalid_hours", err);
    let mut parsed: [Vec<OpenRange>; 7] = Default::default();
    for (ranges, written) in parsed.iter_mut().zip(days) {
        for (opens, closes) in written {
            ranges.push(OpenRange {
                opens: ClockTime::parse(&opens).map_err(bad)?,
                closes: ClockTime::parse(&closes).map_err(bad)?,
            });
        }
    }
    WeeklyHours::new(parsed).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(json: serde_json::Value) -> Result<WeeklyHours, &'static str> {
        serde_json::from_value::<HoursBody>(json)
            .map_err(|_| "malformed")?
            .parse()
            .map_err(|err| err.code())
    }

    #[test]
    fn it_should_read_named_days_and_close_the_days_left_out() {
        let parsed = hours(serde_json::json!({
            "monday": [{"opens": "13:00", "closes": "17:00"}, {"opens": "09:00", "closes": "12:00"}],
            "sunday": []
        }))
        .unwrap();
        assert_eq!(parsed.day(chrono::Weekday::Mon).len(), 2);
        assert!(parsed.day(chrono::Weekday::Tue).is_empty());
    }

    #[test]
    fn it_should_refuse_overlapping_reversed_and_malformed_ranges() {
        for bad in [
            serde_json::json!({"friday": [{"opens": "09:00", "closes": "12:00"}, {"opens": "11:00", "closes": "14:00"}]}),
            serde_json::json!({"friday": [{"opens": "17:00", "closes": "09:00"}]}),
            serde_json::json!({"friday": [{"opens": "9:00", "closes": "17:00"}]}),
            serde_json::json!({"friday": [{"opens": "09:00", "closes": "24:01"}]}),
        ] {
            assert_eq!(hours(bad.clone()).err(), Some("invalid_hours"), "{bad}");
        }
        assert_eq!(
            hours(serde_json::json!({"funday": []})).err(),
            Some("malformed")
        );
    }

    #[test]
    fn it_should_refuse_texts_with_nul_or_too_long_or_blank_when_required() {
        assert_eq!(
            text("name", "Joe\0", 120, true).err().map(|e| e.code()),
            Some("invalid_name")
        );
        assert_eq!(
            text("name", "   ", 120, true).err().map(|e| e.code()),
            Some("invalid_name")
        );
        assert!(text("description", "   ", 2000, false).is_ok());
        assert!(text("name", &"x".repeat(121), 120, true).is_err());
        assert!(text("name", &"é".repeat(120), 120, true).is_ok());
    }

    #[test]
    fn it_should_accept_only_iana_timezones_and_ring_timeouts_in_range() {
        assert!(timezone("Europe/Berlin").is_ok());
        assert_eq!(
            timezone("Mars/Olympus").err().map(|e| e.code()),
            Some("invalid_timezone")
        );
        assert!(ring_timeout(5).is_ok());
        for bad in [3, 61, -1, i64::MAX] {
            assert_eq!(
                ring_timeout(bad).err().map(|e| e.code()),
                Some("invalid_ring_timeout")
            );
        }
    }

    #[test]
    fn it_should_never_repeat_a_refused_api_key() {
        let err = api_key("sk-with a space").unwrap_err();
        assert_eq!(err.code(), "invalid_openai_api_key");
        assert!(!err.to_string().contains("sk-with"));
        assert_eq!(api_key(" sk-0123456789 \n").unwrap(), "sk-0123456789");
    }
}

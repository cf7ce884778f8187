//! Weekly hours as people read them: one named list of ranges per weekday, times as `HH:MM`.
//!
//! The domain keeps hours as seven lists, Monday first (compact, and what events store); the
//! REST API answers with this shape instead, the same one it accepts, so a client can send
//! back what it read.

use chrono::Weekday;
use domain::business::{OpenRange, WeeklyHours};
use serde::Serialize;
use utoipa::ToSchema;

/// One opening range: from `opens` (inclusive) to `closes` (exclusive), local wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HoursRange {
    /// When the owner starts taking calls (`HH:MM`).
    #[schema(
        example = "09:00",
        pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
    )]
    pub opens: String,
    /// When the owner stops taking calls (`HH:MM`, `24:00` is the end of the day).
    #[schema(
        example = "17:00",
        pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
    )]
    pub closes: String,
}

impl From<&OpenRange> for HoursRange {
    fn from(range: &OpenRange) -> Self {
        Self {
            opens: range.opens.to_string(),
            closes: range.closes.to_string(),
        }
    }
}

/// The opening ranges of each weekday, in the business' timezone, sorted; an empty list is a
/// closed day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct WeekHours {
    /// Monday.
    pub monday: Vec<HoursRange>,
    /// Tuesday.
    pub tuesday: Vec<HoursRange>,
    /// Wednesday.
    pub wednesday: Vec<HoursRange>,
    /// Thursday.
    pub thursday: Vec<HoursRange>,
    /// Friday.
    pub friday: Vec<HoursRange>,
    /// Saturday.
    pub saturday: Vec<HoursRange>,
    /// Sunday.
    pub sunday: Vec<HoursRange>,
}

impl From<&WeeklyHours> for WeekHours {
    fn from(hours: &WeeklyHours) -> Self {
        let day = |day| hours.day(day).iter().map(HoursRange::from).collect();
        Self {
            monday: day(Weekday::Mon),
            tuesday: day(Weekday::Tue),
            wednesday: day(Weekday::Wed),
            thursday: day(Weekday::Thu),
            friday: day(Weekday::Fri),
            saturday: day(Weekday::Sat),
            sunday: day(Weekday::Sun),
        }
    }
}

impl From<WeeklyHours> for WeekHours {
    fn from(hours: WeeklyHours) -> Self {
        Self::from(&hours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::business::ClockTime;

    #[test]
    fn it_should_name_the_days_and_write_times_as_hours_and_minutes() {
        let mut days: [Vec<OpenRange>; 7] = Default::default();
        days[0] = vec![OpenRange {
            opens: ClockTime::hm(9, 0).unwrap(),
            closes: ClockTime::END_OF_DAY,
        }];
        let shown = WeekHours::from(WeeklyHours::new(days).unwrap());
        assert_eq!(
            serde_json::to_value(&shown).unwrap(),
            serde_json::json!({
                "monday": [{"opens": "09:00", "closes": "24:00"}],
                "tuesday": [], "wednesday": [], "thursday": [], "friday": [],
                "saturday": [], "sunday": []
            })
        );
    }
}

//! Weekly business hours: for each weekday, the ranges of local wall-clock time during which the
//! owner takes calls. Several ranges a day are allowed (a lunch break), and a day without
//! ranges is closed.

use std::fmt;

use chrono::{Datelike, NaiveDateTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};

/// Malformed business hours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// Not `HH:MM` with `00:00` ≤ time ≤ `24:00`.
    #[error("'{0}' is not a time of day (HH:MM, 00:00 to 24:00)")]
    BadTime(String),
    /// A range that closes before (or when) it opens.
    #[error("on {day} a range closes at {closes} before it opens at {opens}")]
    EmptyRange {
        /// Which day.
        day: Weekday,
        /// Opening time.
        opens: ClockTime,
        /// Closing time.
        closes: ClockTime,
    },
    /// Two ranges of one day overlap.
    #[error("on {0} two ranges overlap")]
    Overlap(Weekday),
}

/// A wall-clock time as minutes since midnight, `00:00` to `24:00` (the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClockTime(u16);

impl ClockTime {
    /// Midnight at the start of the day.
    pub const MIDNIGHT: Self = Self(0);
    /// Midnight at the end of the day.
    pub const END_OF_DAY: Self = Self(24 * 60);

    /// Builds a time from hours and minutes; `24:00` is allowed as the end of the day.
    pub fn hm(hours: u16, minutes: u16) -> Result<Self, HoursError> {
        let total = hours * 60 + minutes;
        if minutes < 60 && total <= 24 * 60 {
            Ok(Self(total))
        } else {
            Err(HoursError::BadTime(format!("{hours:02}:{minutes:02}")))
        }
    }

    /// Parses `HH:MM`.
    pub fn parse(raw: &str) -> Result<Self, HoursError> {
        let bad = || HoursError::BadTime(raw.to_owned());
        let (h, m) = raw.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let hours: u16 = h.parse().map_err(|_| bad())?;
        let minutes: u16 = m.parse().map_err(|_| bad())?;
        Self::hm(hours, minutes).map_err(|_| bad())
    }

    /// Minutes since midnight (0 to 1440).
    pub fn minutes(self) -> u16 {
        self.0
    }

    pub(crate) fn minute_of_day(time: &NaiveDateTime) -> u16 {
        // hour() < 24 and minute() < 60, so this fits in u16.
        (time.hour() * 60 + time.minute()) as u16
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl TryFrom<String> for ClockTime {
    type Error = HoursError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ClockTime> for String {
    fn from(time: ClockTime) -> Self {
        time.to_string()
    }
}

/// One opening range of a day: from `opens` (inclusive) to `closes` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenRange {
    /// When the owner starts taking calls.
    pub opens: ClockTime,
    /// When the owner stops taking calls.
    pub closes: ClockTime,
}

/// The opening ranges of each weekday, Monday first. Validated: every range is non-empty,
/// ranges of a day are sorted and do not overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "[Vec<OpenRange>; 7]", into = "[Vec<OpenRange>; 7]")]
pub struct WeeklyHours([Vec<OpenRange>; 7]);

impl WeeklyHours {
    /// Validates the ranges of each day (Monday first), sorting them.
    pub fn new(mut days: [Vec<OpenRange>; 7]) -> Result<Self, HoursError> {
        for (index, ranges) in days.iter_mut().enumerate() {
            let day = weekday_from_monday(index);
            ranges.sort_by_key(|range| range.opens);
            for range in ranges.iter() {
                if range.closes <= range.opens {
                    return Err(HoursError::EmptyRange {
                        day,
                        opens: range.opens,
                        closes: range.closes,
                    });
                }
            }
            if ranges.windows(2).any(|pair| pair[1].opens < pair[0].closes) {
                return Err(HoursError::Overlap(day));
            }
        }
        Ok(Self(days))
    }

    /// Open around the clock, every day: the default, so a new business never sends calls to
    /// the agent just because nobody set its hours.
    pub fn always_open() -> Self {
        let all_day = vec![OpenRange {
            opens: ClockTime::MIDNIGHT,
            closes: ClockTime::END_OF_DAY,
        }];
        Self(std::array::from_fn(|_| all_day.clone()))
    }

    /// The ranges of one day.
    pub fn day(&self, day: Weekday) -> &[OpenRange] {
        &self.0[day.num_days_from_monday() as usize]
    }

    /// Whether a local wall-clock time falls inside an opening range.
    pub fn is_open_at(&self, local: &NaiveDateTime) -> bool {
        let minute = ClockTime::minute_of_day(local);
        self.day(local.weekday())
            .iter()
            .any(|range| range.opens.0 <= minute && minute < range.closes.0)
    }
}

impl Default for WeeklyHours {
    fn default() -> Self {
        Self::always_open()
    }
}

impl TryFrom<[Vec<OpenRange>; 7]> for WeeklyHours {
    type Error = HoursError;
    fn try_from(days: [Vec<OpenRange>; 7]) -> Result<Self, Self::Error> {
        Self::new(days)
    }
}

impl From<WeeklyHours> for [Vec<OpenRange>; 7] {
    fn from(hours: WeeklyHours) -> Self {
        hours.0
    }
}

fn weekday_from_monday(index: usize) -> Weekday {
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ][index % 7]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn range(opens: &str, closes: &str) -> OpenRange {
        OpenRange {
            opens: ClockTime::parse(opens).unwrap(),
            closes: ClockTime::parse(closes).unwrap(),
        }
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn it_should_parse_clock_times_up_to_the_end_of_the_day() {
        assert_eq!(ClockTime::parse("09:30").unwrap().to_string(), "09:30");
        assert_eq!(ClockTime::parse("24:00").unwrap(), ClockTime::END_OF_DAY);
        for bad in ["24:01", "9:30", "09:60", "0930", "ab:cd", ""] {
            assert!(ClockTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn it_should_allow_a_lunch_break_and_closed_days() {
        let weekday = vec![range("13:00", "17:00"), range("09:00", "12:00")];
        let hours = WeeklyHours::new([
            weekday.clone(),
            weekday.clone(),
            weekday.clone(),
            weekday.clone(),
            weekday,
            vec![],
            vec![],
        ])
        .unwrap();
        // 2026-11-23 is a Monday.
        assert!(hours.is_open_at(&at(2026, 11, 23, 9, 0)));
        assert!(!hours.is_open_at(&at(2026, 11, 23, 12, 30)));
        assert!(hours.is_open_at(&at(2026, 11, 23, 16, 59)));
        assert!(
            !hours.is_open_at(&at(2026, 11, 23, 17, 0)),
            "closing time is exclusive"
        );
        assert!(
            !hours.is_open_at(&at(2026, 11, 28, 10, 0)),
            "Saturday is closed"
        );
    }

    #[test]
    fn it_should_reject_empty_and_overlapping_ranges() {
        let mut days: [Vec<OpenRange>; 7] = Default::default();
        days[2] = vec![range("10:00", "10:00")];
        assert!(matches!(
            WeeklyHours::new(days),
            Err(HoursError::EmptyRange {
                day: Weekday::Wed,
                ..
            })
        ));
        let mut days: [Vec<OpenRange>; 7] = Default::default();
        days[4] = vec![range("09:00", "12:00"), range("11:00", "14:00")];
        assert_eq!(
            WeeklyHours::new(days),
            Err(HoursError::Overlap(Weekday::Fri))
        );
    }

    #[test]
    fn it_should_validate_hours_when_deserialising() {
        let json = r#"[[{"opens":"12:00","closes":"09:00"}],[],[],[],[],[],[]]"#;
        assert!(serde_json::from_str::<WeeklyHours>(json).is_err());
        let json = r#"[[{"opens":"09:00","closes":"17:00"}],[],[],[],[],[],[]]"#;
        let hours: WeeklyHours = serde_json::from_str(json).unwrap();
        assert_eq!(hours.day(Weekday::Mon).len(), 1);
    }
}

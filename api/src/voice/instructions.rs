//! The agent's instructions for one call: what the owner wrote, completed with what the model
//! cannot know — the business' name, its opening hours and the date and time where the business
//! is — so it can answer "are you open tomorrow?" and date a message correctly.

use chrono::{DateTime, Utc, Weekday};
use domain::business::{Business, WeeklyHours};

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The instructions for a call to `business` at `now`, starting from the owner's `written` ones.
pub fn for_call(business: &Business, written: &str, now: DateTime<Utc>) -> String {
    let local = now.with_timezone(&business.timezone);
    format!(
        "{written}\n\n\
         You answer the phone for {name}. You speak with the caller over a phone line: keep \
         answers short and natural, one or two sentences.\n\
         Now it is {date} ({timezone}).\n\
         Opening hours ({timezone}):\n{hours}\n\
         Greet the caller first, naming the business. When the caller wants something passed on, \
         call take_message with what they said. When the conversation is over, say goodbye and \
         call end_call.",
        written = written.trim(),
        name = business.name,
        date = local.format("%A %-d %B %Y, %H:%M"),
        timezone = business.timezone.name(),
        hours = hours_text(&business.hours),
    )
}

/// One line per weekday: `Monday: 09:00–12:00, 13:00–17:00`, or `closed`.
fn hours_text(hours: &WeeklyHours) -> String {
    if *hours == WeeklyHours::always_open() {
        return "- open around the clock, every day".to_owned();
    }
    WEEK.iter()
        .map(|day| {
            let ranges = hours.day(*day);
            let open = if ranges.is_empty() {
                "closed".to_owned()
            } else {
                ranges
                    .iter()
                    .map(|range| format!("{}–{}", range.opens, range.closes))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!("- {}: {open}", day_name(*day))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn day_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use domain::business::{ClockTime, OpenRange};

    fn range(opens: &str, closes: &str) -> OpenRange {
        OpenRange {
            opens: ClockTime::parse(opens).unwrap(),
            closes: ClockTime::parse(closes).unwrap(),
        }
    }

    fn business() -> Business {
        let weekday = vec![range("09:00", "12:00"), range("13:00", "17:00")];
        Business {
            name: "Joe's Plumbing".into(),
            timezone: chrono_tz::Europe::Paris,
            hours: WeeklyHours::new([
                weekday.clone(),
                weekday.clone(),
                weekday.clone(),
                weekday.clone(),
                weekday,
                vec![range("10:00", "14:00")],
                vec![],
            ])
            .unwrap(),
            ..Business::default()
        }
    }

    #[test]
    fn it_should_complete_the_instructions_with_name_hours_and_local_time() {
        // 22:30 UTC on Monday 23 November 2026 is 23:30 in Paris.
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 22, 30, 0).unwrap();

        let text = for_call(&business(), "  Be kind.  ", now);

        assert!(text.starts_with("Be kind.\n\n"), "{text}");
        assert!(text.contains("for Joe's Plumbing"), "{text}");
        assert!(
            text.contains("Now it is Monday 23 November 2026, 23:30 (Europe/Paris)"),
            "{text}"
        );
        assert!(
            text.contains("- Monday: 09:00–12:00, 13:00–17:00"),
            "{text}"
        );
        assert!(text.contains("- Saturday: 10:00–14:00"), "{text}");
        assert!(text.contains("- Sunday: closed"), "{text}");
        assert!(text.contains("take_message") && text.contains("end_call"));
    }

    #[test]
    fn it_should_say_when_the_business_is_always_open() {
        let business = Business {
            name: "Open Shop".into(),
            ..Business::default()
        };

        let text = for_call(&business, "Hi.", Utc::now());

        assert!(text.contains("open around the clock"), "{text}");
        assert!(text.contains("(UTC)"), "{text}");
    }
}

//! How a business' owner wants to be told about calls: which happenings notify (a message taken,
//! a voicemail, a missed call), on which channels (SMS to the owner's phone, email to the
//! owner's account address), and the quiet hours during which text messages wait.
//!
//! Quiet hours hold SMS only: an email does not wake anyone, so it goes at once. They are read
//! in the business' timezone, may cross midnight (`22:00`–`07:00`), and a message held by them
//! goes out when they end.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::hours::ClockTime;

/// What happened on a call that an owner may want to hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationTrigger {
    /// The AI agent took a message.
    MessageTaken,
    /// The caller left a voicemail.
    VoicemailRecorded,
    /// Nobody (owner, agent, voicemail) got anything from the caller.
    MissedCall,
}

impl NotificationTrigger {
    /// Every trigger, in the order settings show them.
    pub const ALL: [Self; 3] = [
        Self::MessageTaken,
        Self::VoicemailRecorded,
        Self::MissedCall,
    ];

    /// The persisted name, e.g. `message_taken`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageTaken => "message_taken",
            Self::VoicemailRecorded => "voicemail_recorded",
            Self::MissedCall => "missed_call",
        }
    }
}

/// How an owner is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationChannel {
    /// A text message to the owner's phone, from the number that was called.
    Sms,
    /// An email to the owner's account address (when the deployment has SMTP settings).
    Email,
}

impl NotificationChannel {
    /// The persisted name, e.g. `sms`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }
}

/// A daily span of local time during which text messages wait. `from` == `until` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    /// When the quiet starts (inclusive).
    pub from: ClockTime,
    /// When it ends (exclusive); earlier than `from` when it crosses midnight.
    pub until: ClockTime,
}

impl QuietHours {
    /// Whether `local` (wall-clock time in the business' timezone) is within the quiet hours.
    pub fn contains(&self, local: &NaiveDateTime) -> bool {
        let minute = ClockTime::minute_of_day(local);
        let (from, until) = (self.from.minutes(), self.until.minutes());
        if from < until {
            (from..until).contains(&minute)
        } else {
            minute >= from || minute < until
        }
    }

    /// When a text message due at `now` may go: `None` if now is outside the quiet hours,
    /// otherwise the end of this quiet span (in `timezone`), as an instant.
    pub fn resume_at(&self, now: DateTime<Utc>, timezone: Tz) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&timezone).naive_local();
        if !self.contains(&local) {
            return None;
        }
        let until = i64::from(self.until.minutes());
        let midnight = local.date().and_time(chrono::NaiveTime::MIN);
        let mut end = midnight + Duration::minutes(until);
        if end <= local {
            end += Duration::days(1);
        }
        // A wall-clock time skipped by a daylight-saving jump: the quiet ends an hour later.
        let resolved = timezone.from_local_datetime(&end).earliest().or_else(|| {
            timezone
                .from_local_datetime(&(end + Duration::hours(1)))
                .earliest()
        })?;
        Some(resolved.with_timezone(&Utc))
    }
}

/// A business' notification settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationSettings {
    /// Text the owner's phone.
    pub sms: bool,
    /// Email the owner's account address (only where SMTP is configured).
    pub email: bool,
    /// Which happenings notify.
    pub triggers: Vec<NotificationTrigger>,
    /// When text messages wait.
    pub quiet_hours: Option<QuietHours>,
}

impl Default for NotificationSettings {
    /// Every happening, by SMS and email, at any hour: an owner who never opened the settings
    /// still hears about the messages the agent takes.
    fn default() -> Self {
        Self {
            sms: true,
            email: true,
            triggers: NotificationTrigger::ALL.to_vec(),
            quiet_hours: None,
        }
    }
}

impl NotificationSettings {
    /// Whether `trigger` notifies at all.
    pub fn notifies_on(&self, trigger: NotificationTrigger) -> bool {
        self.triggers.contains(&trigger)
    }

    /// The channels `trigger` goes out on, SMS first.
    pub fn channels_for(&self, trigger: NotificationTrigger) -> Vec<NotificationChannel> {
        if !self.notifies_on(trigger) {
            return vec![];
        }
        let mut channels = Vec::with_capacity(2);
        if self.sms {
            channels.push(NotificationChannel::Sms);
        }
        if self.email {
            channels.push(NotificationChannel::Email);
        }
        channels
    }

    /// The same settings in a canonical form: triggers de-duplicated, in [`NotificationTrigger::ALL`]'s order.
    pub fn normalized(mut self) -> Self {
        self.triggers = NotificationTrigger::ALL
            .into_iter()
            .filter(|trigger| self.triggers.contains(trigger))
            .collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn quiet(from: &str, until: &str) -> QuietHours {
        QuietHours {
            from: ClockTime::parse(from).unwrap(),
            until: ClockTime::parse(until).unwrap(),
        }
    }

    fn local(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 10)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn it_should_hold_texts_inside_quiet_hours_that_cross_midnight() {
        let night = quiet("22:00", "07:00");
        assert!(night.contains(&local(22, 0)));
        assert!(night.contains(&local(23, 59)));
        assert!(night.contains(&local(0, 0)));
        assert!(night.contains(&local(6, 59)));
        assert!(!night.contains(&local(7, 0)));
        assert!(!night.contains(&local(21, 59)));
        assert!(!night.contains(&local(12, 0)));
    }

    #[test]
    fn it_should_hold_texts_inside_quiet_hours_within_one_day() {
        let lunch = quiet("12:00", "13:30");
        assert!(lunch.contains(&local(12, 0)));
        assert!(lunch.contains(&local(13, 29)));
        assert!(!lunch.contains(&local(13, 30)));
        assert!(!lunch.contains(&local(11, 59)));
    }

    #[test]
    fn it_should_resume_when_the_quiet_ends_in_the_business_timezone() {
        let night = quiet("22:00", "07:00");
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 23:30 in Berlin (UTC+1 in January) is 22:30 UTC; quiet ends at 07:00 Berlin = 06:00 UTC.
        let now = Utc.with_ymd_and_hms(2026, 1, 14, 22, 30, 0).unwrap();
        assert_eq!(
            night.resume_at(now, berlin),
            Some(Utc.with_ymd_and_hms(2026, 1, 15, 6, 0, 0).unwrap())
        );
        // 02:00 Berlin: the same morning.
        let now = Utc.with_ymd_and_hms(2026, 1, 15, 1, 0, 0).unwrap();
        assert_eq!(
            night.resume_at(now, berlin),
            Some(Utc.with_ymd_and_hms(2026, 1, 15, 6, 0, 0).unwrap())
        );
        // 12:00 Berlin: not quiet.
        let now = Utc.with_ymd_and_hms(2026, 1, 15, 11, 0, 0).unwrap();
        assert_eq!(night.resume_at(now, berlin), None);
    }

    #[test]
    fn it_should_resume_an_hour_later_when_the_end_falls_into_a_daylight_saving_gap() {
        // New York skips 02:00–03:00 on 2026-03-08.
        let quiet = quiet("01:00", "02:30");
        let new_york: Tz = "America/New_York".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 8, 6, 15, 0).unwrap(); // 01:15 EST
        let resumed = quiet.resume_at(now, new_york).unwrap();
        assert_eq!(resumed, Utc.with_ymd_and_hms(2026, 3, 8, 7, 30, 0).unwrap());
        // 03:30 EDT
    }

    #[test]
    fn it_should_notify_on_the_chosen_triggers_and_channels_only() {
        let settings = NotificationSettings {
            sms: false,
            email: true,
            triggers: vec![NotificationTrigger::VoicemailRecorded],
            quiet_hours: None,
        };
        assert_eq!(
            settings.channels_for(NotificationTrigger::VoicemailRecorded),
            vec![NotificationChannel::Email]
        );
        assert!(settings
            .channels_for(NotificationTrigger::MessageTaken)
            .is_empty());
        assert_eq!(
            NotificationSettings::default().channels_for(NotificationTrigger::MissedCall),
            vec![NotificationChannel::Sms, NotificationChannel::Email]
        );
    }

    #[test]
    fn it_should_order_and_deduplicate_triggers() {
        let settings = NotificationSettings {
            triggers: vec![
                NotificationTrigger::MissedCall,
                NotificationTrigger::MessageTaken,
                NotificationTrigger::MissedCall,
            ],
            ..NotificationSettings::default()
        }
        .normalized();
        assert_eq!(
            settings.triggers,
            vec![
                NotificationTrigger::MessageTaken,
                NotificationTrigger::MissedCall
            ]
        );
    }
}

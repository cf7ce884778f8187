//! What a notification says. Pure, so the wording is pinned by tests: a text message is short
//! (one or two SMS segments), names the business (an owner may have several), who called and
//! what they want, and links to the call's page on the dashboard.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::call::Urgency;
use domain::values::CallerId;

/// A text message longer than this is cut (with `…`): two SMS segments of GSM-7 text.
pub const SMS_MAX_CHARS: usize = 306;

/// What the notification is about, with the facts it tells.
#[derive(Debug, Clone, PartialEq)]
pub enum About {
    /// The agent took a message.
    Message {
        /// Caller's name, if given.
        caller_name: Option<String>,
        /// Where to call back, if given.
        callback_number: Option<String>,
        /// The message.
        message: String,
        /// How urgent.
        urgency: Urgency,
    },
    /// A voicemail was left.
    Voicemail {
        /// Its length.
        duration_secs: u32,
    },
    /// Nobody took the call.
    MissedCall,
}

/// Everything a notification is composed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The business' name.
    pub business: String,
    /// Its timezone, for the time of the call.
    pub timezone: Tz,
    /// Who called.
    pub caller: CallerId,
    /// When the call came in.
    pub at: Option<DateTime<Utc>>,
    /// What happened.
    pub about: About,
    /// The call's page on the dashboard, when the public URL is known.
    pub link: Option<String>,
}

impl Facts {
    fn caller(&self) -> String {
        match &self.caller {
            CallerId::Number(number) => number.to_string(),
            CallerId::Withheld => "a withheld number".to_owned(),
            CallerId::Other(raw) => raw.clone(),
        }
    }

    fn time(&self) -> Option<String> {
        self.at.map(|at| {
            at.with_timezone(&self.timezone)
                .format("%a %-d %b %H:%M")
                .to_string()
        })
    }

    /// The text message.
    pub fn sms(&self) -> String {
        let business = &self.business;
        let caller = self.caller();
        let mut text = match &self.about {
            About::Message {
                caller_name,
                callback_number,
                message,
                urgency,
            } => {
                let urgent = match urgency {
                    Urgency::High => "URGENT ",
                    Urgency::Normal | Urgency::Low => "",
                };
                let who = caller_name.clone().unwrap_or_else(|| caller.clone());
                let back = callback_number.clone().unwrap_or_else(|| caller.clone());
                format!(
                    "{business}: {urgent}message from {who}: \"{}\" Call back: {back}.",
                    message.trim()
                )
            }
            About::Voicemail { duration_secs } => {
                format!("{business}: new voicemail ({duration_secs} s) from {caller}.")
            }
            About::MissedCall => match self.time() {
                Some(time) => format!("{business}: missed call from {caller} at {time}."),
                None => format!("{business}: missed call from {caller}."),
            },
        };
        let link = self.link.as_deref().map(|link| format!(" {link}"));
        let room = SMS_MAX_CHARS.saturating_sub(link.as_deref().map_or(0, |l| l.chars().count()));
        if text.chars().count() > room {
            text = text.chars().take(room.saturating_sub(1)).collect();
            text.push('…');
        }
        text.push_str(link.as_deref().unwrap_or_default());
        text
    }

    /// The email's subject.
    pub fn email_subject(&self) -> String {
        let caller = self.caller();
        match &self.about {
            About::Message {
                urgency: Urgency::High,
                ..
            } => format!("[{}] Urgent message from {caller}", self.business),
            About::Message { .. } => format!("[{}] Message from {caller}", self.business),
            About::Voicemail { .. } => format!("[{}] Voicemail from {caller}", self.business),
            About::MissedCall => format!("[{}] Missed call from {caller}", self.business),
        }
    }

    /// The email's plain-text body.
    pub fn email_body(&self) -> String {
        let mut body = String::new();
        let caller = self.caller();
        let time = self.time().map(|t| format!(" on {t}")).unwrap_or_default();
        match &self.about {
            About::Message {
                caller_name,
                callback_number,
                message,
                urgency,
            } => {
                body.push_str(&format!(
                    "The AI agent took a message for {} from {caller}{time}.\n\n",
                    self.business
                ));
                if let Some(name) = caller_name {
                    body.push_str(&format!("Name: {name}\n"));
                }
                let back = callback_number.clone().unwrap_or_else(|| caller.clone());
                body.push_str(&format!("Call back: {back}\n"));
                let urgency = match urgency {
                    Urgency::Low => "low",
                    Urgency::Normal => "normal",
                    Urgency::High => "high",
                };
                body.push_str(&format!("Urgency: {urgency}\n\n{}\n", message.trim()));
            }
            About::Voicemail { duration_secs } => body.push_str(&format!(
                "{caller} left a voicemail ({duration_secs} seconds) for {}{time}.\n",
                self.business
            )),
            About::MissedCall => body.push_str(&format!(
                "{caller} called {}{time}; nobody took the call and no message was left.\n",
                self.business
            )),
        }
        if let Some(link) = &self.link {
            body.push_str(&format!("\nThe call on your dashboard: {link}\n"));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use domain::values::E164;

    use super::*;

    fn facts(about: About) -> Facts {
        Facts {
            business: "Ann's Plumbing".into(),
            timezone: "Europe/Berlin".parse().unwrap(),
            caller: CallerId::Number(E164::parse("+4930123456").unwrap()),
            at: Some(Utc.with_ymd_and_hms(2026, 1, 15, 13, 5, 0).unwrap()),
            about,
            link: Some("https://calls.example.com/dashboard/calls/CA1".into()),
        }
    }

    fn message(text: &str, urgency: Urgency) -> About {
        About::Message {
            caller_name: Some("Bob".into()),
            callback_number: None,
            message: text.into(),
            urgency,
        }
    }

    #[test]
    fn it_should_text_a_message_with_who_what_and_where_to_call_back() {
        assert_eq!(
            facts(message("The sink leaks. ", Urgency::High)).sms(),
            "Ann's Plumbing: URGENT message from Bob: \"The sink leaks.\" Call back: \
             +4930123456. https://calls.example.com/dashboard/calls/CA1"
        );
    }

    #[test]
    fn it_should_text_a_missed_call_with_the_local_time() {
        assert_eq!(
            facts(About::MissedCall).sms(),
            "Ann's Plumbing: missed call from +4930123456 at Thu 15 Jan 14:05. \
             https://calls.example.com/dashboard/calls/CA1"
        );
    }

    #[test]
    fn it_should_cut_a_long_message_but_keep_the_link() {
        let text = facts(message(&"leak ".repeat(200), Urgency::Normal)).sms();
        assert_eq!(text.chars().count(), SMS_MAX_CHARS);
        assert!(
            text.ends_with("… https://calls.example.com/dashboard/calls/CA1"),
            "{text}"
        );
    }

    #[test]
    fn it_should_write_an_email_about_a_voicemail() {
        let facts = Facts {
            caller: CallerId::Withheld,
            link: None,
            ..facts(About::Voicemail { duration_secs: 42 })
        };
        assert_eq!(
            facts.email_subject(),
            "[Ann's Plumbing] Voicemail from a withheld number"
        );
        assert_eq!(
            facts.email_body(),
            "a withheld number left a voicemail (42 seconds) for Ann's Plumbing on Thu 15 Jan 14:05.\n"
        );
    }

    #[test]
    fn it_should_write_an_email_about_a_message_with_every_detail() {
        let body = facts(message("Please call about the invoice.", Urgency::Low)).email_body();
        assert!(body.contains("Name: Bob\n"), "{body}");
        assert!(body.contains("Call back: +4930123456\n"), "{body}");
        assert!(body.contains("Urgency: low\n"), "{body}");
        assert!(body.contains("Please call about the invoice."), "{body}");
        assert!(
            body.ends_with("https://calls.example.com/dashboard/calls/CA1\n"),
            "{body}"
        );
    }
}

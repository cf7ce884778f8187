//! Validated value types shared by the aggregates.
//!
//! Data from strangers (Twilio parameters, form fields) enters the domain only through these
//! parsers, so an aggregate never holds a malformed phone number, CallSid or ring timeout.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A value from outside did not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Not `+` followed by 2 to 15 digits, the first not zero.
    #[error("'{0}' is not an E.164 phone number (+ and 2 to 15 digits)")]
    NotE164(String),
    /// Not `CA` followed by 32 hexadecimal digits.
    #[error("'{0}' is not a Twilio CallSid (CA and 32 hex digits)")]
    NotCallSid(String),
    /// Ring timeout outside the range Twilio and carrier voicemail allow.
    #[error("ring timeout must be between {min} and {max} seconds, not {0}", min = RingTimeout::MIN, max = RingTimeout::MAX)]
    RingTimeoutOutOfRange(u32),
    /// A required text was empty or too long.
    #[error("{field} must be 1 to {max} characters")]
    BadText {
        /// Which field.
        field: &'static str,
        /// Its maximum length.
        max: usize,
    },
    /// Not an ISO 4217 currency code.
    #[error("'{0}' is not a currency code (three capital letters)")]
    NotCurrency(String),
}

/// A phone number in E.164 form, e.g. `+14155550100`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

impl E164 {
    /// Parses `+` followed by 2 to 15 digits, the first not zero.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let digits = raw.strip_prefix('+').unwrap_or("");
        let valid = (2..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValueError::NotE164(raw.to_owned()))
        }
    }
}

impl AsRef<str> for E164 {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for E164 {
    type Error = ValueError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<E164> for String {
    fn from(number: E164) -> Self {
        number.0
    }
}

/// Twilio's id of a call: `CA` and 32 hexadecimal digits. It is the `Call` aggregate's id, so a
/// retried webhook lands on the same aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CallSid(String);

impl CallSid {
    /// Parses `CA` followed by 32 hexadecimal digits.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let valid = raw.len() == 34
            && raw.starts_with("CA")
            && raw[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValueError::NotCallSid(raw.to_owned()))
        }
    }
}

impl AsRef<str> for CallSid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CallSid {
    type Error = ValueError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<CallSid> for String {
    fn from(sid: CallSid) -> Self {
        sid.0
    }
}

/// Who is calling, as Twilio's `From` tells it. Withheld numbers arrive as `anonymous`,
/// `+266696687` or an empty string; anything else that is not E.164 (a SIP address, a short
/// code) is kept as given, since it is still what the owner would want to see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum CallerId {
    /// A regular phone number.
    Number(E164),
    /// The caller withheld their number.
    Withheld,
    /// Something else Twilio passed on, kept verbatim (at most 64 characters).
    Other(String),
}

impl CallerId {
    /// Twilio's placeholder number for a withheld caller id.
    const WITHHELD_PLACEHOLDER: &'static str = "+266696687";

    /// Interprets Twilio's `From` parameter; never fails.
    pub fn from_twilio(raw: &str) -> Self {
        let raw = raw.trim();
        if raw.is_empty()
            || raw.eq_ignore_ascii_case("anonymous")
            || raw.eq_ignore_ascii_case("restricted")
            || raw.eq_ignore_ascii_case("unknown")
            || raw == Self::WITHHELD_PLACEHOLDER
        {
            return Self::Withheld;
        }
        match E164::parse(raw) {
            Ok(number) => Self::Number(number),
            Err(_) => Self::Other(raw.chars().take(64).collect()),
        }
    }
}

/// The id of a business: a UUID chosen when it registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BusinessId(pub Uuid);

impl fmt::Display for BusinessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How long the owner's phone rings before the call falls back to the agent: 5 to 60 seconds,
/// 20 by default (below the usual carrier voicemail pick-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct RingTimeout(u32);

impl RingTimeout {
    /// The shortest ring we allow.
    pub const MIN: u32 = 5;
    /// The longest ring we allow.
    pub const MAX: u32 = 60;

    /// Accepts 5 to 60 seconds.
    pub fn from_secs(secs: u32) -> Result<Self, ValueError> {
        if (Self::MIN..=Self::MAX).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(ValueError::RingTimeoutOutOfRange(secs))
        }
    }

    /// Seconds of ringing.
    pub fn secs(self) -> u32 {
        self.0
    }
}

impl Default for RingTimeout {
    fn default() -> Self {
        Self(20)
    }
}

impl TryFrom<u32> for RingTimeout {
    type Error = ValueError;
    fn try_from(secs: u32) -> Result<Self, Self::Error> {
        Self::from_secs(secs)
    }
}

impl From<RingTimeout> for u32 {
    fn from(timeout: RingTimeout) -> Self {
        timeout.0
    }
}

/// An amount of money as Twilio reports it (decimal string, may be negative, sub-cent precision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// The amount, exact.
    pub amount: Decimal,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
}

impl Money {
    /// Builds an amount, checking the currency code.
    pub fn new(amount: Decimal, currency: &str) -> Result<Self, ValueError> {
        let currency = currency.to_ascii_uppercase();
        if currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self { amount, currency })
        } else {
            Err(ValueError::NotCurrency(currency))
        }
    }
}

/// Checks that a free text is non-empty (after trimming) and at most `max` characters, and
/// returns it trimmed.
pub fn bounded_text(field: &'static str, raw: &str, max: usize) -> Result<String, ValueError> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > max {
        Err(ValueError::BadText { field, max })
    } else {
        Ok(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_accept_e164_numbers_and_reject_everything_else() {
        assert!(E164::parse("+14155550100").is_ok());
        assert!(E164::parse("+442071838750").is_ok());
        for bad in [
            "14155550100",
            "+0123",
            "+1",
            "+1415555010012345",
            "+1 415 555",
            "",
            "+",
        ] {
            assert_eq!(
                E164::parse(bad),
                Err(ValueError::NotE164(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn it_should_accept_only_well_formed_call_sids() {
        assert!(CallSid::parse("CA0123456789abcdef0123456789ABCDEF").is_ok());
        assert!(CallSid::parse("CA1234567890ABCDE").is_err());
        assert!(CallSid::parse("PN0123456789abcdef0123456789abcdef").is_err());
        assert!(CallSid::parse("CA0123456789abcdef0123456789abcdeg").is_err());
    }

    #[test]
    fn it_should_read_withheld_caller_ids_as_withheld() {
        for raw in [
            "",
            "anonymous",
            "Anonymous",
            "+266696687",
            "restricted",
            "  ",
        ] {
            assert_eq!(CallerId::from_twilio(raw), CallerId::Withheld, "{raw:?}");
        }
        assert_eq!(
            CallerId::from_twilio("+14155550100"),
            CallerId::Number(E164::parse("+14155550100").unwrap())
        );
        assert_eq!(
            CallerId::from_twilio("sip:alice@example.com"),
            CallerId::Other("sip:alice@example.com".into())
        );
    }

    #[test]
    fn it_should_keep_ring_timeouts_between_five_and_sixty_seconds() {
        assert_eq!(RingTimeout::default().secs(), 20);
        assert!(RingTimeout::from_secs(5).is_ok());
        assert!(RingTimeout::from_secs(60).is_ok());
        assert_eq!(
            RingTimeout::from_secs(4),
            Err(ValueError::RingTimeoutOutOfRange(4))
        );
        assert_eq!(
            RingTimeout::from_secs(61),
            Err(ValueError::RingTimeoutOutOfRange(61))
        );
        let parsed: Result<RingTimeout, _> = serde_json::from_str("90");
        assert!(parsed.is_err(), "deserialising must validate too");
    }

    #[test]
    fn it_should_reject_empty_or_overlong_text() {
        assert_eq!(
            bounded_text("name", "  Joe's Plumbing ", 10),
            Err(ValueError::BadText {
                field: "name",
                max: 10
            })
        );
        assert_eq!(bounded_text("name", "  Joe ", 10), Ok("Joe".into()));
        assert!(bounded_text("name", "   ", 10).is_err());
    }
}

//! The one time type of everything stored, compared and shown: RFC 3339 UTC with exactly three
//! fraction digits (`2026-12-01T18:26:27.450Z`, API.md "Conventions"). Every such text has the
//! same width, so DynamoDB conditions that compare stored times as strings order them as times.
//! Times from outside (WorkOS, Lemon Squeezy, clients) are parsed at the edge, in any RFC 3339
//! form, and kept only in this form.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A UTC instant with millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// Any RFC 3339 time, in UTC and cut to milliseconds; `None` if it is not one, or lies
    /// outside the years 0000–9999 (which would not keep the fixed width).
    pub fn parse(text: &str) -> Option<Self> {
        let at = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
        (0..=9999).contains(&at.to_offset(UtcOffset::UTC).year()).then(|| Self::from_datetime(at))
    }

    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(seconds).ok().map(Self::from_datetime)
    }

    /// Milliseconds since the epoch (Convex's `_creationTime`), within the years 0000–9999.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()?;
        (0..=9999).contains(&at.year()).then(|| Self::from_datetime(at))
    }

    fn from_datetime(at: OffsetDateTime) -> Self {
        let at = at.to_offset(UtcOffset::UTC);
        Self(at.replace_millisecond(at.millisecond()).unwrap_or(at))
    }

    /// The calendar year and month (1–12), in UTC.
    pub fn year_month(self) -> (i32, u8) {
        (self.0.year(), u8::from(self.0.month()))
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Milliseconds since the epoch (for HMAC inputs that must be unambiguous).
    pub fn unix_millis(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// This time moved by `by` (saturating at the ends of the representable range).
    pub fn plus(self, by: time::Duration) -> Self {
        Self::from_datetime(self.0.checked_add(by).unwrap_or(self.0))
    }

    pub fn minus(self, by: time::Duration) -> Self {
        Self::from_datetime(self.0.checked_sub(by).unwrap_or(self.0))
    }
}

impl fmt::Display for Timestamp {
    /// The fixed form, written digit by digit: `time`'s formatter interprets a format
    /// description and allocates on every call, which was most of serializing a page of
    /// customers (two times each; docs/benchmarks.md, criterion).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (date, clock) = (self.0.date(), self.0.time());
        let Ok(year) = u32::try_from(date.year()) else { return Err(fmt::Error) };
        if year > 9999 {
            return Err(fmt::Error);
        }
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: u32| {
            for i in (at..at + width).rev() {
                text[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, u32::from(u8::from(date.month())));
        put(8, 2, u32::from(date.day()));
        put(11, 2, u32::from(clock.hour()));
        put(14, 2, u32::from(clock.minute()));
        put(17, 2, u32::from(clock.second()));
        put(20, 3, u32::from(clock.millisecond()));
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The form as `time` spells it, to check the hand-written one against.
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn from_unix_millis_keeps_the_milliseconds_and_the_fixed_width() {
        let at = Timestamp::from_unix_millis(1_733_000_000_123).unwrap();
        assert_eq!(at.to_string(), "2024-11-30T20:53:20.123Z");
        assert_eq!(at.unix_millis(), 1_733_000_000_123);
        assert_eq!(Timestamp::from_unix_millis(0).unwrap().to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::from_unix_millis(i64::MAX), None);
        assert_eq!(Timestamp::from_unix_millis(-62_200_000_000_000), None, "before the year 0");
    }

    #[test]
    fn the_hand_written_form_is_the_format_descriptions() {
        for text in ["0001-01-01T00:00:00Z", "2026-12-01T18:26:27.45Z", "9999-12-31T23:59:59.999Z"] {
            let at = at(text);
            assert_eq!(at.to_string(), at.0.format(FORMAT).unwrap());
        }
        let now = Timestamp::now();
        assert_eq!(now.to_string(), now.0.format(FORMAT).unwrap());
    }

    #[test]
    fn one_fixed_width_form() {
        assert_eq!(at("2026-12-01T18:26:27.45Z").to_string(), "2026-12-01T18:26:27.450Z");
        assert_eq!(at("2026-12-01T18:26:27Z").to_string(), "2026-12-01T18:26:27.000Z");
        assert_eq!(at("2026-12-01T18:26:27.123456789Z").to_string(), "2026-12-01T18:26:27.123Z");
        assert_eq!(at("2026-12-01T19:26:27.4+01:00").to_string(), "2026-12-01T18:26:27.400Z");
        assert_eq!(Timestamp::now().to_string().len(), "2026-12-01T18:26:27.450Z".len());
        for bad in ["", "yesterday", "2026-12-01", "2026-13-01T00:00:00Z"] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn fractions_of_different_lengths_sort_as_times_and_as_text() {
        // As raw text, "…27.45Z" sorts before "…27.4Z"; as times it is later.
        let (later, earlier) = (at("2026-12-01T18:26:27.45Z"), at("2026-12-01T18:26:27.4Z"));
        assert!("2026-12-01T18:26:27.45Z" < "2026-12-01T18:26:27.4Z", "the trap this type avoids");
        assert!(later > earlier);
        assert!(later.to_string() > earlier.to_string());
        let many =
            ["2026-12-01T18:26:27.4Z", "2026-12-01T18:26:27.45Z", "2026-12-01T18:26:27.451Z", "2026-12-01T18:26:28Z"];
        let texts: Vec<String> = many.iter().map(|t| at(t).to_string()).collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
    }

    #[test]
    fn serde_round_trip_normalises() {
        let value: Timestamp = serde_json::from_str("\"2026-12-01T18:26:27.4Z\"").unwrap();
        assert_eq!(serde_json::to_string(&value).unwrap(), "\"2026-12-01T18:26:27.400Z\"");
        assert!(serde_json::from_str::<Timestamp>("\"soon\"").is_err());
    }
}

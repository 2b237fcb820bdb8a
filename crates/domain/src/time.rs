//! Instants as Unix epoch milliseconds, shown as RFC 3339 UTC (`2026-11-25T21:28:48.123Z`).
//! The clock is never read here: callers pass `now`. The calendar (RFC 3339 parsing, the
//! proleptic Gregorian dates, formatting) is the `time` crate's; this module only fixes our
//! shapes: milliseconds, `Z`, and the few inputs we accept differently (see
//! [`Timestamp::parse_rfc3339`]).

use std::fmt;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// How an instant is shown: RFC 3339 §5.6 `date-time` in UTC, always three fraction digits.
const DISPLAY: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// The first and last instants RFC 3339 can show (four-digit years: 0000-01-01T00:00:00.000Z
/// and 9999-12-31T23:59:59.999Z), epoch milliseconds.
const SHOWN_MS: std::ops::RangeInclusive<i64> = -62_167_219_200_000..=253_402_300_799_999;

impl Timestamp {
    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Midnight UTC of a calendar date `YYYY-MM-DD`; `None` when malformed or not a real date.
    pub fn parse_date(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        Self::parse_rfc3339(&format!("{text}T00:00:00Z"))
    }

    /// Parses RFC 3339 (`2026-11-25T10:00:00Z`, `2026-11-25T12:00:00.5+02:00`); `None` when
    /// malformed or not a real date and time. Fractions beyond milliseconds are truncated.
    ///
    /// Accepted as RFC 3339 §5.6 allows: `T`, `t` or a space between date and time, `Z` or
    /// `z`, any number of fraction digits, offsets `±HH:MM` up to `±23:59`. A leap second
    /// (`:60`, RFC 3339 §5.7) is accepted in any minute and counts as second 0 of the next
    /// one: `time` alone takes one only at the end of a UTC month, as 59.999999999.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        // `time` takes any one byte as the separator; we keep to the three RFC 3339 names.
        if !matches!(text.as_bytes().get(10), Some(b'T' | b't' | b' ')) {
            return None;
        }
        let leap_second = text.get(17..19) == Some("60");
        let parsed = if leap_second {
            let mut second_59 = text.to_string();
            second_59.replace_range(17..19, "59");
            OffsetDateTime::parse(&second_59, &Rfc3339)
        } else {
            OffsetDateTime::parse(text, &Rfc3339)
        }
        .ok()?;
        let seconds = parsed.unix_timestamp() + i64::from(leap_second);
        Some(Self(seconds * 1000 + i64::from(parsed.millisecond())))
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`. RFC 3339 has only four-digit years, so an instant before
    /// year 0000 or after 9999 is shown as the first or last one it can show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.clamp(*SHOWN_MS.start(), *SHOWN_MS.end());
        let text = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .ok()
            .and_then(|instant| instant.format(DISPLAY).ok())
            .ok_or(fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn dates_must_exist() {
        assert_eq!(
            Timestamp::parse_date("2024-02-29"),
            Some(Timestamp(1_709_164_800_000))
        );
        assert_eq!(Timestamp::parse_date("2023-02-29"), None);
        assert_eq!(Timestamp::parse_rfc3339("2026-04-31T00:00:00Z"), None);
        assert_eq!(Timestamp::parse_date("2026-1-01"), None);
    }

    #[test]
    fn formats_rfc3339_utc_with_millis() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp(1_795_643_328_123).to_string(),
            "2026-11-25T21:48:48.123Z"
        );
        assert_eq!(
            Timestamp(951_782_400_000).to_string(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn rfc3339_parses_what_display_prints_and_offsets() {
        for millis in [0, 951_782_400_000, 1_795_643_328_123, -1] {
            let text = Timestamp(millis).to_string();
            assert_eq!(
                Timestamp::parse_rfc3339(&text),
                Some(Timestamp(millis)),
                "{text}"
            );
        }
        assert_eq!(
            Timestamp::parse_rfc3339("1970-01-01T02:00:00.5+02:00"),
            Some(Timestamp(500))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("1970-01-01T00:00:00-00:30"),
            Some(Timestamp(1_800_000))
        );
        for bad in [
            "",
            "2026-11-25",
            "2026-13-01T00:00:00Z",
            "2026-11-25T10:00:00",
            "2026-11-25T10:00:00.Z",
            "2026-11-25T1x:00:00Z",
            "2026-11-25T10:00:00+0200",
            "2026-11-25T10:00:00Zé",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn leap_years_follow_the_gregorian_rules() {
        for (date, exists) in [
            ("2000-02-29", true),
            ("2024-02-29", true),
            ("1900-02-29", false),
            ("2100-02-29", false),
            ("2026-02-29", false),
            ("2026-02-28", true),
            ("2026-12-31", true),
            ("2026-12-32", false),
            ("2026-00-10", false),
            ("2026-06-00", false),
        ] {
            assert_eq!(Timestamp::parse_date(date).is_some(), exists, "{date}");
        }
        assert_eq!(
            Timestamp::parse_date("2000-03-01"),
            Some(Timestamp(951_868_800_000))
        );
        assert_eq!(Timestamp::parse_date("2026-11-30T00:00:00Z"), None);
    }

    #[test]
    fn fractions_are_truncated_to_milliseconds() {
        let at = |text: &str| Timestamp::parse_rfc3339(text).map(Timestamp::millis);
        assert_eq!(at("1970-01-01T00:00:00.1Z"), Some(100));
        assert_eq!(at("1970-01-01T00:00:00.12Z"), Some(120));
        assert_eq!(at("1970-01-01T00:00:00.1239Z"), Some(123));
        assert_eq!(at("1970-01-01T00:00:00.999999999999Z"), Some(999));
        // Before the epoch the fraction still counts forward from the whole second.
        assert_eq!(at("1969-12-31T23:59:59.9995Z"), Some(-1));
        assert_eq!(at("1970-01-01T00:00:00.5-00:01"), Some(60_500));
        assert_eq!(at("1970-01-01T00:00:00.Z"), None);
        assert_eq!(at("1970-01-01T00:00:00,5Z"), None);
    }

    #[test]
    fn offsets_separators_and_leap_seconds() {
        let at = |text: &str| Timestamp::parse_rfc3339(text).map(Timestamp::millis);
        assert_eq!(at("1970-01-01T23:59:00+23:59"), Some(0));
        assert_eq!(at("1970-01-01T00:00:00-00:00"), Some(0));
        assert_eq!(at("1970-01-01t00:00:00z"), Some(0));
        assert_eq!(at("1970-01-01 00:00:00Z"), Some(0));
        for bad in [
            "1970-01-01X00:00:00Z",
            "1970-01-01T00:00:00+24:00",
            "1970-01-01T00:00:00+00:60",
            "1970-01-01T00:00:00+-1:00",
            "1970-01-01T00:00:00+01",
            "1970-01-01T24:00:00Z",
            "1970-01-01T00:60:00Z",
            "1970-01-01T00:00:61Z",
            "1970-01-01T00:00:00Z ",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
        // A leap second counts as the first second of the next minute, in any minute.
        assert_eq!(at("2016-12-31T23:59:60Z"), at("2017-01-01T00:00:00Z"));
        assert_eq!(at("1970-01-01T00:00:60.250Z"), Some(60_250));
        assert_eq!(at("1970-01-01T01:00:60+01:00"), Some(60_000));
    }

    #[test]
    fn four_digit_years_bound_what_is_parsed_and_shown() {
        let first = Timestamp::parse_rfc3339("0000-01-01T00:00:00Z").unwrap();
        let last = Timestamp::parse_rfc3339("9999-12-31T23:59:59.999Z").unwrap();
        assert_eq!(first.to_string(), "0000-01-01T00:00:00.000Z");
        assert_eq!(last.to_string(), "9999-12-31T23:59:59.999Z");
        // An offset may move the instant past year 9999 or before 0000.
        assert_eq!(
            Timestamp::parse_rfc3339("9999-12-31T23:59:59-01:00"),
            Some(Timestamp(last.0 - 999 + 3_600_000))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("0000-01-01T00:00:00+01:00"),
            Some(Timestamp(first.0 - 3_600_000))
        );
        assert_eq!(Timestamp::parse_rfc3339("10000-01-01T00:00:00Z"), None);
        assert_eq!(Timestamp::parse_rfc3339("-0001-01-01T00:00:00Z"), None);
        assert_eq!(Timestamp(i64::MAX).to_string(), last.to_string());
        assert_eq!(Timestamp(i64::MIN).to_string(), first.to_string());
    }

    #[test]
    fn serializes_as_the_display_string() {
        assert_eq!(
            serde_json::to_string(&Timestamp(1_795_643_328_123)).unwrap(),
            r#""2026-11-25T21:48:48.123Z""#
        );
    }
}

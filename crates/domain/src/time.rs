//! Instants as Unix epoch milliseconds, shown as RFC 3339 UTC (`2026-11-25T21:28:48.123Z`).
//! The clock is never read here: callers pass `now`.

use std::fmt;

use serde::{Serialize, Serializer};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

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
    /// malformed. Fractions beyond milliseconds are truncated.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if !text.is_ascii() || b.len() < 20 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        if !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |range: std::ops::Range<usize>| {
            let part = text.get(range)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse::<i64>().ok())?
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let valid = (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60
            && second <= 60;
        if !valid {
            return None;
        }
        let mut rest = &text[19..];
        let mut millis = 0;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            millis = format!("{:0<3}", &fraction[..digits.min(3)])
                .parse::<i64>()
                .ok()?;
            rest = &fraction[digits..];
        }
        let offset_s = match rest.as_bytes() {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let hours = rest[1..3].parse::<i64>().ok()?;
                let mins = rest[4..6].parse::<i64>().ok()?;
                let sign = if *sign == b'-' { -1 } else { 1 };
                sign * (hours * 3600 + mins * 60)
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
        Some(Self(seconds * 1000 + millis))
    }
}

/// Days in `month` of `year` (proleptic Gregorian).
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) → days since 1970-01-01, proleptic Gregorian (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let tod = secs.rem_euclid(86_400);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            tod / 3600,
            tod % 3600 / 60,
            tod % 60
        )
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
}

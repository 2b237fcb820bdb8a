//! The statistics query string: `from`, `to` (RFC 3339 date-times, or `YYYY-MM-DD` dates)
//! and `groupBy` (`day`, `week`, `month`). Strict: a value that is not exactly one of these
//! shapes is refused with the parameter's name, rather than guessed at.

/// How orders are bucketed in `periods`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GroupBy {
    /// UTC calendar days.
    Day,
    /// ISO weeks (Monday to Sunday, UTC).
    Week,
    /// UTC calendar months.
    Month,
}

impl GroupBy {
    /// The wire name.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// The SQLite expression giving the period's first day (`YYYY-MM-DD`, UTC) of an order
    /// aliased `o`. A fixed string per variant, never caller text.
    pub(super) fn period_sql(self) -> &'static str {
        match self {
            Self::Day => "date(o.created_at / 1000, 'unixepoch')",
            // `weekday 0` moves forward to Sunday (or stays on it); six days back is Monday.
            Self::Week => "date(o.created_at / 1000, 'unixepoch', 'weekday 0', '-6 days')",
            Self::Month => "date(o.created_at / 1000, 'unixepoch', 'start of month')",
        }
    }
}

/// The validated query: a half-open window `[from_ms, to_ms)` (either end optional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StatsQuery {
    /// Inclusive lower bound, epoch milliseconds.
    pub(super) from_ms: Option<i64>,
    /// Exclusive upper bound, epoch milliseconds.
    pub(super) to_ms: Option<i64>,
    /// Period size; `day` when not given.
    pub(super) group_by: GroupBy,
}

/// A refused parameter: its name and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParamError {
    /// The query parameter at fault.
    pub(super) parameter: &'static str,
    /// Why, safe to show the caller.
    pub(super) reason: String,
}

impl ParamError {
    fn new(parameter: &'static str, reason: impl Into<String>) -> Self {
        Self {
            parameter,
            reason: reason.into(),
        }
    }
}

/// Parses the raw query string (without `?`). Unknown parameters are ignored; a repeated
/// known one is refused. `to` given as a date includes that whole day.
pub(super) fn parse(query: &str) -> Result<StatsQuery, ParamError> {
    let mut from = None;
    let mut to = None;
    let mut group_by = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let (parameter, slot) = match name {
            "from" => ("from", &mut from),
            "to" => ("to", &mut to),
            "groupBy" => ("groupBy", &mut group_by),
            _ => continue,
        };
        let value = percent_decode(raw)
            .ok_or_else(|| ParamError::new(parameter, "is not valid percent-encoded UTF-8"))?;
        if slot.replace(value).is_some() {
            return Err(ParamError::new(parameter, "is given more than once"));
        }
    }

    let from_ms = match from.as_deref() {
        None => None,
        Some(text) => Some(parse_instant(text, false).ok_or_else(|| instant_error("from"))?),
    };
    let to_ms = match to.as_deref() {
        None => None,
        Some(text) => Some(parse_instant(text, true).ok_or_else(|| instant_error("to"))?),
    };
    if let (Some(from_ms), Some(to_ms)) = (from_ms, to_ms)
        && from_ms >= to_ms
    {
        return Err(ParamError::new("to", "must be later than `from`"));
    }
    let group_by = match group_by.as_deref() {
        None => GroupBy::Day,
        Some("day") => GroupBy::Day,
        Some("week") => GroupBy::Week,
        Some("month") => GroupBy::Month,
        Some(_) => {
            return Err(ParamError::new(
                "groupBy",
                "must be `day`, `week` or `month`",
            ));
        }
    };
    Ok(StatsQuery {
        from_ms,
        to_ms,
        group_by,
    })
}

fn instant_error(parameter: &'static str) -> ParamError {
    ParamError::new(
        parameter,
        "must be an RFC 3339 date-time (2026-01-31T00:00:00Z) or a date (2026-01-31)",
    )
}

/// `%XX` decoding (no `+`-as-space: that is form encoding, and `+` starts UTC offsets).
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = raw.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Epoch milliseconds of `YYYY-MM-DD` (midnight UTC; the next midnight if `end_of_day`) or
/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn parse_instant(text: &str, end_of_day: bool) -> Option<i64> {
    let date = text.get(..10)?;
    let days = parse_date(date)?;
    let rest = text.get(10..)?;
    if rest.is_empty() {
        return Some((days + i64::from(end_of_day)) * 86_400_000);
    }
    let rest = rest.strip_prefix(['T', 't'])?;
    let (clock, offset_s) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let split = rest.len().checked_sub(6)?;
        let (clock, offset) = (rest.get(..split)?, rest.get(split..)?);
        let sign = match offset.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let hours = number(offset.get(1..3)?, 0, 23)?;
        let minutes = number(offset.get(4..6)?, 0, 59)?;
        if offset.as_bytes().get(3) != Some(&b':') {
            return None;
        }
        (clock, sign * (hours * 3_600 + minutes * 60))
    };
    if clock.len() < 8 || clock.as_bytes()[2] != b':' || clock.as_bytes()[5] != b':' {
        return None;
    }
    let hours = number(clock.get(0..2)?, 0, 23)?;
    let minutes = number(clock.get(3..5)?, 0, 59)?;
    let seconds = number(clock.get(6..8)?, 0, 60)?.min(59);
    let millis = match clock.get(8..)? {
        "" => 0,
        fraction => {
            let digits = fraction.strip_prefix('.')?;
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let padded = format!("{digits:0<3}");
            padded.get(..3)?.parse::<i64>().ok()?
        }
    };
    let seconds_of_day = hours * 3_600 + minutes * 60 + seconds;
    Some((days * 86_400 + seconds_of_day - offset_s) * 1_000 + millis)
}

/// Days since 1970-01-01 of a valid `YYYY-MM-DD` (proleptic Gregorian).
fn parse_date(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = number(text.get(0..4)?, 1, 9999)?;
    let month = number(text.get(5..7)?, 1, 12)?;
    let day = number(text.get(8..10)?, 1, days_in_month(year, month))?;
    Some(days_from_civil(year, month, day))
}

/// An all-digit number within `min..=max`.
fn number(text: &str, min: i64, max: i64) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>()
        .ok()
        .filter(|value| (min..=max).contains(value))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// RFC 3339 UTC text (`2026-01-31T00:00:00.000Z`) of epoch milliseconds.
pub(super) fn format_instant(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let of_day = ms.rem_euclid(86_400_000);
    // Howard Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3_600_000,
        of_day / 60_000 % 60,
        of_day / 1_000 % 60,
        of_day % 1_000
    )
}

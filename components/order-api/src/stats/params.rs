//! The statistics query string: `from`, `to` (RFC 3339 date-times, or `YYYY-MM-DD` dates)
//! and `groupBy` (`day`, `week`, `month`). Strict: a value that is not exactly one of these
//! shapes is refused with the parameter's name, rather than guessed at.

use domain::Timestamp;

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
/// an RFC 3339 date-time.
fn parse_instant(text: &str, end_of_day: bool) -> Option<i64> {
    match Timestamp::parse_date(text) {
        Some(midnight) => Some(midnight.millis() + if end_of_day { 86_400_000 } else { 0 }),
        None => Timestamp::parse_rfc3339(text).map(Timestamp::millis),
    }
}

/// RFC 3339 UTC text (`2026-01-31T00:00:00.000Z`) of epoch milliseconds.
pub(super) fn format_instant(ms: i64) -> String {
    Timestamp(ms).to_string()
}

//! The statistics query parameters (read from the one [`Query`] parser): `from`, `to`
//! (RFC 3339 date-times, or `YYYY-MM-DD` dates) and `groupBy` (`day`, `week`, `month`).
//! Strict: a value that is not exactly one of these shapes, or a parameter given twice, is
//! refused with the parameter's name, rather than guessed at.

use crate::query::Query;
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

impl StatsQuery {
    /// Reads `query`. Unknown parameters are ignored; a repeated known one is refused. `to`
    /// given as a date includes that whole day.
    pub(super) fn from_query(query: &Query) -> Result<Self, ParamError> {
        let from = single(query, "from")?;
        let to = single(query, "to")?;
        let group_by = single(query, "groupBy")?;
        let from_ms = match from {
            None => None,
            Some(text) => Some(parse_instant(text, false).ok_or_else(|| instant_error("from"))?),
        };
        let to_ms = match to {
            None => None,
            Some(text) => Some(parse_instant(text, true).ok_or_else(|| instant_error("to"))?),
        };
        if let (Some(from_ms), Some(to_ms)) = (from_ms, to_ms)
            && from_ms >= to_ms
        {
            return Err(ParamError::new("to", "must be later than `from`"));
        }
        let group_by = match group_by {
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
        Ok(Self {
            from_ms,
            to_ms,
            group_by,
        })
    }
}

/// The value of `parameter`, refusing it given more than once.
fn single<'q>(query: &'q Query, parameter: &'static str) -> Result<Option<&'q str>, ParamError> {
    let mut values = query.values(parameter);
    let value = values.next();
    if values.next().is_some() {
        return Err(ParamError::new(parameter, "is given more than once"));
    }
    Ok(value)
}

fn instant_error(parameter: &'static str) -> ParamError {
    ParamError::new(
        parameter,
        "must be an RFC 3339 date-time (2026-01-31T00:00:00Z) or a date (2026-01-31)",
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<StatsQuery, ParamError> {
        StatsQuery::from_query(&Query::parse(raw))
    }

    #[test]
    fn dates_and_offsets_make_a_half_open_window() {
        let query = parse("from=2026-11-02T11:00:00%2B01:00&to=2026-11-04&groupBy=week").unwrap();
        assert_eq!(query.from_ms, Some(1_793_613_600_000));
        assert_eq!(
            query.to_ms,
            Some(1_793_836_800_000),
            "a date `to` includes that day"
        );
        assert_eq!(query.group_by, GroupBy::Week);
        let literal_plus = parse("from=2026-11-02T11:00:00+01:00").unwrap();
        assert_eq!(literal_plus.from_ms, Some(1_793_613_600_000));
        assert_eq!(parse("").unwrap().group_by, GroupBy::Day);
    }

    #[test]
    fn each_bad_parameter_is_refused_by_name() {
        for (raw, parameter) in [
            ("groupBy=year", "groupBy"),
            ("from=yesterday", "from"),
            ("from=2026-02-30", "from"),
            ("from=%ZZ", "from"),
            ("to=2026-01-01T25:00:00Z", "to"),
            ("from=2026-02-01&to=2026-01-01", "to"),
            ("groupBy=day&groupBy=week", "groupBy"),
        ] {
            assert_eq!(parse(raw).unwrap_err().parameter, parameter, "{raw}");
        }
    }
}

//! `Retry-After` (RFC 9110 §10.2.3): either delay-seconds or an HTTP-date.

use std::time::{Duration, UNIX_EPOCH};

/// The delay a `Retry-After` value asks for, in milliseconds from `now_ms`; `None` when
/// the value is neither form. A date in the past means "now" (0).
///
/// ```
/// use resilience::retry::parse_retry_after;
///
/// assert_eq!(parse_retry_after("2", 0), Some(2_000));
/// // 1994-11-06T08:49:37Z is 784111777 s after the epoch.
/// let now = 784_111_777_000 - 1_500;
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(1_500));
/// assert_eq!(parse_retry_after("soon", 0), None);
/// ```
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1_000));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at_ms = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis();
    let at_ms = i64::try_from(at_ms).unwrap_or(i64::MAX);
    Some(at_ms.saturating_sub(now_ms).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_dates_mean_now_and_garbage_is_ignored() {
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", i64::MAX),
            Some(0)
        );
        assert_eq!(parse_retry_after(" 0 ", 0), Some(0));
        assert_eq!(parse_retry_after("-1", 0), None);
        assert_eq!(parse_retry_after("", 0), None);
    }
}

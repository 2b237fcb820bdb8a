//! Cache entries with a TTL and stale-if-error (RFC 5861's idea): a fresh entry answers
//! without a call; an expired one is kept and served only when the live call fails, up to
//! a maximum age.
//!
//! Entries are plain serialisable values; where they are stored is the caller's business
//! (the adapters keep them in the shared key-value store, one key per entity).

use serde::{Deserialize, Serialize};

/// A cached value and when it was stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheEntry<T> {
    /// The value.
    pub value: T,
    /// When it was stored (epoch ms).
    pub stored_at_ms: i64,
}

impl<T> CacheEntry<T> {
    /// `value`, stored now.
    pub fn new(value: T, now_ms: i64) -> Self {
        Self {
            value,
            stored_at_ms: now_ms,
        }
    }

    /// Its age at `now` (0 if stored "in the future" by a node whose clock is ahead).
    pub fn age_ms(&self, now_ms: i64) -> u64 {
        now_ms.saturating_sub(self.stored_at_ms).max(0) as u64
    }
}

/// How long entries are fresh, and how old they may be when served after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachePolicy {
    /// Younger than this: fresh, answer without calling (0: never fresh, always call).
    pub ttl_ms: u64,
    /// At most this old: usable when the call fails. `None`: no limit.
    pub max_stale_age_ms: Option<u64>,
}

/// What an entry is good for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Within its TTL: use it, do not call.
    Fresh,
    /// Expired but within the maximum age: call, and serve it if the call fails.
    Stale,
    /// Too old to serve at all.
    TooOld,
}

impl CachePolicy {
    /// Judges an entry at `now`.
    ///
    /// ```
    /// use resilience::{CacheEntry, CachePolicy, Freshness};
    ///
    /// let policy = CachePolicy { ttl_ms: 300_000, max_stale_age_ms: Some(3_600_000) };
    /// let entry = CacheEntry::new("price", 0);
    /// assert_eq!(policy.freshness(&entry, 299_999), Freshness::Fresh);
    /// assert_eq!(policy.freshness(&entry, 300_000), Freshness::Stale);
    /// assert_eq!(policy.freshness(&entry, 3_600_001), Freshness::TooOld);
    /// ```
    pub fn freshness<T>(&self, entry: &CacheEntry<T>, now_ms: i64) -> Freshness {
        let age = entry.age_ms(now_ms);
        if age < self.ttl_ms {
            Freshness::Fresh
        } else if self.max_stale_age_ms.is_none_or(|max| age <= max) {
            Freshness::Stale
        } else {
            Freshness::TooOld
        }
    }

    /// The value if the entry is fresh.
    pub fn fresh<'a, T>(&self, entry: Option<&'a CacheEntry<T>>, now_ms: i64) -> Option<&'a T> {
        entry
            .filter(|e| self.freshness(e, now_ms) == Freshness::Fresh)
            .map(|e| &e.value)
    }

    /// The value if the entry may stand in for a failed call (fresh or stale).
    pub fn stale_if_error<'a, T>(
        &self,
        entry: Option<&'a CacheEntry<T>>,
        now_ms: i64,
    ) -> Option<&'a T> {
        entry
            .filter(|e| self.freshness(e, now_ms) != Freshness::TooOld)
            .map(|e| &e.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_ttl_is_never_fresh_but_serves_as_last_known_good_within_the_maximum_age() {
        let last_known_good = CachePolicy {
            ttl_ms: 0,
            max_stale_age_ms: Some(600_000),
        };
        let entry = CacheEntry::new(42, 1_000);
        assert_eq!(last_known_good.fresh(Some(&entry), 1_000), None);
        assert_eq!(
            last_known_good.stale_if_error(Some(&entry), 601_000),
            Some(&42)
        );
        assert_eq!(last_known_good.stale_if_error(Some(&entry), 601_001), None);
        assert_eq!(last_known_good.stale_if_error::<i32>(None, 0), None);
    }

    #[test]
    fn unbounded_stale_age_serves_any_expired_entry_and_future_stamps_are_fresh() {
        let policy = CachePolicy {
            ttl_ms: 10,
            max_stale_age_ms: None,
        };
        let entry = CacheEntry::new("x", 0);
        assert_eq!(policy.freshness(&entry, i64::MAX / 2), Freshness::Stale);
        let ahead = CacheEntry::new("y", 5_000);
        assert_eq!(policy.freshness(&ahead, 0), Freshness::Fresh);
    }

    #[test]
    fn entries_round_trip_through_json() {
        let entry = CacheEntry::new(vec![1, 2], 7);
        let text = serde_json::to_string(&entry).unwrap();
        assert_eq!(text, r#"{"value":[1,2],"storedAtMs":7}"#);
        assert_eq!(
            serde_json::from_str::<CacheEntry<Vec<i32>>>(&text).unwrap(),
            entry
        );
    }
}

//! A near cache: an instance's own copy of the fresh entries of a shared cache, so that a
//! reused instance answers repeated lookups without a store read.
//!
//! The shared cache (the adapters' key-value store) stays the source of truth: a near entry
//! is exactly an entry read from, or written to, the shared store, kept only while
//! [`CachePolicy::fresh`] says it is fresh — so it is never older than a store read could
//! answer, and an entry another instance removed is served here at most until its TTL ends
//! (what a store read just before the removal would have served too). Expired entries are
//! not kept: the stale-if-error decision is always made on the shared entry.

use std::collections::HashMap;

use crate::cache::{CacheEntry, CachePolicy};

/// Fresh entries by key, at most [`NearCache::capacity`] of them.
#[derive(Debug)]
pub struct NearCache<T> {
    entries: HashMap<String, CacheEntry<T>>,
    capacity: usize,
}

impl<T: Clone> NearCache<T> {
    /// An empty cache of at most `capacity` entries (0 keeps nothing).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity,
        }
    }

    /// How many entries it may hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The value under `key` if its entry is fresh under `policy` at `now_ms` (epoch ms); an
    /// expired entry is dropped.
    pub fn fresh(&mut self, key: &str, policy: &CachePolicy, now_ms: i64) -> Option<T> {
        let entry = self.entries.get(key)?;
        match policy.fresh(Some(entry), now_ms) {
            Some(value) => Some(value.clone()),
            None => {
                self.entries.remove(key);
                None
            }
        }
    }

    /// Keeps `entry` (as read from or written to the shared store) if it is fresh at
    /// `now_ms` and not older than the copy already kept (a request that read the store
    /// before another one wrote a newer entry must not put the older one back). When full,
    /// expired entries go first; if none has expired, everything goes (the next lookups read
    /// the store again).
    pub fn keep(&mut self, key: &str, entry: &CacheEntry<T>, policy: &CachePolicy, now_ms: i64) {
        if policy.fresh(Some(entry), now_ms).is_none() || self.capacity == 0 {
            return;
        }
        if self
            .entries
            .get(key)
            .is_some_and(|kept| kept.stored_at_ms > entry.stored_at_ms)
        {
            return;
        }
        if !self.entries.contains_key(key) && self.entries.len() >= self.capacity {
            self.entries
                .retain(|_, kept| policy.fresh(Some(kept), now_ms).is_some());
            if self.entries.len() >= self.capacity {
                self.entries.clear();
            }
        }
        self.entries.insert(key.to_owned(), entry.clone());
    }

    /// Forgets `key` (the shared entry was removed or replaced by a failure).
    pub fn forget(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: CachePolicy = CachePolicy {
        ttl_ms: 1_000,
        max_stale_age_ms: Some(60_000),
    };

    #[test]
    fn a_kept_entry_answers_while_fresh_and_is_dropped_when_it_expires() {
        let mut near = NearCache::new(8);
        near.keep(
            "cache:product:a",
            &CacheEntry::new("cable", 10_000),
            &POLICY,
            10_200,
        );
        assert_eq!(
            near.fresh("cache:product:a", &POLICY, 10_999),
            Some("cable")
        );
        assert_eq!(near.fresh("cache:product:a", &POLICY, 11_000), None);
        assert!(near.is_empty(), "an expired entry is not kept for fallback");
        assert_eq!(near.fresh("cache:product:b", &POLICY, 10_200), None);
    }

    #[test]
    fn an_entry_that_is_not_fresh_is_never_kept() {
        let mut near = NearCache::new(8);
        near.keep("k", &CacheEntry::new(1, 0), &POLICY, 1_000);
        assert!(near.is_empty());
        let never_fresh = CachePolicy {
            ttl_ms: 0,
            max_stale_age_ms: None,
        };
        near.keep("k", &CacheEntry::new(1, 0), &never_fresh, 0);
        assert!(near.is_empty());
    }

    #[test]
    fn the_age_is_the_shared_entry_s_not_the_time_it_was_kept() {
        let mut near = NearCache::new(8);
        // Stored by another instance 900 ms ago: fresh for 100 ms more, not for 1 s.
        near.keep("k", &CacheEntry::new("v", 5_000), &POLICY, 5_900);
        assert_eq!(near.fresh("k", &POLICY, 5_999), Some("v"));
        assert_eq!(near.fresh("k", &POLICY, 6_000), None);
    }

    #[test]
    fn forget_removes_an_entry_and_a_newer_keep_replaces_it() {
        let mut near = NearCache::new(8);
        near.keep("k", &CacheEntry::new("old", 0), &POLICY, 0);
        near.keep("k", &CacheEntry::new("new", 100), &POLICY, 100);
        assert_eq!(near.fresh("k", &POLICY, 200), Some("new"));
        near.forget("k");
        assert_eq!(near.fresh("k", &POLICY, 200), None);
    }

    #[test]
    fn an_older_entry_never_replaces_a_newer_kept_one() {
        let mut near = NearCache::new(8);
        near.keep("k", &CacheEntry::new("new", 500), &POLICY, 600);
        // A concurrent lookup that read the store before `new` was written.
        near.keep("k", &CacheEntry::new("old", 100), &POLICY, 600);
        assert_eq!(near.fresh("k", &POLICY, 700), Some("new"));
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first_then_everything() {
        let mut near = NearCache::new(2);
        near.keep("old", &CacheEntry::new(1, 0), &POLICY, 0);
        near.keep("young", &CacheEntry::new(2, 900), &POLICY, 900);
        // At 1 500 `old` has expired: it makes room, `young` stays.
        near.keep("third", &CacheEntry::new(3, 1_500), &POLICY, 1_500);
        assert_eq!(near.len(), 2);
        assert_eq!(near.fresh("young", &POLICY, 1_500), Some(2));
        assert_eq!(near.fresh("third", &POLICY, 1_500), Some(3));
        // Nothing expired at 1 600: the cache starts over with the new entry alone.
        near.keep("fourth", &CacheEntry::new(4, 1_600), &POLICY, 1_600);
        assert_eq!(near.len(), 1);
        assert_eq!(near.fresh("fourth", &POLICY, 1_600), Some(4));
        assert_eq!(near.capacity(), 2);
    }

    #[test]
    fn a_zero_capacity_cache_keeps_nothing() {
        let mut near = NearCache::new(0);
        near.keep("k", &CacheEntry::new(1, 0), &POLICY, 0);
        assert_eq!(near.fresh("k", &POLICY, 0), None);
    }
}

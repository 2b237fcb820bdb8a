//! Ids the simulators hand out: `<prefix>_<run>_<n>`, where `<run>` is random per
//! simulator start, so ids from two runs of `order-host up` (whose SQLite survives
//! restarts) never collide, and `<n>` counts up so ids read in order.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of unique ids with one prefix.
#[derive(Debug)]
pub(crate) struct IdSource {
    prefix: &'static str,
    run: String,
    counter: AtomicU64,
}

impl IdSource {
    pub(crate) fn new(prefix: &'static str) -> Self {
        Self {
            prefix,
            run: format!("{:06x}", random_u64() & 0xff_ffff),
            counter: AtomicU64::new(0),
        }
    }

    /// The next id.
    pub(crate) fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{}_{}_{n}", self.prefix, self.run)
    }
}

/// 64 random bits from the standard library's per-process random hash keys; good enough
/// for ids and simulator tokens, which guard nothing.
pub(crate) fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_prefixed() {
        let ids = IdSource::new("pay");
        let (a, b) = (ids.next(), ids.next());
        assert!(a.starts_with("pay_") && a.ends_with("_1"), "{a}");
        assert!(b.ends_with("_2") && a != b);
        assert_ne!(IdSource::new("pay").run, IdSource::new("pay").run);
    }
}

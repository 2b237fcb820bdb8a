//! A small fixed-bucket latency histogram: mergeable across window buckets, a few dozen
//! bytes serialised, precise to roughly ±25 % — enough for p50/p99 on a health page.

use serde::{Deserialize, Serialize};

/// Upper bounds (inclusive, ms) of the histogram's buckets; a last implicit bucket holds
/// everything slower.
const BOUNDS_MS: [u64; 24] = [
    1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1_000, 1_500, 2_000,
    3_000, 5_000, 7_000, 10_000,
];

/// Latency counts per bucket, plus the largest value seen (which bounds the answer for the
/// open-ended last bucket and tightens the highest percentiles).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LatencyHistogram {
    /// Count per bucket of [`BOUNDS_MS`] (and one more); trailing zeros are omitted.
    counts: Vec<u64>,
    /// The slowest recorded latency.
    max_ms: u64,
}

impl LatencyHistogram {
    /// Adds one latency.
    pub fn record(&mut self, latency_ms: u64) {
        let index = BOUNDS_MS
            .iter()
            .position(|&bound| latency_ms <= bound)
            .unwrap_or(BOUNDS_MS.len());
        if self.counts.len() <= index {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] += 1;
        self.max_ms = self.max_ms.max(latency_ms);
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Self) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.max_ms = self.max_ms.max(other.max_ms);
    }

    /// `(upper bound in ms, count)` per bucket, fastest first; the last bound is `None`
    /// (everything slower than the largest bound). Counts are per bucket, not cumulative.
    pub fn buckets(&self) -> Vec<(Option<u64>, u64)> {
        (0..=BOUNDS_MS.len())
            .map(|index| {
                let count = self.counts.get(index).copied().unwrap_or(0);
                (BOUNDS_MS.get(index).copied(), count)
            })
            .collect()
    }

    /// Recorded latencies.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `percentile` (0–100) latency: the upper bound of the bucket holding it, capped
    /// by the slowest value seen. 0 when nothing was recorded.
    pub fn percentile(&self, percentile: u32) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        // The rank of the wanted sample, 1-based, rounded up (p50 of 2 samples is the 1st).
        let rank = (total * u64::from(percentile.min(100)))
            .div_ceil(100)
            .max(1);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let bound = BOUNDS_MS.get(index).copied().unwrap_or(self.max_ms);
                return bound.min(self.max_ms);
            }
        }
        self.max_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_list_every_bound_then_the_open_ended_one_with_per_bucket_counts() {
        let mut histogram = LatencyHistogram::default();
        for latency in [1, 4, 4, 60_000] {
            histogram.record(latency);
        }
        let buckets = histogram.buckets();
        assert_eq!(buckets.len(), BOUNDS_MS.len() + 1);
        assert_eq!(buckets[0], (Some(1), 1));
        assert_eq!(buckets[3], (Some(5), 2));
        assert_eq!(buckets.last(), Some(&(None, 1)));
        assert_eq!(buckets.iter().map(|(_, count)| count).sum::<u64>(), 4);
    }

    #[test]
    fn percentiles_are_bucket_bounds_capped_by_the_maximum() {
        let mut histogram = LatencyHistogram::default();
        assert_eq!(histogram.percentile(50), 0);
        for latency in [4, 4, 4, 4, 4, 4, 4, 4, 4, 80] {
            histogram.record(latency);
        }
        assert_eq!(histogram.percentile(50), 5);
        assert_eq!(histogram.percentile(90), 5);
        assert_eq!(histogram.percentile(99), 80);
        histogram.record(60_000);
        assert_eq!(histogram.percentile(100), 60_000);
    }

    #[test]
    fn merged_histograms_add_up() {
        let (mut a, mut b) = (LatencyHistogram::default(), LatencyHistogram::default());
        a.record(1);
        b.record(1_000);
        b.record(1_000);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.percentile(50), 1_000);
        assert_eq!(a.percentile(10), 1);
    }
}

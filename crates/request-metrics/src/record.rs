//! The record one route pattern has in the key-value store. The JSON layout is the one the
//! store already holds (`{"series":{"GET 200":{"count":…,"sumMs":…,"buckets":[…]}}}`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Upper bounds (ms) of the request latency histogram; the last bucket is `+Inf`.
pub const BOUNDS_MS: [u64; 12] = [
    5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000,
];

/// The counts of one `method status` pair on one route.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Series {
    /// Requests answered.
    pub count: u64,
    /// Sum of their latencies (ms).
    pub sum_ms: u64,
    /// Count per bucket of [`BOUNDS_MS`] plus one for `+Inf` (not cumulative).
    pub buckets: Vec<u64>,
}

impl Series {
    /// Adds one request that took `latency_ms`.
    pub fn record(&mut self, latency_ms: u64) {
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(latency_ms);
        let index = BOUNDS_MS
            .iter()
            .position(|&bound| latency_ms <= bound)
            .unwrap_or(BOUNDS_MS.len());
        self.widen();
        self.buckets[index] += 1;
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Series) {
        self.count = self.count.saturating_add(other.count);
        self.sum_ms = self.sum_ms.saturating_add(other.sum_ms);
        self.widen();
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine = mine.saturating_add(*theirs);
        }
    }

    /// Makes room for every bucket (a record written by an older layout may have fewer).
    fn widen(&mut self) {
        if self.buckets.len() < BOUNDS_MS.len() + 1 {
            self.buckets.resize(BOUNDS_MS.len() + 1, 0);
        }
    }
}

/// One route's record: `"{method} {status}"` → series.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouteRecord {
    /// Series by `"{method} {status}"`.
    pub series: BTreeMap<String, Series>,
}

impl RouteRecord {
    /// Adds one request to the `method status` series.
    pub fn record(&mut self, method: &str, status: u16, latency_ms: u64) {
        let key = format!("{method} {status}");
        match self.series.get_mut(&key) {
            Some(series) => series.record(latency_ms),
            None => self.series.entry(key).or_default().record(latency_ms),
        }
    }

    /// Adds every series of `other` to this record.
    pub fn merge(&mut self, other: &RouteRecord) {
        for (key, series) in &other.series {
            match self.series.get_mut(key) {
                Some(mine) => mine.merge(series),
                None => {
                    self.series.insert(key.clone(), series.clone());
                }
            }
        }
    }

    /// Requests counted in this record.
    pub fn requests(&self) -> u64 {
        self.series.values().map(|s| s.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_lands_in_the_first_bucket_whose_bound_it_does_not_exceed() {
        let mut series = Series::default();
        series.record(5);
        series.record(6);
        series.record(60_000);
        assert_eq!(series.count, 3);
        assert_eq!(series.sum_ms, 60_011);
        assert_eq!(series.buckets[0], 1, "5 ms ≤ 5");
        assert_eq!(series.buckets[1], 1, "6 ms ≤ 10");
        assert_eq!(series.buckets[BOUNDS_MS.len()], 1, "+Inf");
    }

    #[test]
    fn merging_adds_counts_sums_and_buckets_series_by_series() {
        let mut stored = RouteRecord::default();
        stored.record("GET", 200, 3);
        let mut delta = RouteRecord::default();
        delta.record("GET", 200, 30);
        delta.record("GET", 503, 1);
        stored.merge(&delta);
        let ok = &stored.series["GET 200"];
        assert_eq!((ok.count, ok.sum_ms), (2, 33));
        assert_eq!((ok.buckets[0], ok.buckets[3]), (1, 1));
        assert_eq!(stored.series["GET 503"].count, 1);
        assert_eq!(stored.requests(), 3);
    }

    #[test]
    fn the_stored_json_layout_is_unchanged_and_short_bucket_lists_are_widened() {
        let old = r#"{"series":{"GET 200":{"count":2,"sumMs":7,"buckets":[2]}}}"#;
        let mut record: RouteRecord = serde_json::from_str(old).unwrap();
        record.record("GET", 200, 1);
        let series = &record.series["GET 200"];
        assert_eq!((series.count, series.sum_ms), (3, 8));
        assert_eq!(series.buckets.len(), BOUNDS_MS.len() + 1);
        assert_eq!(series.buckets[0], 3);
        let json = serde_json::to_string(&record).unwrap();
        assert!(json.starts_with(r#"{"series":{"GET 200":{"count":3,"sumMs":8,"buckets":[3,0"#));
    }
}

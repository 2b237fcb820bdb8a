//! When one instance writes its batch.
//!
//! Spin 4 reuses an instance for many requests (128, 16 at a time, dropped after 1 s idle),
//! so counting in instance memory and writing now and then is cheap — but whatever is still
//! in memory when the instance goes away is lost. The rules, checked as each request ends:
//!
//! 1. the first request an instance answers is written at once (an instance that serves a
//!    single request — no reuse — never holds anything back);
//! 2. a batch that reaches [`FlushPolicy::max_batch`] requests is written at once;
//! 3. otherwise one deferred write is scheduled [`FlushPolicy::max_delay_ms`] later, as
//!    post-return work of the request that scheduled it (Spin keeps an instance alive until
//!    such work ends), and carries everything recorded until then;
//! 4. a scrape writes the batch of the instance serving it before reading the store.
//!
//! At most one write runs per instance; requests that end during it join the next one.
//! Counts a write could not store (key-value failing) stay in the batch for the write the
//! next request triggers; nothing retries on a timer, so an instance whose store is down
//! still goes idle and is dropped (losing those counts) instead of retrying forever.

use crate::batch::Batch;
use crate::record::RouteRecord;

/// How much an instance may hold back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushPolicy {
    /// Requests after which a batch is written at once.
    pub max_batch: u64,
    /// Delay of the deferred write, in milliseconds.
    pub max_delay_ms: u64,
}

impl Default for FlushPolicy {
    /// 128 requests (a Spin 4 instance's lifetime) or 1 s, whichever comes first. On Spin's
    /// default key-value store every `set` is a synced SQLite transaction behind one mutex,
    /// so each write is paid by every request waiting for the store (issue 10).
    fn default() -> Self {
        Self {
            max_batch: 128,
            max_delay_ms: 1_000,
        }
    }
}

/// What the caller should do after recording a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flush {
    /// Write the batch now ([`InstanceMetrics::begin_write`]).
    Now,
    /// Schedule a deferred write: wait this many milliseconds, then call
    /// [`InstanceMetrics::deferred_write_due`].
    After(u64),
    /// Nothing: a write is already running or scheduled.
    Nothing,
}

/// One instance's metrics state.
#[derive(Debug, Default)]
pub struct InstanceMetrics {
    policy: FlushPolicy,
    batch: Batch,
    has_written: bool,
    writing: bool,
    deferred: bool,
}

impl InstanceMetrics {
    /// Empty state with `policy`.
    pub fn new(policy: FlushPolicy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// Records one answered request and says when to write.
    pub fn record(&mut self, route: &str, method: &str, status: u16, latency_ms: u64) -> Flush {
        self.batch.record(route, method, status, latency_ms);
        self.after_change()
    }

    /// Takes the batch for writing, unless it is empty or a write already runs. Call
    /// [`Self::end_write`] with what could not be written.
    pub fn begin_write(&mut self) -> Option<Batch> {
        if self.writing || self.batch.is_empty() {
            return None;
        }
        self.writing = true;
        self.has_written = true;
        Some(std::mem::take(&mut self.batch))
    }

    /// Ends a write: deltas that could not be written go back into the batch. Says whether
    /// requests recorded meanwhile need a (deferred) write of their own.
    pub fn end_write(&mut self, unwritten: Vec<(String, RouteRecord)>) -> Flush {
        self.writing = false;
        if !unwritten.is_empty() {
            // The store just failed: keep the counts for the next request's write rather
            // than retrying on a timer (which would keep the instance alive while it is down).
            for (route, delta) in unwritten {
                self.batch.restore(route, delta);
            }
            return Flush::Nothing;
        }
        self.after_change()
    }

    /// The deferred write's delay has passed: take the batch for writing (as
    /// [`Self::begin_write`]).
    pub fn deferred_write_due(&mut self) -> Option<Batch> {
        self.deferred = false;
        self.begin_write()
    }

    /// Requests recorded and not yet written (or being written).
    pub fn pending_requests(&self) -> u64 {
        self.batch.requests()
    }

    fn after_change(&mut self) -> Flush {
        if self.writing || self.batch.is_empty() {
            Flush::Nothing
        } else if !self.has_written || self.batch.requests() >= self.policy.max_batch {
            Flush::Now
        } else {
            self.schedule()
        }
    }

    fn schedule(&mut self) -> Flush {
        if self.deferred {
            Flush::Nothing
        } else {
            self.deferred = true;
            Flush::After(self.policy.max_delay_ms)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> FlushPolicy {
        FlushPolicy {
            max_batch: 3,
            max_delay_ms: 100,
        }
    }

    fn write_all(metrics: &mut InstanceMetrics) -> u64 {
        let batch = metrics.begin_write().expect("a batch to write");
        let requests = batch.requests();
        assert_eq!(metrics.end_write(Vec::new()), Flush::Nothing);
        requests
    }

    #[test]
    fn an_instance_writes_its_first_request_at_once() {
        let mut metrics = InstanceMetrics::new(policy());
        assert_eq!(metrics.record("/health/live", "GET", 200, 1), Flush::Now);
        assert_eq!(write_all(&mut metrics), 1);
    }

    #[test]
    fn later_requests_wait_for_one_deferred_write_until_the_batch_is_full() {
        let mut metrics = InstanceMetrics::new(policy());
        metrics.record("/a", "GET", 200, 1);
        write_all(&mut metrics);
        assert_eq!(metrics.record("/a", "GET", 200, 1), Flush::After(100));
        assert_eq!(metrics.record("/a", "GET", 200, 1), Flush::Nothing);
        assert_eq!(
            metrics.record("/b", "GET", 200, 1),
            Flush::Now,
            "3 = max_batch"
        );
        assert_eq!(write_all(&mut metrics), 3);
        assert_eq!(
            metrics.deferred_write_due(),
            None,
            "nothing left for the deferred write"
        );
        assert_eq!(metrics.record("/a", "GET", 200, 1), Flush::After(100));
        assert_eq!(metrics.deferred_write_due().map(|b| b.requests()), Some(1));
    }

    #[test]
    fn requests_ending_during_a_write_are_carried_by_the_next_one() {
        let mut metrics = InstanceMetrics::new(policy());
        metrics.record("/a", "GET", 200, 1);
        let batch = metrics.begin_write().unwrap();
        assert_eq!(batch.requests(), 1);
        assert_eq!(
            metrics.record("/a", "GET", 200, 1),
            Flush::Nothing,
            "write running"
        );
        assert_eq!(metrics.begin_write(), None, "one write at a time");
        assert_eq!(metrics.end_write(Vec::new()), Flush::After(100));
        assert_eq!(metrics.pending_requests(), 1);
        assert_eq!(metrics.deferred_write_due().map(|b| b.requests()), Some(1));
    }

    #[test]
    fn a_failed_write_keeps_its_counts_for_the_next_requests_write_without_a_timer() {
        let mut metrics = InstanceMetrics::new(policy());
        assert_eq!(metrics.record("/a", "GET", 200, 1), Flush::Now);
        let batch = metrics.begin_write().unwrap();
        let unwritten: Vec<_> = batch.into_routes().collect();
        assert_eq!(
            metrics.end_write(unwritten),
            Flush::Nothing,
            "no retry timer"
        );
        assert_eq!(metrics.pending_requests(), 1);
        assert_eq!(metrics.record("/a", "GET", 200, 1), Flush::After(100));
        assert_eq!(metrics.deferred_write_due().map(|b| b.requests()), Some(2));
    }
}

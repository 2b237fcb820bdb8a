//! The requests one instance answered and has not written yet.

use crate::record::RouteRecord;
use std::collections::BTreeMap;

/// Per-route deltas waiting to be added to the shared records. Its size is bounded by the
/// number of `route × method × status` combinations, never by the number of requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    routes: BTreeMap<String, RouteRecord>,
    requests: u64,
}

impl Batch {
    /// Adds one answered request.
    pub fn record(&mut self, route: &str, method: &str, status: u16, latency_ms: u64) {
        match self.routes.get_mut(route) {
            Some(record) => record.record(method, status, latency_ms),
            None => self
                .routes
                .entry(route.to_owned())
                .or_default()
                .record(method, status, latency_ms),
        }
        self.requests += 1;
    }

    /// Requests in the batch.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Whether the batch holds no request.
    pub fn is_empty(&self) -> bool {
        self.requests == 0
    }

    /// The per-route deltas, to add to the shared records (one read-modify-write each).
    pub fn into_routes(self) -> impl Iterator<Item = (String, RouteRecord)> {
        self.routes.into_iter()
    }

    /// Puts back a route's delta that could not be written, so a later write carries it.
    pub fn restore(&mut self, route: String, delta: RouteRecord) {
        self.requests += delta.requests();
        self.routes.entry(route).or_default().merge(&delta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_counts_requests_per_route_and_restores_unwritten_deltas() {
        let mut batch = Batch::default();
        batch.record("/health/live", "GET", 200, 1);
        batch.record("/health/live", "GET", 200, 2);
        batch.record("/metrics", "GET", 200, 3);
        assert_eq!(batch.requests(), 3);
        let routes: Vec<(String, RouteRecord)> = batch.into_routes().collect();
        assert_eq!(routes.len(), 2);

        let mut again = Batch::default();
        again.record("/metrics", "GET", 200, 1);
        for (route, delta) in routes {
            again.restore(route, delta);
        }
        assert_eq!(again.requests(), 4);
        let merged: Vec<(String, RouteRecord)> = again.into_routes().collect();
        assert_eq!(merged[1].0, "/metrics");
        assert_eq!(merged[1].1.series["GET 200"].count, 2);
    }
}

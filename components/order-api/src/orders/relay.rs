//! When this instance runs relay passes (issue 10): after the responses of the requests that
//! changed orders, coalesced per instance, at most one pass per [`RELAY_EVERY_MS`].
//!
//! A relay pass costs the same SQLite work whatever it carries (the emitter's due read, the
//! claim and the mark: three statements, two of them writes), so a pass per request cost more
//! than a fifth of a create-order's host CPU under load (measured: `README` → Benchmarks). With
//! the window, the first request after a quiet spell still starts a pass at once; the requests
//! that end while a pass runs, or within the window after it started, are carried by one pass
//! at the end of that window. An event therefore waits for the pass in progress, then at most
//! [`RELAY_EVERY_MS`] after that pass started (more while a backlog drains in full batches, or
//! until the next request after a failed pass), and under load one pass carries the events of
//! many orders.
//!
//! After each pass, unless it surely found nothing ([`checkpoints_after`]), the task
//! checkpoints the order database (`order_store::Db::checkpoint`), so the log is copied back
//! after responses rather than inside the statement of the request whose commit crossed the
//! `wal_autocheckpoint` threshold. Under load the host runs many instances, each with its own
//! passes, and many of them find the rows taken already: checkpointing after those too synced
//! the database file more often for nothing (0.19 against 0.15 syncs per order under
//! `strace`: issue 10, README → Benchmarks, session 18).

use crate::bindings::shop::events::events;

/// Shortest time between the starts of two relay passes of one instance, in milliseconds. Under load
/// the host spreads concurrent requests over several instances, each with its own window, so
/// the window bounds passes per instance, not per node: measured at 16 connections (README →
/// Benchmarks), 50 ms still left ~0.6 relay statements per order, 250 ms ~0.2.
pub(crate) const RELAY_EVERY_MS: i64 = 250;

/// Rows one relay pass delivers at most; a pass that took this many goes round again at once
/// (more may be due), without waiting for the window.
pub(crate) const RELAY_BATCH: u32 = 64;

/// This instance's relay passes: whether one is running or waiting for its window, whether a
/// request asked for another since the current one started, and when the last one started.
/// Pure bookkeeping over times the caller passes (epoch ms), so the rules are unit-tested.
#[derive(Debug, Default)]
pub(crate) struct RelaySchedule {
    /// A pass task exists (running, or sleeping until its window opens).
    running: bool,
    /// A request ended after the current pass took its rows: one more pass is needed.
    again: bool,
    /// When the last pass started (epoch ms).
    last_start: Option<i64>,
    /// The last pass took a full batch: the next one starts without waiting.
    hurry: bool,
}

impl RelaySchedule {
    /// A request changed orders: `true` when the caller must start the pass task, `false`
    /// when the running task will carry this request's rows.
    pub(crate) fn request(&mut self) -> bool {
        if self.running {
            self.again = true;
            false
        } else {
            self.running = true;
            true
        }
    }

    /// How long the pass task waits at `now` before its next pass, in milliseconds (0: at
    /// once): until [`RELAY_EVERY_MS`] after the last start, unless the last pass was full;
    /// never longer than the window, even when the wall clock stepped back.
    pub(crate) fn wait_ms(&self, now: i64) -> i64 {
        match self.last_start {
            Some(at) if !self.hurry => (at + RELAY_EVERY_MS - now).clamp(0, RELAY_EVERY_MS),
            _ => 0,
        }
    }

    /// The pass starts at `now`: it carries every request that ended before this.
    pub(crate) fn start(&mut self, now: i64) {
        self.last_start = Some(now);
        self.again = false;
    }

    /// The pass ended, having taken `taken` rows: `true` when the task must run another (a
    /// request ended meanwhile, or the batch was full); else the task ends.
    pub(crate) fn finish(&mut self, taken: u32) -> bool {
        self.hurry = taken >= RELAY_BATCH;
        let another = self.again || self.hurry;
        self.running = another;
        another
    }
}

/// Whether the relay task checkpoints after a pass that reported `attempted` rows (`None`: the
/// pass failed). Every order writes outbox rows, so the pass that carries its events
/// checkpoints after its commit; only a pass that surely found nothing due (another instance's
/// pass took the rows) leaves the copy to that one. A failed pass may have written (a claim,
/// rows postponed while Redis is down), so it checkpoints too.
fn checkpoints_after(attempted: Option<u32>) -> bool {
    attempted != Some(0)
}

thread_local! {
    static SCHEDULE: std::cell::RefCell<RelaySchedule> =
        std::cell::RefCell::new(RelaySchedule::default());
}

/// How long post-return work of a request (the relay pass, the recovery pass) waits before
/// its first host call, in milliseconds: see [`let_the_response_leave`].
pub(crate) const POST_RETURN_PAUSE_MS: u64 = 5;

/// Waits [`POST_RETURN_PAUSE_MS`] before post-return work starts, so the response leaves
/// first in one write.
///
/// Why: the SDK writes a reply's body from a task of its own after the handler returns; when
/// post-return work starts at once (a fresh instance's first request starts a relay pass and
/// a recovery pass), the host's HTTP server often has the headers before the body, sends them
/// alone, and the body follows in a second small write — which, on a socket without
/// `TCP_NODELAY` (Spin's), waits for the client's delayed ACK. Measured (issue 10, session 20;
/// `bench --compare … --connections 1`, an instance per request): `strace` showed the 239-byte
/// head and the body in separate `writev`s and the next request 42 ms later; a fresh instance's
/// order answered in 52–56 ms against 12–14 ms with this pause (12–14 ms also with the host's
/// `--tcp-nodelay`, which Spin does not set). The mechanism (session 21, read in wasmtime 48 and
/// counted with the host's socket writes per response, 1.96 → 1.10): the body's write is parked
/// before the host attaches its reader, and the host moves it with a future its event loop polls
/// just after handing the head to hyper; when guest work is ready at that moment (as far as we
/// can tell, the completions of post-return host calls), hyper often sends the head alone. So the
/// pause must not be a mere yield: a yielding guest is resumed only after the loop yielded to
/// tokio, which lets hyper run (writing the body after a yield split 98 % of the responses at
/// 16 connections, 55 % with an instance per request). A gate
/// that waited for the SDK's body task to end did not help (52–56 ms).
pub(crate) async fn let_the_response_leave() {
    spin_sdk::time::sleep(std::time::Duration::from_millis(POST_RETURN_PAUSE_MS)).await;
}

/// Asks the relay to deliver pending outbox rows, as post-return work: the response never
/// waits for Redis (Spin keeps the instance until its tasks end, as for the metrics batch).
/// Passes follow [`RelaySchedule`]: one at a time per instance, at most one per
/// [`RELAY_EVERY_MS`]. Best effort: a relay or Redis failure only delays delivery (the rows
/// stay pending for the next pass, an admin dispatch or the next order).
pub(crate) fn dispatch_events() {
    if !SCHEDULE.with_borrow_mut(RelaySchedule::request) {
        return;
    }
    spin_sdk::wasip3::spawn(async {
        let_the_response_leave().await;
        loop {
            let wait = SCHEDULE.with_borrow(|s| s.wait_ms(guest::clock::now_ms()));
            if wait > 0 {
                spin_sdk::time::sleep(std::time::Duration::from_millis(wait.unsigned_abs())).await;
            }
            SCHEDULE.with_borrow_mut(|s| s.start(guest::clock::now_ms()));
            let attempted = events::dispatch(RELAY_BATCH)
                .await
                .ok()
                .map(|report| report.attempted);
            // The orders' commits leave the log to be copied back; doing it here, after the
            // responses, keeps the copy out of requests (`order_store::Db::checkpoint`).
            if checkpoints_after(attempted)
                && let Ok(db) = crate::store::Db::open().await
            {
                db.checkpoint().await;
            }
            if !SCHEDULE.with_borrow_mut(|s| s.finish(attempted.unwrap_or(0))) {
                break;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pass_that_found_nothing_skips_the_checkpoint() {
        assert!(!checkpoints_after(Some(0)));
        assert!(checkpoints_after(Some(1)));
        assert!(checkpoints_after(Some(RELAY_BATCH)));
        assert!(checkpoints_after(None), "a failed pass may have written");
    }

    #[test]
    fn the_first_request_after_a_quiet_spell_starts_a_pass_at_once() {
        let mut schedule = RelaySchedule::default();
        assert!(schedule.request());
        assert_eq!(schedule.wait_ms(1_000), 0);
        schedule.start(1_000);
        assert!(!schedule.finish(2));
        // Long after: a new task, no wait.
        assert!(schedule.request());
        assert_eq!(schedule.wait_ms(1_000 + RELAY_EVERY_MS), 0);
    }

    #[test]
    fn requests_ending_during_a_pass_share_one_pass_at_the_end_of_the_window() {
        let mut schedule = RelaySchedule::default();
        assert!(schedule.request());
        schedule.start(1_000);
        // Three requests end while the pass runs: the running task takes them.
        assert!(!schedule.request());
        assert!(!schedule.request());
        assert!(!schedule.request());
        assert!(schedule.finish(2), "one more pass for the three");
        assert_eq!(schedule.wait_ms(1_010), RELAY_EVERY_MS - 10);
        // A fourth ends while the task waits for the window: the same pass carries it.
        assert!(!schedule.request());
        schedule.start(1_000 + RELAY_EVERY_MS);
        assert!(
            !schedule.finish(8),
            "nothing ended after the second pass started"
        );
    }

    #[test]
    fn a_request_ending_within_the_window_after_the_task_ended_waits_for_the_window() {
        let mut schedule = RelaySchedule::default();
        assert!(schedule.request());
        schedule.start(1_000);
        assert!(!schedule.finish(2));
        assert!(schedule.request());
        assert_eq!(schedule.wait_ms(1_020), RELAY_EVERY_MS - 20);
    }

    #[test]
    fn a_full_batch_goes_round_again_at_once() {
        let mut schedule = RelaySchedule::default();
        assert!(schedule.request());
        schedule.start(1_000);
        assert!(schedule.finish(RELAY_BATCH), "more may be due");
        assert_eq!(schedule.wait_ms(1_001), 0);
        schedule.start(1_001);
        assert!(!schedule.finish(3));
        assert!(schedule.request());
        assert_eq!(schedule.wait_ms(1_002), RELAY_EVERY_MS - 1);
    }

    #[test]
    fn a_clock_stepping_back_never_waits_longer_than_the_window() {
        let mut schedule = RelaySchedule::default();
        assert!(schedule.request());
        schedule.start(10_000);
        assert!(!schedule.finish(1));
        assert!(schedule.request());
        assert_eq!(schedule.wait_ms(1_000), RELAY_EVERY_MS);
    }
}

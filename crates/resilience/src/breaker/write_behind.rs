//! Per-instance write-behind for the shared breaker records (issue 10).
//!
//! Without it every call costs three store operations (read the state, read and write the
//! window). On Spin's default key-value store (a SQLite file in rollback-journal mode with
//! `synchronous = FULL`, one connection per app) every write is a journalled, fsynced
//! transaction behind one mutex, so a create-order request (three guarded calls) spent most of
//! its time queueing for the store. With a write-behind of `delay_ms`:
//!
//! * **State reads.** A *closed* state read by this instance less than `delay_ms` ago is
//!   reused; an open or half-open state is always read again. Another instance's trip is
//!   therefore seen at most `delay_ms` late: this instance may send calls to a dependency
//!   that was just declared down for up to that long (they are counted like any other) —
//!   but only while its own calls succeed: any outcome other than a quiet success (a failure,
//!   a timeout, a slow call, a fallback) drops the cached state, so its next call reads the
//!   shared state and sees the trip.
//! * **Quiet successes.** A call that succeeded, was not slow and came with no refusal,
//!   fallback or error, made under a closed breaker of a known window generation, is kept
//!   here instead of written, unless this instance's last window write is `delay_ms` old
//!   (then the window is written with everything kept). Successes cannot open a breaker, so
//!   keeping them back never delays a trip; it only makes the shared error rate look higher
//!   for at most `delay_ms` of this instance's traffic (a trip may come a little earlier than
//!   with every success counted).
//! * **Everything else** (failures, timeouts, slow calls, refusals, fallbacks, probes) is
//!   written at once, together with the successes kept so far, each in the bucket of the time
//!   it happened, so the trip decision sees them.
//!
//! What is lost: successes kept by an instance that ends before its next write (at most
//! `delay_ms` of one instance's successes). A fresh instance has written nothing yet, so its
//! first call writes: with one instance per request (Spin's `--max-instance-reuse-count 1`)
//! every call is written, as without write-behind. `delay_ms = 0` turns it off.

use std::cell::RefCell;

use super::state::{BreakerState, StateRecord};
use super::window::Tally;
use crate::outcome::OutcomeKind;

/// One breaker's write-behind state in one instance. Share it (e.g. in an `Rc` held by a
/// `thread_local!`) between the breakers an instance builds for the same dependency; see
/// [`super::Breaker::with_write_behind`].
#[derive(Debug, Default)]
pub struct WriteBehind {
    inner: RefCell<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The last closed state read, and when (epoch ms).
    state: Option<(StateRecord, i64)>,
    /// Quiet successes not written yet: when, the window generation they count for, what.
    kept: Vec<Kept>,
    /// When this instance last wrote the window (epoch ms); `None` before its first write.
    last_write_ms: Option<i64>,
}

/// A tally kept back: when it happened and the window generation it counts for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) at_ms: i64,
    pub(crate) generation: u64,
    pub(crate) tally: Tally,
}

impl WriteBehind {
    /// An empty write-behind (nothing cached, nothing kept).
    pub fn new() -> Self {
        Self::default()
    }

    /// The closed state read less than `delay_ms` before `now`, if any.
    pub(crate) fn fresh_state(&self, now_ms: i64, delay_ms: u64) -> Option<StateRecord> {
        let inner = self.inner.borrow();
        let (record, read_at) = inner.state.as_ref()?;
        let age = now_ms.saturating_sub(*read_at);
        (record.state == BreakerState::Closed && age >= 0 && (age as u64) < delay_ms)
            .then(|| record.clone())
    }

    /// Remembers `record`, read at `now`; only a closed state is ever reused.
    pub(crate) fn remember_state(&self, record: &StateRecord, now_ms: i64) {
        self.inner.borrow_mut().state =
            (record.state == BreakerState::Closed).then(|| (record.clone(), now_ms));
    }

    /// Forgets the cached state (this instance changed it).
    pub(crate) fn forget_state(&self) {
        self.inner.borrow_mut().state = None;
    }

    /// Keeps `tally` (made at `now` under window `generation`) instead of writing it, when it
    /// is a quiet success and this instance wrote the window less than `delay_ms` ago. `false`:
    /// write now (with whatever [`take_kept`](Self::take_kept) returns).
    pub(crate) fn keep(&self, tally: &Tally, generation: u64, now_ms: i64, delay_ms: u64) -> bool {
        let mut inner = self.inner.borrow_mut();
        let recent = inner.last_write_ms.is_some_and(|at| {
            let age = now_ms.saturating_sub(at);
            age >= 0 && (age as u64) < delay_ms
        });
        if !recent || !quiet(tally) {
            return false;
        }
        inner.kept.push(Kept {
            at_ms: now_ms,
            generation,
            tally: tally.clone(),
        });
        true
    }

    /// Takes every kept tally, oldest first, for a window write starting at `now`.
    pub(crate) fn take_kept(&self, now_ms: i64) -> Vec<Kept> {
        let mut inner = self.inner.borrow_mut();
        inner.last_write_ms = Some(now_ms);
        std::mem::take(&mut inner.kept)
    }

    /// How many tallies are kept back right now.
    pub fn kept_len(&self) -> usize {
        self.inner.borrow().kept.len()
    }
}

/// A tally that cannot move a breaker: live successes only, with no refusal, fallback or
/// error text. (Whether one was slow is the caller's check: it knows the slow-call rule.)
pub(crate) fn quiet(tally: &Tally) -> bool {
    !tally.outcomes.is_empty()
        && tally
            .outcomes
            .iter()
            .all(|outcome| outcome.kind == OutcomeKind::Success)
        && tally.short_circuits == 0
        && tally.fallbacks == 0
        && tally.last_error.is_none()
}

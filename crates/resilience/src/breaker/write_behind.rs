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
//!   but only while its own calls succeed: once an outcome other than a quiet success (a
//!   failure, a timeout, a slow call, a fallback) is recorded, the cached state is dropped and
//!   the instance's next admission reads the shared state (a timeout is recorded when it ends,
//!   so calls admitted meanwhile still use the cached state).
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
//! * **Deferred flush.** When an adapter call ends with successes kept and no flush scheduled
//!   ([`WriteBehind::claim_flush`]), the caller runs [`super::Breaker::flush`] `delay_ms`
//!   later as post-return work, so kept successes reach the window even when no later call of
//!   the instance comes to write them (under load an instance may live about as long as the
//!   delay). A flush that finds the window written by the instance within the delay does
//!   nothing: that write took what was kept, and what was kept since has a flush of its own.
//!
//! What is lost: successes kept by an instance that ends (traps, or is dropped before its
//! deferred flush ran) before its next write — at most `delay_ms` of one instance's
//! successes — and those a window write took but could not store (the store failed). A
//! fresh instance has written nothing yet, so its first call writes: with one instance per
//! request (Spin's `--max-instance-reuse-count 1`) every call is written, as without
//! write-behind. `delay_ms = 0` turns it off.

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
    /// A deferred flush of the kept successes is scheduled ([`WriteBehind::claim_flush`]).
    flush_scheduled: bool,
    /// Bumped by every [`WriteBehind::forget_state`]: a state read that began before a
    /// forget must not be remembered after it ([`WriteBehind::remember_state`]).
    epoch: u64,
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

    /// The current forget epoch: take it before reading the state, give it back to
    /// [`remember_state`](Self::remember_state).
    pub(crate) fn epoch(&self) -> u64 {
        self.inner.borrow().epoch
    }

    /// Remembers `record`, read at `now` by a read that began at `epoch`; only a closed state
    /// is ever reused, and only when nothing was forgotten since the read began (requests of
    /// one instance run concurrently: a read that started before another request's failure
    /// or transition must not put the state it saw back for `delay_ms`).
    pub(crate) fn remember_state(&self, record: &StateRecord, now_ms: i64, epoch: u64) {
        let mut inner = self.inner.borrow_mut();
        if inner.epoch != epoch {
            return;
        }
        inner.state = (record.state == BreakerState::Closed).then(|| (record.clone(), now_ms));
    }

    /// Forgets the cached state: this instance changed it, or one of its calls had an outcome
    /// other than a quiet success.
    pub(crate) fn forget_state(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.state = None;
        inner.epoch = inner.epoch.wrapping_add(1);
    }

    /// Whether this instance wrote the window less than `delay_ms` before `now`.
    pub(crate) fn wrote_within(&self, now_ms: i64, delay_ms: u64) -> bool {
        self.inner.borrow().last_write_ms.is_some_and(|at| {
            let age = now_ms.saturating_sub(at);
            age >= 0 && (age as u64) < delay_ms
        })
    }

    /// Whether the caller should schedule a deferred flush now: successes are kept and no
    /// flush is scheduled yet (then one is, until the next window write takes the kept
    /// successes). The caller runs [`super::Breaker::flush`] `write_behind_ms` later, after
    /// its response (post-return work), so a reused instance writes what it kept even when
    /// no later call of its own comes to write it.
    pub fn claim_flush(&self) -> bool {
        let mut inner = self.inner.borrow_mut();
        if inner.kept.is_empty() || inner.flush_scheduled {
            return false;
        }
        inner.flush_scheduled = true;
        true
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
        inner.flush_scheduled = false;
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

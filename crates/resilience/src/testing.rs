//! Test doubles: a manual clock, a deterministic random source and an in-memory store
//! that yields at every operation, so concurrent callers interleave the way they would
//! against a remote store.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::breaker::{BreakerStore, RollingWindow, StateRecord};
use crate::clock::{Clock, Random};

/// A clock that moves only when told to, or when something sleeps on it (a sleep, when
/// first polled, jumps the clock forward by its duration, then yields once).
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    now_ms: Rc<Cell<i64>>,
    slept_ms: Rc<RefCell<Vec<u64>>>,
}

impl ManualClock {
    /// A clock reading `now_ms`.
    pub fn new(now_ms: i64) -> Self {
        Self {
            now_ms: Rc::new(Cell::new(now_ms)),
            slept_ms: Rc::default(),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, ms: u64) {
        self.now_ms.set(self.now_ms.get() + ms as i64);
    }

    /// Every sleep requested so far, in order.
    pub fn sleeps(&self) -> Vec<u64> {
        self.slept_ms.borrow().clone()
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.get()
    }

    fn sleep(&self, ms: u64) -> impl Future<Output = ()> {
        let clock = self.clone();
        // Nothing happens until polled: a timeout whose call is already done never sleeps.
        async move {
            clock.slept_ms.borrow_mut().push(ms);
            clock.advance(ms);
            YieldOnce::new().await;
        }
    }
}

/// Completes on its second poll, so a concurrent future gets to run in between.
#[derive(Debug)]
pub struct YieldOnce(bool);

impl YieldOnce {
    /// A fresh yield point.
    pub fn new() -> Self {
        Self(false)
    }
}

impl Default for YieldOnce {
    fn default() -> Self {
        Self::new()
    }
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A random source returning a fixed value, or counting up from a seed.
#[derive(Debug)]
pub struct SeqRandom {
    next: Cell<u64>,
    step: u64,
}

impl SeqRandom {
    /// Always `value` (`u64::MAX / 2` is a unit of ~0.5).
    pub fn fixed(value: u64) -> Self {
        Self {
            next: Cell::new(value),
            step: 0,
        }
    }

    /// `seed`, `seed + 1`, …: distinct claim tokens.
    pub fn counting(seed: u64) -> Self {
        Self {
            next: Cell::new(seed),
            step: 1,
        }
    }
}

impl Random for SeqRandom {
    fn next_u64(&self) -> u64 {
        let value = self.next.get();
        self.next.set(value.wrapping_add(self.step));
        value
    }
}

/// Records in memory, shared by clones (two clones are two "instances" on one store).
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    state: Rc<RefCell<Option<StateRecord>>>,
    window: Rc<RefCell<Option<RollingWindow>>>,
    operations: Rc<Cell<u64>>,
}

impl MemoryStore {
    /// The stored state record.
    pub fn state(&self) -> Option<StateRecord> {
        self.state.borrow().clone()
    }

    /// Overwrites the stored state record.
    pub fn put_state(&self, record: StateRecord) {
        *self.state.borrow_mut() = Some(record);
    }

    /// The stored window.
    pub fn window(&self) -> Option<RollingWindow> {
        self.window.borrow().clone()
    }

    /// Store operations (reads and writes) so far.
    pub fn operations(&self) -> u64 {
        self.operations.get()
    }
}

impl BreakerStore for MemoryStore {
    type Error = std::convert::Infallible;

    async fn load_state(&self) -> Result<Option<StateRecord>, Self::Error> {
        YieldOnce::new().await;
        self.operations.set(self.operations.get() + 1);
        Ok(self.state.borrow().clone())
    }

    async fn save_state(&self, record: &StateRecord) -> Result<(), Self::Error> {
        YieldOnce::new().await;
        self.operations.set(self.operations.get() + 1);
        *self.state.borrow_mut() = Some(record.clone());
        Ok(())
    }

    async fn load_window(&self) -> Result<Option<RollingWindow>, Self::Error> {
        YieldOnce::new().await;
        self.operations.set(self.operations.get() + 1);
        Ok(self.window.borrow().clone())
    }

    async fn save_window(&self, window: &RollingWindow) -> Result<(), Self::Error> {
        YieldOnce::new().await;
        self.operations.set(self.operations.get() + 1);
        *self.window.borrow_mut() = Some(window.clone());
        Ok(())
    }
}

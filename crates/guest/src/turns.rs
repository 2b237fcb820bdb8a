//! Turn-taking between the concurrent requests of one instance: [`Gate`] lets a fixed number
//! of holders through at a time and queues the others, first come first served.
//!
//! Spin 4 runs many requests of one instance at once, each a component-model task. A task that
//! waits for another task's Rust-side event (a `futures` mutex, a channel) never wakes up:
//! `wit-bindgen` 0.57 aborts the instance ("Rust task cannot sleep waiting only on
//! Rust-originating events") unless its `inter-task-wakeup` feature is on, and with the
//! feature on every wait traps on wasmtime ≥ 45 ("waitable cannot be used synchronously while
//! added to a waitable set": 0.57.1 cancels the wake-up read while it still sits in the task's
//! waitable set, which the component model forbids since component-model#647, enforced by
//! wasmtime since bytecodealliance/wasmtime#13415; fixed in
//! `wit-bindgen` 0.59, which `spin-sdk` 7 cannot use). So a waiting task here sleeps on a
//! component-model primitive instead: a unit `future` of its own, read by the waiter and
//! written by the task that hands it the turn. The host delivers that write as an ordinary
//! event to the waiter's task, the way the component model means tasks of one instance to
//! wake each other.
//!
//! A waiter whose task is dropped while it waits (the request was cancelled) leaves the queue;
//! one dropped after it was handed the turn but before it ran passes the turn on.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use unit_future::Signal;

/// A fixed number of turns, the waiters for one queued in arrival order. `!Send`: a gate
/// belongs to one instance (keep it in a `thread_local!` or an `Rc`).
pub struct Gate {
    turns: usize,
    free: Cell<usize>,
    queue: RefCell<VecDeque<Rc<Waiter>>>,
}

/// The turn of a [`Gate`]: the next waiter gets it when this drops.
#[must_use = "the turn ends when this is dropped"]
pub struct Turn {
    gate: Rc<Gate>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Waiting,
    Granted,
    Gone,
}

struct Waiter {
    state: Cell<State>,
    signal: RefCell<Option<Signal>>,
}

impl Gate {
    /// A gate with `turns` turns (at least one), all free.
    pub fn new(turns: usize) -> Rc<Self> {
        let turns = turns.max(1);
        Rc::new(Self {
            turns,
            free: Cell::new(turns),
            queue: RefCell::new(VecDeque::new()),
        })
    }

    /// Whether every turn is free.
    pub fn is_idle(&self) -> bool {
        self.free.get() == self.turns
    }

    /// Waits for a turn (at once when one is free: then nobody waits).
    pub async fn acquire(self: &Rc<Self>) -> Turn {
        if self.free.get() > 0 {
            self.free.set(self.free.get() - 1);
            return Turn { gate: self.clone() };
        }
        let (signal, wakeup) = unit_future::pair();
        let waiter = Rc::new(Waiter {
            state: Cell::new(State::Waiting),
            signal: RefCell::new(Some(signal)),
        });
        self.queue.borrow_mut().push_back(waiter.clone());
        let waiting = Waiting {
            gate: self.clone(),
            waiter,
        };
        wakeup.wait().await;
        waiting.into_turn()
    }

    /// Hands a turn that ends to the first waiter still waiting, else frees it.
    fn pass(&self) {
        loop {
            let next = self.queue.borrow_mut().pop_front();
            let Some(next) = next else {
                self.free.set(self.free.get() + 1);
                return;
            };
            if next.state.get() != State::Waiting {
                continue;
            }
            next.state.set(State::Granted);
            if let Some(signal) = next.signal.borrow_mut().take() {
                signal.send();
            }
            return;
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.gate.pass();
    }
}

/// A queued waiter; dropped without [`Waiting::into_turn`] when its task is cancelled.
struct Waiting {
    gate: Rc<Gate>,
    waiter: Rc<Waiter>,
}

impl Waiting {
    fn into_turn(self) -> Turn {
        debug_assert_eq!(self.waiter.state.get(), State::Granted);
        self.waiter.state.set(State::Gone);
        Turn {
            gate: self.gate.clone(),
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        match self.waiter.state.replace(State::Gone) {
            // Handed the turn, then cancelled before using it: pass it on.
            State::Granted => self.gate.pass(),
            State::Waiting | State::Gone => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use futures::FutureExt;
    use futures::executor::LocalPool;
    use futures::task::LocalSpawnExt;

    use super::Gate;

    /// Pending once (waking itself), then ready: lets the other tasks run.
    struct YieldOnce(bool);

    impl std::future::Future for YieldOnce {
        type Output = ();
        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                return std::task::Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }

    #[test]
    fn one_holder_at_a_time_in_arrival_order() {
        let gate = Gate::new(1);
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut pool = LocalPool::new();
        let first = gate
            .acquire()
            .now_or_never()
            .expect("a free gate is taken at once");
        for n in 1..=3 {
            let (gate, log) = (gate.clone(), log.clone());
            pool.spawner()
                .spawn_local(async move {
                    let _turn = gate.acquire().await;
                    log.borrow_mut().push(format!("{n} in"));
                    YieldOnce(false).await;
                    log.borrow_mut().push(format!("{n} out"));
                })
                .unwrap();
        }
        pool.run_until_stalled();
        assert!(
            log.borrow().is_empty(),
            "nobody enters while the turn is held"
        );
        drop(first);
        pool.run_until_stalled();
        pool.run();
        assert_eq!(
            *log.borrow(),
            ["1 in", "1 out", "2 in", "2 out", "3 in", "3 out"]
        );
        assert!(gate.is_idle());
    }

    #[test]
    fn two_turns_let_two_holders_in_and_the_third_waits() {
        let gate = Gate::new(2);
        let first = gate.acquire().now_or_never().expect("a free turn");
        let second = gate.acquire().now_or_never().expect("the second free turn");
        let mut third = Box::pin(gate.acquire());
        assert!((&mut third).now_or_never().is_none(), "no turn left");
        drop(second);
        let third = (&mut third)
            .now_or_never()
            .expect("the ended turn was handed on");
        drop(first);
        drop(third);
        assert!(gate.is_idle());
    }

    #[test]
    fn a_cancelled_waiter_leaves_the_queue_and_a_cancelled_heir_passes_the_turn_on() {
        let gate = Gate::new(1);
        let first = gate.acquire().now_or_never().unwrap();
        // Waits, then is dropped while waiting.
        let mut gone = Box::pin(gate.acquire());
        assert!((&mut gone).now_or_never().is_none());
        // Waits, is handed the turn, and is dropped before it runs.
        let mut heir = Box::pin(gate.acquire());
        assert!((&mut heir).now_or_never().is_none());
        let mut last = Box::pin(gate.acquire());
        assert!((&mut last).now_or_never().is_none());
        drop(gone);
        drop(first);
        assert!(!gate.is_idle(), "handed on, not freed");
        drop(heir);
        let turn = (&mut last)
            .now_or_never()
            .expect("the turn reached the last waiter");
        drop(turn);
        assert!(gate.is_idle());
    }
}

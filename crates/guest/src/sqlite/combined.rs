//! Group commit (issue 10): [`PooledConnection::insert_combined`] turns the rows an
//! instance's requests insert at the same time into one multi-row statement, written by one
//! of those requests at a time.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;

use spin_sdk::sqlite::{Error, Value};

use super::PooledConnection;
use crate::turns::{self, Signal};

impl PooledConnection {
    /// Inserts one row, `head` (`INSERT INTO name (column, …)`) followed by `VALUES` and one
    /// `?` per value of `row`, combined with the rows this instance's other requests insert
    /// with the same `head` meanwhile: group commit (issue 10). Under load the requests of an
    /// instance reach their saga writes together; one of them, the writer, inserts all the rows
    /// queued so far as ONE multi-row statement (at most [`MAX_COMBINED_ROWS`]), i.e. one
    /// transaction and one commit, whose pages (B-tree roots, the right-most leaves of
    /// time-ordered keys) reach the log once instead of once per row, while the others wait
    /// here. Returns when this row's statement has committed, so a caller's next step still
    /// follows its own durable write.
    ///
    /// The writer is a caller: the first to find nobody writing, and after it the caller of
    /// the first row still queued when it is done with its own, woken for that (`turns`), so
    /// every request does its share on its own task and nothing outlives the requests. A
    /// caller dropped while its row waits takes the row out of the queue (never written) and,
    /// if it had just been made the writer, hands that on; a writer dropped mid-statement
    /// hands it on too, and the callers of the rows in that statement wake with an error
    /// saying the outcome is unknown.
    ///
    /// Each row keeps its own outcome: SQLite runs an `INSTEAD OF` trigger once per row and a
    /// `RAISE(ABORT, …)` in any of them rolls the whole statement back, so when a combined
    /// statement fails with an error for which `row_refused` is true (a constraint or a
    /// trigger's refusal: nothing was written), its rows are inserted again one statement
    /// each and every caller gets the outcome of its own row; any other failure (busy, a lost
    /// connection whose outcome is unknown) is every row's error, never a second attempt.
    /// Inside a transaction the row is inserted at once on the transaction's connection.
    ///
    /// # Errors
    /// `spin:sqlite`'s for this row's statement; `io` "outcome unknown" when the writer of its
    /// statement was dropped before the statement returned.
    pub async fn insert_combined(
        &self,
        head: &'static str,
        row: Vec<Value>,
        row_refused: fn(&Error) -> bool,
    ) -> Result<(), Error> {
        self.wants_relaxed.set(true);
        if self.in_transaction.get() {
            return self
                .query(&values_sql(head, row.len(), 1), row)
                .await
                .map(drop);
        }
        self.slot
            .combiner
            .insert(head, row, |head, rows| {
                insert_rows(self, head, rows, row_refused)
            })
            .await
    }
}

/// Group commit's state for one database of an instance: the rows its requests are inserting
/// and whether one of those requests is writing.
#[derive(Default)]
pub(super) struct Combiner {
    /// Rows waiting for a combined insert, in arrival order.
    pending: RefCell<VecDeque<Rc<PendingRow>>>,
    /// One of the callers is the writer.
    writing: Cell<bool>,
}

impl Combiner {
    /// [`PooledConnection::insert_combined`] outside a transaction: queues `row`, then waits
    /// for its outcome or to be made the writer; the writer hands each batch (a head and its
    /// rows' values, in queue order) to `write`, which returns one outcome per row, in order
    /// (a row without one is "outcome unknown").
    async fn insert<W, F>(&self, head: &'static str, row: Vec<Value>, write: W) -> Result<(), Error>
    where
        W: Fn(&'static str, Vec<Vec<Value>>) -> F,
        F: Future<Output = Vec<Result<(), Error>>>,
    {
        let (signal, wakeup) = turns::wakeup();
        let entry = Rc::new(PendingRow {
            head,
            row: RefCell::new(row),
            outcome: RefCell::new(None),
            signal: RefCell::new(Some(signal)),
            lead: Cell::new(Lead::No),
        });
        self.pending.borrow_mut().push_back(entry.clone());
        let queued = Queued {
            combiner: self,
            entry: &entry,
        };
        if self.writing.replace(true) {
            // Somebody writes: wait for this row's outcome, or to be made the writer.
            wakeup.wait().await;
            if entry.lead.get() != Lead::Offered {
                drop(queued);
                return outcome(&entry);
            }
        } else {
            // Nobody to wake this caller: it writes.
            drop(wakeup);
            drop(entry.signal.borrow_mut().take());
        }
        entry.lead.set(Lead::Taken);
        let writing = Writing {
            combiner: self,
            entry: &entry,
        };
        while entry.outcome.borrow().is_none() {
            let batch = self.take_batch();
            let Some(head) = batch.first().map(|(row, _)| row.head) else {
                break;
            };
            let rows = batch.iter().map(|(row, _)| row.row.take()).collect();
            let outcomes = write(head, rows).await;
            for ((row, signal), outcome) in batch.into_iter().zip(outcomes) {
                *row.outcome.borrow_mut() = Some(outcome);
                if let Some(signal) = signal {
                    signal.send();
                }
            }
        }
        drop(writing);
        drop(queued);
        outcome(&entry)
    }

    /// The next batch: the rows queued with the first queued row's `head` (at most
    /// [`MAX_COMBINED_ROWS`]), each with its signal, taken out of the queue.
    fn take_batch(&self) -> Vec<(Rc<PendingRow>, Option<Signal>)> {
        let mut pending = self.pending.borrow_mut();
        let Some(head) = pending.front().map(|row| row.head) else {
            return Vec::new();
        };
        let mut batch = Vec::new();
        pending.retain(|row| {
            let take = row.head == head && batch.len() < MAX_COMBINED_ROWS;
            if take {
                batch.push((row.clone(), row.signal.borrow_mut().take()));
            }
            !take
        });
        batch
    }

    /// Makes the caller of the first queued row the writer, or marks the queue without one.
    fn hand_over(&self) {
        let next = self.pending.borrow().front().cloned();
        match next {
            Some(next) => {
                next.lead.set(Lead::Offered);
                if let Some(signal) = next.signal.borrow_mut().take() {
                    signal.send();
                }
            }
            None => self.writing.set(false),
        }
    }

    /// Nobody writes and no row waits.
    #[cfg(test)]
    fn is_idle(&self) -> bool {
        !self.writing.get() && self.pending.borrow().is_empty()
    }

    /// Takes `entry` out of the queue, if it is still there.
    fn unqueue(&self, entry: &Rc<PendingRow>) {
        self.pending
            .borrow_mut()
            .retain(|queued| !Rc::ptr_eq(queued, entry));
    }
}

/// Rows most in one combined insert: bounds a statement's size and one writer's turn (19
/// values per order row, far below SQLite's 32,766 bound parameters; the bench's batches
/// average ~1.4 rows, see README → Benchmarks, session 12).
pub const MAX_COMBINED_ROWS: usize = 32;

/// A row waiting for its combined insert.
struct PendingRow {
    head: &'static str,
    row: RefCell<Vec<Value>>,
    outcome: RefCell<Option<Result<(), Error>>>,
    /// Wakes the caller: with its outcome, to take over as the writer, or (dropped with a
    /// dropped writer's statement) with its outcome unknown.
    signal: RefCell<Option<Signal>>,
    lead: Cell<Lead>,
}

/// Whether a row's caller is the writer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lead {
    No,
    /// Woken to take over as the writer.
    Offered,
    /// Writing.
    Taken,
}

/// This row's outcome; "unknown" when its writer was dropped before its statement returned.
fn outcome(entry: &PendingRow) -> Result<(), Error> {
    let outcome = entry.outcome.borrow_mut().take();
    outcome.unwrap_or_else(|| {
        Err(Error::Io(
            "the combined insert's outcome is unknown: its writer stopped".into(),
        ))
    })
}

/// A waiting caller's row: taken out of the queue if the caller is dropped first; a caller
/// dropped after it was made the writer, before it began, hands that on.
struct Queued<'a> {
    combiner: &'a Combiner,
    entry: &'a Rc<PendingRow>,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.combiner.unqueue(self.entry);
        if self.entry.lead.get() == Lead::Offered {
            self.combiner.hand_over();
        }
    }
}

/// The writer's role, handed on when the writer is done or dropped (its own row, if still
/// queued, leaves the queue first).
struct Writing<'a> {
    combiner: &'a Combiner,
    entry: &'a Rc<PendingRow>,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.combiner.unqueue(self.entry);
        self.combiner.hand_over();
    }
}

/// Inserts `rows` (of one `head`) as one statement: one outcome per row, in order. When that
/// statement fails with an error `row_refused` accepts (nothing written), or the rows differ
/// in width, the rows go one statement each; any other failure is every row's.
async fn insert_rows(
    handle: &PooledConnection,
    head: &'static str,
    rows: Vec<Vec<Value>>,
    row_refused: fn(&Error) -> bool,
) -> Vec<Result<(), Error>> {
    let width = rows.first().map_or(0, Vec::len);
    if rows.len() > 1 && rows.iter().all(|row| row.len() == width) {
        let values: Vec<Value> = rows.iter().flatten().cloned().collect();
        match handle
            .query(&values_sql(head, width, rows.len()), values)
            .await
        {
            Ok(_) => return rows.iter().map(|_| Ok(())).collect(),
            Err(error) if !row_refused(&error) => {
                return rows.iter().map(|_| Err(error.clone())).collect();
            }
            Err(_) => {}
        }
    }
    let mut outcomes = Vec::with_capacity(rows.len());
    for values in rows {
        let sql = values_sql(head, values.len(), 1);
        outcomes.push(handle.query(&sql, values).await.map(drop));
    }
    outcomes
}

/// `head VALUES (?, …), …`: `rows` groups of `width` placeholders.
fn values_sql(head: &str, width: usize, rows: usize) -> String {
    let group = format!("({})", vec!["?"; width].join(", "));
    format!("{head} VALUES {}", vec![group; rows].join(", "))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::future::Future;
    use std::pin::Pin;
    use std::rc::Rc;

    use futures::FutureExt;
    use futures::channel::oneshot;
    use spin_sdk::sqlite::{Error, Value};

    use super::{Combiner, MAX_COMBINED_ROWS, values_sql};

    const ORDERS: &str = "INSERT INTO orders (n)";
    const SAVES: &str = "INSERT INTO saves (n)";

    type Outcomes = Vec<Result<(), Error>>;

    /// The statement runner the writer is given: records every statement (its head and the
    /// rows' numbers) and finishes one when the test says so, with the outcomes it says.
    #[derive(Default)]
    struct Statements {
        log: RefCell<Vec<(&'static str, Vec<i64>)>>,
        running: RefCell<Vec<Option<oneshot::Sender<Outcomes>>>>,
    }

    impl Statements {
        fn runner(
            self: &Rc<Self>,
        ) -> impl Fn(&'static str, Vec<Vec<Value>>) -> Pin<Box<dyn Future<Output = Outcomes>>> + use<>
        {
            let statements = self.clone();
            move |head, rows| {
                let numbers = rows
                    .iter()
                    .map(|row| match row.as_slice() {
                        [Value::Integer(n)] => *n,
                        other => panic!("one integer per row, not {other:?}"),
                    })
                    .collect();
                statements.log.borrow_mut().push((head, numbers));
                let (finish, finished) = oneshot::channel();
                statements.running.borrow_mut().push(Some(finish));
                // A statement dropped unfinished has no outcomes.
                Box::pin(async move { finished.await.unwrap_or_default() })
            }
        }

        /// Finishes statement `index` (0-based, in the order they started).
        fn finish(&self, index: usize, outcomes: Outcomes) {
            let finish = self.running.borrow_mut()[index].take();
            finish
                .expect("a running statement")
                .send(outcomes)
                .expect("its writer waits");
        }

        fn log(&self) -> Vec<(&'static str, Vec<i64>)> {
            self.log.borrow().clone()
        }

        /// A caller inserting row `n` with `head` through `combiner`, not polled yet.
        fn insert<'a>(
            self: &Rc<Self>,
            combiner: &'a Combiner,
            head: &'static str,
            n: i64,
        ) -> Pin<Box<dyn Future<Output = Result<(), Error>> + 'a>> {
            Box::pin(combiner.insert(head, vec![Value::Integer(n)], self.runner()))
        }
    }

    fn ok(rows: usize) -> Outcomes {
        (0..rows).map(|_| Ok(())).collect()
    }

    /// Polls once: the output if it is ready.
    fn poll<T>(future: &mut Pin<Box<dyn Future<Output = T> + '_>>) -> Option<T> {
        future.as_mut().now_or_never()
    }

    #[test]
    fn rows_queued_during_a_statement_go_out_together_each_with_its_own_outcome() {
        let combiner = Combiner::default();
        let statements = Rc::new(Statements::default());
        let mut first = statements.insert(&combiner, ORDERS, 1);
        assert!(poll(&mut first).is_none(), "nobody wrote: it writes");
        let mut queued: Vec<_> = (2..=4)
            .map(|n| statements.insert(&combiner, ORDERS, n))
            .collect();
        for caller in &mut queued {
            assert!(poll(caller).is_none(), "queued behind the writer");
        }
        assert_eq!(statements.log(), [(ORDERS, vec![1])]);

        statements.finish(0, ok(1));
        assert!(matches!(poll(&mut first), Some(Ok(()))));
        // The first queued caller is now the writer; the others still wait.
        assert!(poll(&mut queued[1]).is_none());
        assert!(poll(&mut queued[0]).is_none());
        assert_eq!(
            statements.log(),
            [(ORDERS, vec![1]), (ORDERS, vec![2, 3, 4])]
        );

        statements.finish(1, vec![Ok(()), Err(Error::Io("refused".into())), Ok(())]);
        // The writer hands every row its outcome.
        assert!(matches!(poll(&mut queued[0]), Some(Ok(()))));
        assert!(matches!(poll(&mut queued[1]), Some(Err(Error::Io(e))) if e == "refused"));
        assert!(matches!(poll(&mut queued[2]), Some(Ok(()))));
        assert!(combiner.is_idle());
    }

    #[test]
    fn a_batch_takes_the_first_queued_rows_head_and_at_most_the_bound() {
        let combiner = Combiner::default();
        let statements = Rc::new(Statements::default());
        let mut first = statements.insert(&combiner, ORDERS, 0);
        assert!(poll(&mut first).is_none());
        let rows = MAX_COMBINED_ROWS as i64 + 2;
        let mut queued: Vec<_> = (1..=rows)
            .map(|n| {
                let head = if n == 2 { ORDERS } else { SAVES };
                statements.insert(&combiner, head, n)
            })
            .collect();
        for caller in &mut queued {
            assert!(poll(caller).is_none());
        }
        statements.finish(0, ok(1));
        assert!(matches!(poll(&mut first), Some(Ok(()))));
        assert!(
            poll(&mut queued[0]).is_none(),
            "the first queued row's caller writes"
        );
        let saves: Vec<i64> = (1..=rows).filter(|n| *n != 2).collect();
        let (bounded, rest) = saves.split_at(MAX_COMBINED_ROWS);
        assert_eq!(statements.log()[1], (SAVES, bounded.to_vec()));

        statements.finish(1, ok(MAX_COMBINED_ROWS));
        assert!(matches!(poll(&mut queued[0]), Some(Ok(()))));
        // Next in the queue: the order row (2), on its own head, then the saves left over.
        assert!(poll(&mut queued[1]).is_none());
        assert_eq!(statements.log()[2], (ORDERS, vec![2]));
        statements.finish(2, ok(1));
        assert!(matches!(poll(&mut queued[1]), Some(Ok(()))));
        let last = rows as usize - 1;
        assert!(poll(&mut queued[last]).is_none());
        assert_eq!(statements.log()[3], (SAVES, rest.to_vec()));
        statements.finish(3, ok(rest.len()));
        assert!(matches!(poll(&mut queued[last]), Some(Ok(()))));
        for caller in &mut queued[2..last] {
            assert!(matches!(poll(caller), Some(Ok(()))));
        }
        assert_eq!(statements.log().len(), 4);
        assert!(combiner.is_idle());
    }

    #[test]
    fn a_caller_dropped_while_queued_is_never_written_and_an_offered_one_hands_on() {
        let combiner = Combiner::default();
        let statements = Rc::new(Statements::default());
        let mut first = statements.insert(&combiner, ORDERS, 1);
        assert!(poll(&mut first).is_none());
        let mut offered = statements.insert(&combiner, ORDERS, 2);
        let mut gone = statements.insert(&combiner, ORDERS, 3);
        let mut last = statements.insert(&combiner, ORDERS, 4);
        for caller in [&mut offered, &mut gone, &mut last] {
            assert!(poll(caller).is_none());
        }
        drop(gone);
        statements.finish(0, ok(1));
        assert!(matches!(poll(&mut first), Some(Ok(()))));
        // Made the writer, then dropped before it began: the role goes to the next row.
        drop(offered);
        assert!(poll(&mut last).is_none());
        assert_eq!(statements.log(), [(ORDERS, vec![1]), (ORDERS, vec![4])]);
        statements.finish(1, ok(1));
        assert!(matches!(poll(&mut last), Some(Ok(()))));
        assert!(combiner.is_idle());
    }

    #[test]
    fn a_writer_dropped_mid_statement_leaves_its_rows_outcome_unknown_and_hands_on() {
        let combiner = Combiner::default();
        let statements = Rc::new(Statements::default());
        let mut first = statements.insert(&combiner, ORDERS, 1);
        assert!(poll(&mut first).is_none());
        let mut writer = statements.insert(&combiner, ORDERS, 2);
        let mut rider = statements.insert(&combiner, ORDERS, 3);
        assert!(poll(&mut writer).is_none());
        assert!(poll(&mut rider).is_none());
        statements.finish(0, ok(1));
        assert!(matches!(poll(&mut first), Some(Ok(()))));
        assert!(poll(&mut writer).is_none(), "writing rows 2 and 3");
        let mut later = statements.insert(&combiner, ORDERS, 4);
        assert!(poll(&mut later).is_none());

        drop(writer);
        let unknown = poll(&mut rider).expect("woken by the dropped writer");
        assert!(matches!(unknown, Err(Error::Io(ref e)) if e.contains("outcome is unknown")));
        assert!(poll(&mut later).is_none(), "made the writer");
        assert_eq!(
            statements.log(),
            [(ORDERS, vec![1]), (ORDERS, vec![2, 3]), (ORDERS, vec![4])]
        );
        statements.finish(2, ok(1));
        assert!(matches!(poll(&mut later), Some(Ok(()))));
        assert!(combiner.is_idle());
    }

    #[test]
    fn rows_left_without_an_outcome_by_the_runner_are_unknown() {
        let combiner = Combiner::default();
        let statements = Rc::new(Statements::default());
        let mut first = statements.insert(&combiner, ORDERS, 1);
        assert!(poll(&mut first).is_none());
        statements.finish(0, Vec::new());
        let unknown = poll(&mut first).expect("the statement returned");
        assert!(matches!(unknown, Err(Error::Io(ref e)) if e.contains("outcome is unknown")));
        assert!(combiner.is_idle());
    }

    #[test]
    fn a_combined_insert_has_one_placeholder_group_per_row() {
        assert_eq!(
            values_sql("INSERT INTO t (a, b)", 2, 1),
            "INSERT INTO t (a, b) VALUES (?, ?)"
        );
        assert_eq!(
            values_sql("INSERT INTO t (a, b)", 2, 3),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)"
        );
    }
}

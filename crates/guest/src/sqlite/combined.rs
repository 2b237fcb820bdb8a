//! Group commit (issue 10): [`PooledConnection::insert_combined`] turns the rows an
//! instance's requests insert at the same time into one multi-row statement, written by one
//! of those requests at a time.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;

use spin_sdk::sqlite::{Error, Value};

use super::PooledConnection;
use unit_future::Signal;

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
    /// the first row still queued when it is done with its own, woken for that (a
    /// `unit_future` signal), so
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
        let query = |sql: String, values| async move { self.query(&sql, values).await.map(drop) };
        self.slot
            .combiner
            .insert(head, row, |head, rows| {
                insert_rows(query, head, rows, row_refused)
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
    /// for its outcome or to be made the writer; the writer hands one batch, which holds its
    /// own row (the batch's head and its rows' values, in queue order), to `write`, which
    /// returns one outcome per row, in order (a row left without one is "outcome unknown"),
    /// and then hands the role on.
    async fn insert<W, F>(&self, head: &'static str, row: Vec<Value>, write: W) -> Result<(), Error>
    where
        W: Fn(&'static str, Vec<Vec<Value>>) -> F,
        F: Future<Output = Vec<Result<(), Error>>>,
    {
        let (signal, wakeup) = unit_future::pair();
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
        // The writer's row is at the front of the queue (it was alone in it, or it was
        // offered the role as the first queued row), so the batch holds it.
        let batch = self.take_batch();
        debug_assert!(batch.iter().any(|(row, _)| Rc::ptr_eq(row, &entry)));
        if let Some(batch_head) = batch.first().map(|(row, _)| row.head) {
            let rows = batch.iter().map(|(row, _)| row.row.take()).collect();
            let mut outcomes = write(batch_head, rows).await.into_iter();
            for (row, signal) in batch {
                let outcome = outcomes.next().unwrap_or_else(|| Err(unknown_outcome()));
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
    outcome.unwrap_or_else(|| Err(unknown_outcome()))
}

/// The error of a row whose statement may or may not have committed.
fn unknown_outcome() -> Error {
    Error::Io("the combined insert's outcome is unknown: its writer stopped".into())
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

/// Inserts `rows` (of one `head`) as one statement run by `query` (SQL, values): one outcome
/// per row, in order. When that statement fails with an error `row_refused` accepts (nothing
/// written), or the rows differ in width, the rows go one statement each; any other failure
/// is every row's, never a second attempt (the statement may have committed).
async fn insert_rows<Q, F>(
    query: Q,
    head: &'static str,
    rows: Vec<Vec<Value>>,
    row_refused: fn(&Error) -> bool,
) -> Vec<Result<(), Error>>
where
    Q: Fn(String, Vec<Value>) -> F,
    F: Future<Output = Result<(), Error>>,
{
    let width = rows.first().map_or(0, Vec::len);
    if rows.len() > 1 && rows.iter().all(|row| row.len() == width) {
        // Cloned: a refusal sends the rows again one by one.
        let values: Vec<Value> = rows.iter().flatten().cloned().collect();
        match query(values_sql(head, width, rows.len()), values).await {
            Ok(()) => return rows.iter().map(|_| Ok(())).collect(),
            Err(error) if !row_refused(&error) => {
                return rows.iter().map(|_| Err(error.clone())).collect();
            }
            Err(_) => {}
        }
    }
    let mut outcomes = Vec::with_capacity(rows.len());
    for values in rows {
        outcomes.push(query(values_sql(head, values.len(), 1), values).await);
    }
    outcomes
}

/// `head VALUES (?, …), …`: `rows` groups of `width` placeholders.
fn values_sql(head: &str, width: usize, rows: usize) -> String {
    let group = format!("({})", vec!["?"; width].join(", "));
    format!("{head} VALUES {}", vec![group; rows].join(", "))
}

#[cfg(test)]
mod tests;

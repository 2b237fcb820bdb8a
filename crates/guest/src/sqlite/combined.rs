//! Group commit (issue 10): [`PooledConnection::insert_combined`] turns the rows an
//! instance's requests insert at the same time into one multi-row statement, written by one
//! of those requests at a time.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use spin_sdk::sqlite::{Error, Value};

use super::{PooledConnection, Slot};
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
        let (signal, wakeup) = turns::wakeup();
        let entry = Rc::new(PendingRow {
            head,
            row: RefCell::new(row),
            outcome: RefCell::new(None),
            signal: RefCell::new(Some(signal)),
            lead: Cell::new(Lead::No),
        });
        self.slot.pending.borrow_mut().push_back(entry.clone());
        let queued = Queued {
            slot: &self.slot,
            entry: &entry,
        };
        if self.slot.writing.replace(true) {
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
            slot: &self.slot,
            entry: &entry,
        };
        while entry.outcome.borrow().is_none() {
            let batch = take_batch(&self.slot);
            if batch.is_empty() {
                break;
            }
            let outcomes = insert_rows(self, &batch, row_refused).await;
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
}

/// Rows most in one combined insert: bounds a statement's size and one writer's turn (19
/// values per order row, far below SQLite's 32,766 bound parameters; the bench's batches
/// average ~1.4 rows, see README → Benchmarks, session 12).
pub const MAX_COMBINED_ROWS: usize = 32;

/// A row waiting for its combined insert.
pub(super) struct PendingRow {
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

/// The next batch: the rows queued with the first queued row's `head` (at most
/// [`MAX_COMBINED_ROWS`]), each with its signal, taken out of the queue.
fn take_batch(slot: &Slot) -> Vec<(Rc<PendingRow>, Option<Signal>)> {
    let mut pending = slot.pending.borrow_mut();
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

/// Makes the caller of the first queued row the writer, or marks the slot without one.
fn hand_over(slot: &Slot) {
    let next = slot.pending.borrow().front().cloned();
    match next {
        Some(next) => {
            next.lead.set(Lead::Offered);
            if let Some(signal) = next.signal.borrow_mut().take() {
                signal.send();
            }
        }
        None => slot.writing.set(false),
    }
}

/// Takes `entry` out of `slot`'s queue, if it is still there.
fn unqueue(slot: &Slot, entry: &Rc<PendingRow>) {
    slot.pending
        .borrow_mut()
        .retain(|queued| !Rc::ptr_eq(queued, entry));
}

/// A waiting caller's row: taken out of the queue if the caller is dropped first; a caller
/// dropped after it was made the writer, before it began, hands that on.
struct Queued<'a> {
    slot: &'a Slot,
    entry: &'a Rc<PendingRow>,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        unqueue(self.slot, self.entry);
        if self.entry.lead.get() == Lead::Offered {
            hand_over(self.slot);
        }
    }
}

/// The writer's role, handed on when the writer is done or dropped (its own row, if still
/// queued, leaves the queue first).
struct Writing<'a> {
    slot: &'a Slot,
    entry: &'a Rc<PendingRow>,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        unqueue(self.slot, self.entry);
        hand_over(self.slot);
    }
}

/// Inserts `batch` (rows of one `head`) as one statement: one outcome per row, in order. When
/// that statement fails with an error `row_refused` accepts (nothing written), or the rows
/// differ in width, the rows go one statement each; any other failure is every row's.
async fn insert_rows(
    handle: &PooledConnection,
    batch: &[(Rc<PendingRow>, Option<Signal>)],
    row_refused: fn(&Error) -> bool,
) -> Vec<Result<(), Error>> {
    let head = batch[0].0.head;
    let width = batch[0].0.row.borrow().len();
    if batch.len() > 1 && batch.iter().all(|(row, _)| row.row.borrow().len() == width) {
        let values: Vec<Value> = batch
            .iter()
            .flat_map(|(row, _)| row.row.borrow().clone())
            .collect();
        match handle
            .query(&values_sql(head, width, batch.len()), values)
            .await
        {
            Ok(_) => return batch.iter().map(|_| Ok(())).collect(),
            Err(error) if !row_refused(&error) => {
                return batch.iter().map(|_| Err(error.clone())).collect();
            }
            Err(_) => {}
        }
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for (row, _) in batch {
        let values = row.row.take();
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
    use super::values_sql;

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

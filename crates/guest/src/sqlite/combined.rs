//! Group commit (issue 10): [`PooledConnection::insert_combined`] and the writer task that
//! turns the rows an instance's requests insert at the same time into one multi-row
//! statement.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use spin_sdk::sqlite::{Error, Value};

use super::{PooledConnection, Slot};
use crate::turns::{self, Signal};

impl PooledConnection {
    /// Inserts one row, `head` (`INSERT INTO name (column, …)`) followed by `VALUES` and one
    /// `?` per value of `row`, combined with the rows this instance's other requests insert
    /// with the same `head` meanwhile: group commit (issue 10). Under load the requests of an
    /// instance reach their saga writes together; each waits here while one writer task
    /// inserts all the rows queued so far as ONE multi-row statement (at most
    /// [`MAX_COMBINED_ROWS`]), i.e. one transaction and one commit, whose pages (B-tree roots,
    /// the right-most leaves of time-ordered keys) reach the log once instead of once per row.
    /// Returns when this row's statement has committed, so a caller's next step still follows
    /// its own durable write.
    ///
    /// Each row keeps its own outcome: SQLite runs an `INSTEAD OF` trigger once per row and a
    /// `RAISE(ABORT, …)` in any of them rolls the whole statement back, so when a combined
    /// statement fails its rows are inserted again one statement each, and every caller gets
    /// the error (or success) of its own row. Inside a transaction the row is inserted at once
    /// on the transaction's connection. A caller dropped while its row waits takes it out of
    /// the queue (never written); one dropped after the writer took it does not stop the write.
    ///
    /// # Errors
    /// `spin:sqlite`'s for this row's statement.
    pub async fn insert_combined(&self, head: &'static str, row: Vec<Value>) -> Result<(), Error> {
        self.wants_relaxed.set(true);
        if self.transaction.borrow().is_some() {
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
        });
        self.slot.pending.borrow_mut().push_back(entry.clone());
        if !self.slot.writing.replace(true) {
            spin_sdk::wasip3::spawn(write_pending(self.slot.clone()));
        }
        let queued = Queued {
            slot: &self.slot,
            entry: &entry,
        };
        wakeup.wait().await;
        drop(queued);
        let outcome = entry.outcome.borrow_mut().take();
        outcome.unwrap_or_else(|| {
            Err(Error::Io(
                "the combined insert's outcome is unknown: its writer stopped".into(),
            ))
        })
    }
}

/// Rows most in one combined insert (19 values per order row: far below SQLite's 32,766
/// bound parameters).
pub const MAX_COMBINED_ROWS: usize = 32;

/// A row waiting for its combined insert.
pub(super) struct PendingRow {
    head: &'static str,
    row: RefCell<Vec<Value>>,
    outcome: RefCell<Option<Result<(), Error>>>,
    signal: RefCell<Option<Signal>>,
}

/// Takes a waiting row out of the queue when its caller is dropped before the writer took it.
struct Queued<'a> {
    slot: &'a Slot,
    entry: &'a Rc<PendingRow>,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.slot
            .pending
            .borrow_mut()
            .retain(|queued| !Rc::ptr_eq(queued, self.entry));
    }
}

/// The writer task of `slot`: inserts the queued rows, a batch per `head` in arrival order,
/// until none is left, and wakes each row's caller with its outcome.
async fn write_pending(slot: Rc<Slot>) {
    let _writing = Writing(&slot);
    let handle = PooledConnection {
        slot: slot.clone(),
        transaction: RefCell::new(None),
        wants_relaxed: Cell::new(true),
    };
    loop {
        let batch = {
            let mut pending = slot.pending.borrow_mut();
            let Some(head) = pending.front().map(|row| row.head) else {
                break;
            };
            let mut batch = Vec::new();
            pending.retain(|row| {
                let take = row.head == head && batch.len() < MAX_COMBINED_ROWS;
                if take {
                    batch.push(row.clone());
                }
                !take
            });
            batch
        };
        let outcomes = insert_rows(&handle, &batch).await;
        for (row, outcome) in batch.iter().zip(outcomes) {
            *row.outcome.borrow_mut() = Some(outcome);
            if let Some(signal) = row.signal.borrow_mut().take() {
                signal.send();
            }
        }
    }
}

/// Marks `slot` without a writer when the writer task ends. Dropped with rows still queued,
/// the task itself was dropped (its instance task cancelled): their callers get an error
/// (those rows were never sent), and the rows of the batch in progress wake with an unknown
/// outcome as their signals drop ([`PooledConnection::insert_combined`]); the next insert
/// starts a new writer.
struct Writing<'a>(&'a Slot);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.writing.set(false);
        let stranded: Vec<Rc<PendingRow>> = self.0.pending.borrow_mut().drain(..).collect();
        for row in stranded {
            *row.outcome.borrow_mut() = Some(Err(Error::Io(
                "the instance stopped writing before this row was sent".into(),
            )));
            if let Some(signal) = row.signal.borrow_mut().take() {
                signal.send();
            }
        }
    }
}

/// Inserts `batch` (rows of one `head`) as one statement, or row by row when that fails (or
/// the rows differ in width): one outcome per row, in order.
async fn insert_rows(
    handle: &PooledConnection,
    batch: &[Rc<PendingRow>],
) -> Vec<Result<(), Error>> {
    let head = batch[0].head;
    let width = batch[0].row.borrow().len();
    if batch.len() > 1 && batch.iter().all(|row| row.row.borrow().len() == width) {
        let values: Vec<Value> = batch
            .iter()
            .flat_map(|row| row.row.borrow().clone())
            .collect();
        if handle
            .query(&values_sql(head, width, batch.len()), values)
            .await
            .is_ok()
        {
            return batch.iter().map(|_| Ok(())).collect();
        }
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for row in batch {
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

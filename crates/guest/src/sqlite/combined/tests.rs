//! Group commit's queue (`Combiner`) with a scripted statement runner, and `insert_rows`'
//! per-row outcomes with a scripted `query`; natively, polled by hand.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use futures::FutureExt;
use futures::channel::oneshot;
use spin_sdk::sqlite::{Error, Value};

use super::{Combiner, MAX_COMBINED_ROWS, insert_rows, values_sql};

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
            // The test dropped its `Statements` without finishing this one: no outcomes.
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
fn rows_left_without_an_outcome_by_the_runner_are_unknown_and_the_writer_stops_there() {
    let combiner = Combiner::default();
    let statements = Rc::new(Statements::default());
    let mut first = statements.insert(&combiner, ORDERS, 1);
    assert!(poll(&mut first).is_none());
    let mut next = statements.insert(&combiner, ORDERS, 2);
    assert!(poll(&mut next).is_none());
    statements.finish(0, Vec::new());
    let unknown = poll(&mut first).expect("the statement returned");
    assert!(matches!(unknown, Err(Error::Io(ref e)) if e.contains("outcome is unknown")));
    assert_eq!(statements.log().len(), 1, "the writer wrote no other batch");
    assert!(
        poll(&mut next).is_none(),
        "handed the role, writes its own row"
    );
    assert_eq!(statements.log()[1], (ORDERS, vec![2]));
    statements.finish(1, ok(1));
    assert!(matches!(poll(&mut next), Some(Ok(()))));
    assert!(combiner.is_idle());
}

/// `insert_rows` with a scripted `query`: the statements it ran (SQL, number of values) and
/// the outcome of each row.
fn insert_rows_with(
    answers: Vec<Result<(), Error>>,
    rows: &[&[i64]],
) -> (Outcomes, Vec<(String, usize)>) {
    let answers = RefCell::new(std::collections::VecDeque::from(answers));
    let ran = RefCell::new(Vec::new());
    let query = |sql: String, values: Vec<Value>| {
        ran.borrow_mut().push((sql, values.len()));
        let answer = answers.borrow_mut().pop_front().expect("a scripted answer");
        async move { answer }
    };
    let rows = rows
        .iter()
        .map(|row| row.iter().map(|n| Value::Integer(*n)).collect())
        .collect();
    let outcomes =
        futures::executor::block_on(insert_rows(query, "INSERT INTO t (a, b)", rows, refused));
    (outcomes, ran.into_inner())
}

/// What `row_refused` accepts in these tests.
fn refused(error: &Error) -> bool {
    matches!(error, Error::Io(text) if text.starts_with("refused"))
}

fn io(text: &str) -> Error {
    Error::Io(text.into())
}

#[test]
fn rows_of_one_width_go_out_as_one_statement_and_share_its_success() {
    let (outcomes, ran) = insert_rows_with(vec![Ok(())], &[&[1, 2], &[3, 4], &[5, 6]]);
    assert_eq!(
        ran,
        [(
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)".to_owned(),
            6
        )]
    );
    assert!(outcomes.iter().all(Result::is_ok) && outcomes.len() == 3);

    let (outcomes, ran) = insert_rows_with(vec![Err(io("refused: key taken"))], &[&[1, 2]]);
    assert_eq!(ran, [("INSERT INTO t (a, b) VALUES (?, ?)".to_owned(), 2)]);
    assert!(matches!(&outcomes[..], [Err(Error::Io(e))] if e == "refused: key taken"));
}

#[test]
fn a_refused_combined_statement_is_sent_again_row_by_row_each_with_its_own_outcome() {
    let (outcomes, ran) = insert_rows_with(
        vec![
            Err(io("refused: row 2")),
            Ok(()),
            Err(io("refused: row 2")),
            Ok(()),
        ],
        &[&[1, 1], &[2, 2], &[3, 3]],
    );
    let single = "INSERT INTO t (a, b) VALUES (?, ?)".to_owned();
    assert_eq!(
        ran,
        [
            (
                "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)".to_owned(),
                6
            ),
            (single.clone(), 2),
            (single.clone(), 2),
            (single, 2),
        ]
    );
    assert!(outcomes[0].is_ok() && outcomes[2].is_ok());
    assert!(matches!(&outcomes[1], Err(Error::Io(e)) if e == "refused: row 2"));
}

#[test]
fn any_other_failure_of_a_combined_statement_is_every_rows_and_nothing_is_sent_again() {
    let (outcomes, ran) =
        insert_rows_with(vec![Err(io("database is locked"))], &[&[1, 1], &[2, 2]]);
    assert_eq!(
        ran.len(),
        1,
        "its outcome may be unknown: never a second attempt"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Err(Error::Io(e)) if e == "database is locked"))
    );
}

#[test]
fn rows_of_different_widths_go_one_statement_each() {
    let (outcomes, ran) = insert_rows_with(vec![Ok(()), Ok(())], &[&[1], &[2, 2]]);
    assert_eq!(
        ran,
        [
            ("INSERT INTO t (a, b) VALUES (?)".to_owned(), 1),
            ("INSERT INTO t (a, b) VALUES (?, ?)".to_owned(), 2),
        ]
    );
    assert_eq!(outcomes.len(), 2);
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

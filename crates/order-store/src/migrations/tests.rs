//! The migrations' SQL on a real SQLite (rusqlite's bundled one): what migration 8 keeps of a
//! database written by the previous version, and how its triggers write.

use super::MIGRATIONS;
use crate::orders::ORDER_ID_BY_PAYMENT;
use crate::repository::{UNFINISHED_SAGA_STEPS, stale_sagas_count_query, stale_sagas_query};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};

/// Applies the migrations whose version is in `versions`, as `schema::ensure` does.
fn migrate(db: &Connection, versions: std::ops::RangeInclusive<i64>) {
    for (version, name, statements) in MIGRATIONS {
        if versions.contains(version) {
            for statement in *statements {
                db.execute_batch(statement)
                    .unwrap_or_else(|error| panic!("migration {version} ({name}): {error}"));
            }
        }
    }
}

/// A new order through `order_inserts`, as `Db::insert_order_claiming` writes it.
fn insert(db: &Connection, id: &str, lines: &str, history: &str, events: &str) {
    db.execute(
        "INSERT INTO order_inserts (key, request_hash, stale_before, id, user_id, status,
            currency, total_minor, payment_method_type, payment_token, shipping_address,
            saga_step, traceparent, created_at, updated_at, now, lines, history, events)
         VALUES (?1, 'hash', 0, ?2, 'u-1', 'pending', 'EUR', 3000, 'card', 'tok', NULL,
            'created', NULL, 10, 10, 10, ?3, ?4, ?5)",
        params![format!("key-{id}"), id, lines, history, events],
    )
    .expect("insert an order");
}

/// A change through `order_saves`, as `Db::save_order_change` writes it.
fn save(db: &Connection, id: &str, version: i64, status: &str, saga: &str, history: &str) {
    save_paid(db, id, version, status, saga, history, None);
}

/// As [`save`], recording the order's payment id.
fn save_paid(
    db: &Connection,
    id: &str,
    version: i64,
    status: &str,
    saga: &str,
    history: &str,
    payment_id: Option<&str>,
) {
    db.execute(
        "INSERT INTO order_saves (id, version, status, payment_id, reservation_id,
            payment_token, saga_step, updated_at, now, history, events, key_update,
            answer_status, answer_body)
         VALUES (?1, ?2, ?3, ?6, 'res-1', NULL, ?4, 20, 20, ?5, '[]', 'keep', NULL, NULL)",
        params![id, version, status, saga, history, payment_id],
    )
    .expect("save an order");
}

/// Each row of `sql`'s answer as its values joined by ` | ` (text as text, NULL as `null`).
fn rows(db: &Connection, sql: &str) -> Vec<String> {
    let mut statement = db.prepare(sql).expect("prepare");
    statement
        .query_map([], |row| {
            let columns = row.as_ref().column_count();
            let values: Vec<String> = (0..columns)
                .map(|i| match row.get_ref(i) {
                    Ok(ValueRef::Null) => "null".to_owned(),
                    Ok(ValueRef::Integer(n)) => n.to_string(),
                    Ok(ValueRef::Real(x)) => x.to_string(),
                    Ok(ValueRef::Text(text) | ValueRef::Blob(text)) => {
                        String::from_utf8_lossy(text).into_owned()
                    }
                    Err(error) => error.to_string(),
                })
                .collect();
            Ok(values.join(" | "))
        })
        .and_then(Iterator::collect)
        .expect("query")
}

/// The `CREATE` statement SQLite keeps for the table, view, index or trigger `name`.
fn schema_sql(db: &Connection, name: &str) -> String {
    db.query_row(
        "SELECT sql FROM sqlite_master WHERE name = ?",
        [name],
        |row| row.get(0),
    )
    .unwrap_or_else(|error| panic!("no `{name}` in the schema: {error}"))
}

/// How many entries index `name` holds, as `ANALYZE` counts them (`sqlite_stat1`'s `stat`
/// starts with the count; an empty index has no row there: 0).
fn index_entries(db: &Connection, name: &str) -> u64 {
    db.execute_batch("ANALYZE").expect("analyze");
    let stat: Option<String> = db
        .query_row(
            "SELECT stat FROM sqlite_stat1 WHERE idx = ?",
            [name],
            |row| row.get(0),
        )
        .ok();
    stat.and_then(|stat| stat.split(' ').next().map(str::to_owned))
        .map_or(0, |count| count.parse().expect("a count"))
}

const LINES: &str = r#"[[0,"p-mug","Mug",1000,2,2000],[1,"p-tee","Tee",1000,1,1000]]"#;
const CREATED: &str = r#"[[0,"pending",10,null]]"#;

#[test]
fn migration_8_keeps_every_line_and_history_entry_written_before_it() {
    let db = Connection::open_in_memory().unwrap();
    migrate(&db, 1..=7);
    insert(&db, "o-1", LINES, CREATED, "[]");
    insert(&db, "o-2", "[]", CREATED, "[]");
    save(
        &db,
        "o-1",
        0,
        "confirmed",
        "completed",
        r#"[[1,"confirmed",20,null],[2,"shipped",21,"by hand"]]"#,
    );
    let lines_before = rows(&db, "SELECT * FROM order_lines ORDER BY order_id, line_no");
    let history_before = rows(
        &db,
        "SELECT * FROM order_status_history ORDER BY order_id, seq",
    );
    assert_eq!(lines_before.len(), 2);
    assert_eq!(history_before.len(), 4);

    migrate(&db, 8..=8);

    // The same rows, now read through the views of the same names and columns.
    assert_eq!(
        rows(&db, "SELECT * FROM order_lines ORDER BY order_id, line_no"),
        lines_before
    );
    assert_eq!(
        rows(
            &db,
            "SELECT * FROM order_status_history ORDER BY order_id, seq"
        ),
        history_before
    );
    let (lines, history): (String, String) = db
        .query_row(
            "SELECT lines, history FROM orders WHERE id = 'o-1'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(lines, LINES);
    assert_eq!(
        history,
        r#"[[0,"pending",10,null],[1,"confirmed",20,null],[2,"shipped",21,"by hand"]]"#
    );
    let empty: String = db
        .query_row("SELECT lines FROM orders WHERE id = 'o-2'", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(empty, "[]");
    let tables = rows(
        &db,
        "SELECT type FROM sqlite_master WHERE name IN ('order_lines', 'order_status_history')",
    );
    assert_eq!(tables, ["view"; 2], "both are views now");
}

#[test]
fn after_migration_8_an_order_keeps_its_rows_in_its_own_row_and_saves_append_history() {
    let db = Connection::open_in_memory().unwrap();
    migrate(&db, 1..=8);
    // Counts the writes of `status` (each one rewrites its `orders_status_created` entry).
    db.execute_batch(
        "CREATE TABLE status_writes (n INTEGER);
         CREATE TRIGGER count_status_writes AFTER UPDATE OF status ON orders
         BEGIN INSERT INTO status_writes VALUES (1); END;",
    )
    .unwrap();
    insert(
        &db,
        "o-1",
        LINES,
        CREATED,
        r#"[["e-1","order.created","{}"]]"#,
    );
    // A save that keeps the status and adds no history (the charge request's).
    save(&db, "o-1", 0, "pending", "charge_requested", "[]");
    save(
        &db,
        "o-1",
        1,
        "confirmed",
        "completed",
        r#"[[1,"confirmed",20,null]]"#,
    );
    let (status, saga, version, history): (String, String, i64, String) = db
        .query_row(
            "SELECT status, saga_step, version, history FROM orders WHERE id = 'o-1'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (status.as_str(), saga.as_str(), version),
        ("confirmed", "completed", 2)
    );
    assert_eq!(
        history,
        r#"[[0,"pending",10,null],[1,"confirmed",20,null]]"#
    );
    assert_eq!(
        rows(&db, "SELECT COUNT(*) FROM status_writes"),
        ["1"],
        "only the save that changed the status wrote it"
    );
    assert_eq!(
        rows(
            &db,
            "SELECT seq, status FROM order_status_history ORDER BY seq"
        ),
        ["0 | pending", "1 | confirmed"]
    );
    assert_eq!(
        rows(
            &db,
            "SELECT COUNT(*) FROM order_lines WHERE order_id = 'o-1'"
        ),
        ["2"]
    );
    assert_eq!(rows(&db, "SELECT COUNT(*) FROM outbox"), ["1"]);
    // A stale version still changes nothing.
    let stale = db.execute(
        "INSERT INTO order_saves (id, version, status, history, events, key_update, updated_at,
            now) VALUES ('o-1', 0, 'cancelled', '[]', '[]', 'keep', 30, 30)",
        [],
    );
    assert!(
        stale
            .unwrap_err()
            .to_string()
            .contains("order-store: order changed")
    );
}

#[test]
fn stale_saga_reads_use_the_partial_index_of_open_sagas_only() {
    let db = Connection::open_in_memory().unwrap();
    migrate(&db, 1..=8);
    let index = schema_sql(&db, "orders_open_sagas");
    assert!(
        index.contains(&format!("saga_step IN ({UNFINISHED_SAGA_STEPS})")),
        "the index's condition is the reads' list: {index}"
    );
    for query in [stale_sagas_query(), stale_sagas_count_query()] {
        let plan = rows(
            &db,
            &format!("EXPLAIN QUERY PLAN {}", query.replace('?', "1")),
        );
        assert!(
            plan.iter().any(|step| step.contains("orders_open_sagas")),
            "{query}: {plan:?}"
        );
    }
    // A finished saga leaves the index; an open one is in it: of two orders, one entry.
    insert(&db, "o-1", LINES, CREATED, "[]");
    insert(&db, "o-2", LINES, CREATED, "[]");
    save(&db, "o-2", 0, "confirmed", "completed", "[]");
    assert_eq!(index_entries(&db, "orders_open_sagas"), 1);
}

#[test]
fn newest_first_lists_scan_the_ascending_created_indexes_backwards_without_sorting() {
    let db = Connection::open_in_memory().unwrap();
    migrate(&db, 1..=9);
    for index in [
        "orders_user_created",
        "orders_status_created",
        "orders_created",
    ] {
        let sql = schema_sql(&db, index);
        assert!(!sql.contains("DESC"), "{sql}");
    }
    // The shapes of order-api's `Db::list_orders` (filters, cursor, newest first).
    let cursor = "(created_at < 5 OR (created_at = 5 AND id < 'x'))";
    for filter in [
        String::new(),
        "WHERE user_id = 'u'".to_owned(),
        "WHERE status = 'confirmed'".to_owned(),
        "WHERE user_id = 'u' AND status = 'confirmed'".to_owned(),
        "WHERE created_at >= 1 AND created_at < 9".to_owned(),
        format!("WHERE {cursor}"),
        format!("WHERE user_id = 'u' AND {cursor}"),
        format!("WHERE status = 'pending' AND created_at >= 1 AND created_at < 9 AND {cursor}"),
    ] {
        let query =
            format!("SELECT id FROM orders {filter} ORDER BY created_at DESC, id DESC LIMIT 21");
        let plan = rows(&db, &format!("EXPLAIN QUERY PLAN {query}"));
        assert!(
            plan.iter().any(|step| step.contains("_created"))
                && !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "{query}: {plan:?}"
        );
    }
}

#[test]
fn payment_lookup_plans_on_the_partial_payment_index_which_holds_charged_orders_only() {
    let db = Connection::open_in_memory().unwrap();
    migrate(&db, 1..=10);
    let query = ORDER_ID_BY_PAYMENT.replace('?', "'pay-1'");
    let plan = rows(&db, &format!("EXPLAIN QUERY PLAN {query}"));
    assert!(
        plan.iter().any(|step| step.contains("orders_payment"))
            && !plan.iter().any(|step| step.contains("TEMP B-TREE")),
        "{plan:?}"
    );
    // Two orders, one charged twice over (the later one with the same payment id): the
    // index holds the charged ones only, and the lookup answers the first created.
    insert(&db, "o-1", LINES, CREATED, "[]");
    insert(&db, "o-2", LINES, CREATED, "[]");
    insert(&db, "o-3", LINES, CREATED, "[]");
    db.execute_batch(
        "UPDATE orders SET created_at = 30 WHERE id = 'o-2';
         UPDATE orders SET created_at = 20 WHERE id = 'o-3';",
    )
    .unwrap();
    for id in ["o-2", "o-3"] {
        save_paid(&db, id, 0, "confirmed", "completed", "[]", Some("pay-1"));
    }
    assert_eq!(rows(&db, &query), ["o-3"]);
    assert_eq!(
        rows(&db, &ORDER_ID_BY_PAYMENT.replace('?', "'pay-2'")),
        Vec::<String>::new()
    );
    assert_eq!(index_entries(&db, "orders_payment"), 2);
}

/// FNV-1a (64-bit) of a migration's statements, each followed by a NUL: a fingerprint that
/// stays the same across Rust releases (unlike `DefaultHasher`).
fn fingerprint(statements: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in statements
        .iter()
        .flat_map(|statement| statement.bytes().chain([0]))
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Applied migrations never change (a database records only their version, so an edited one
/// would leave databases it already ran on with the old schema): each one's SQL, byte for
/// byte, against its fingerprint when it was released. A new migration adds its line here.
#[test]
fn applied_migrations_keep_their_exact_sql() {
    const RELEASED: &[(i64, u64)] = &[
        (1, 0x5e29_108e_789c_43a1),
        (2, 0x3728_9235_d2af_cf93),
        (3, 0x66eb_b3c4_99c4_d34c),
        (4, 0x62c5_e6d6_6382_4b9e),
        (5, 0x5006_f9aa_d6d4_c245),
        (6, 0xad85_c793_63db_f33d),
        (7, 0x3a54_ae78_3821_c723),
        (8, 0x4527_064c_f6ce_3d83),
        (9, 0x120b_eb1a_1bbe_c88a),
        (10, 0x2d9d_ccfd_4a53_f505),
    ];
    let now: Vec<(i64, u64)> = MIGRATIONS
        .iter()
        .map(|(version, _, statements)| (*version, fingerprint(statements)))
        .collect();
    assert_eq!(
        now, RELEASED,
        "an applied migration changed: add a new one instead (fingerprints in hex: {now:#x?})"
    );
}

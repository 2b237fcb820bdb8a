//! The transactional outbox table: its one definition, shared by every writer and the relay,
//! for any table name an app chooses (`outbox_table`, default `outbox`).

/// The outbox DDL of the order service (table `outbox`), idempotent (`IF NOT EXISTS`), run
/// statement by statement; exactly [`outbox_schema`]`("outbox")` (a test holds it), kept as a
/// constant for order-api's migration list.
///
/// Writers (order-api, payment-listener) insert rows with `status = 'pending'`,
/// `attempts = 0` and `next_attempt_at = created_at`, in the same transaction as the state
/// change the event describes; `payload` is the full CloudEvent JSON. Times are INTEGER
/// Unix epoch milliseconds, so "due" is a plain comparison the `outbox_due` index serves.
pub const OUTBOX_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS outbox (
        event_id        TEXT PRIMARY KEY,
        aggregate_id    TEXT NOT NULL,
        event_type      TEXT NOT NULL,
        payload         TEXT NOT NULL,
        status          TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'delivered', 'dead')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        created_at      INTEGER NOT NULL,
        delivered_at    INTEGER
    )",
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at)",
];

/// The outbox DDL for table `table` (index `{table}_due`); `table` must pass
/// [`check_table_name`], since an identifier cannot be a bound SQL parameter.
pub fn outbox_schema(table: &str) -> Vec<String> {
    OUTBOX_SCHEMA
        .iter()
        .map(|statement| {
            statement
                .replace("EXISTS outbox (", &format!("EXISTS {table} ("))
                .replace(
                    "EXISTS outbox_due ON outbox ",
                    &format!("EXISTS {table}_due ON {table} "),
                )
        })
        .collect()
}

/// An outbox table name an app may configure: 1–48 characters of `a-z`, `0-9` and `_`,
/// starting with a letter, and not an SQL keyword the schema would trip on. It is spliced into
/// SQL text (identifiers cannot be parameters), so nothing else is accepted.
///
/// # Errors
/// A sentence saying what is wrong, for an `invalid-config` error.
pub fn check_table_name(table: &str) -> Result<(), String> {
    let well_formed = (1..=48).contains(&table.len())
        && table.starts_with(|c: char| c.is_ascii_lowercase())
        && table
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    const RESERVED: &[&str] = &["table", "index", "select", "where", "order", "group"];
    if !well_formed || RESERVED.contains(&table) {
        return Err(format!(
            "outbox_table must be 1–48 characters of a-z, 0-9 and _, starting with a letter; got {table:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_idempotent_ddl_for_the_outbox_table() {
        assert!(OUTBOX_SCHEMA[0].contains("CREATE TABLE IF NOT EXISTS outbox"));
        for statement in OUTBOX_SCHEMA {
            assert!(statement.contains("IF NOT EXISTS"), "{statement}");
        }
    }

    #[test]
    fn the_generated_schema_for_outbox_is_the_order_services_schema() {
        assert_eq!(outbox_schema("outbox"), OUTBOX_SCHEMA);
    }

    #[test]
    fn another_table_name_renames_the_table_and_its_index_only() {
        let schema = outbox_schema("returns_outbox");
        assert!(schema[0].starts_with("CREATE TABLE IF NOT EXISTS returns_outbox ("));
        assert_eq!(
            schema[1],
            "CREATE INDEX IF NOT EXISTS returns_outbox_due ON returns_outbox (status, next_attempt_at)"
        );
        assert!(schema[0].contains("next_attempt_at INTEGER NOT NULL"));
    }

    #[test]
    fn only_plain_identifiers_are_table_names() {
        for good in ["outbox", "returns_outbox", "o2"] {
            assert!(check_table_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Outbox",
            "1outbox",
            "outbox;drop table x",
            "out-box",
            "a b",
            "table",
            &"x".repeat(49),
        ] {
            assert!(check_table_name(bad).is_err(), "{bad}");
        }
    }
}

//! The transactional outbox table: its one definition, shared by every writer and the relay.

/// The outbox DDL, idempotent (`IF NOT EXISTS`), run statement by statement.
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

#[cfg(test)]
mod tests {
    use super::OUTBOX_SCHEMA;

    #[test]
    fn schema_is_idempotent_ddl_for_the_outbox_table() {
        assert!(OUTBOX_SCHEMA[0].contains("CREATE TABLE IF NOT EXISTS outbox"));
        for statement in OUTBOX_SCHEMA {
            assert!(statement.contains("IF NOT EXISTS"), "{statement}");
        }
    }
}

//! The order database schema, as versioned migrations. Every instance runs [`MIGRATIONS`] at
//! first use inside one `BEGIN IMMEDIATE` transaction that first reads `schema_migrations`, so
//! concurrent instances apply each version exactly once (the second waits on the write lock,
//! then sees the version recorded). Times are INTEGER Unix epoch milliseconds; money is INTEGER
//! minor units with a currency column.

/// `(version, name, statements)`, in order. Append new versions; never edit an applied one.
pub const MIGRATIONS: &[(i64, &str, &[&str])] = &[
    (
        1,
        "orders, lines, status history, idempotency keys",
        &[
            "CREATE TABLE orders (
            id                  TEXT PRIMARY KEY,
            user_id             TEXT NOT NULL,
            status              TEXT NOT NULL,
            currency            TEXT NOT NULL,
            total_minor         INTEGER NOT NULL,
            payment_id          TEXT,
            reservation_id      TEXT,
            payment_method_type TEXT NOT NULL,
            -- Kept only while the saga may need to repeat the charge; cleared when it completes.
            payment_token       TEXT,
            shipping_address    TEXT,
            saga_step           TEXT NOT NULL,
            saga_updated_at     INTEGER NOT NULL,
            traceparent         TEXT,
            created_at          INTEGER NOT NULL,
            updated_at          INTEGER NOT NULL
        )",
            "CREATE INDEX orders_user_created ON orders (user_id, created_at DESC, id DESC)",
            "CREATE INDEX orders_status_created ON orders (status, created_at DESC, id DESC)",
            "CREATE INDEX orders_created ON orders (created_at DESC, id DESC)",
            "CREATE INDEX orders_saga ON orders (saga_step, saga_updated_at)",
            "CREATE TABLE order_lines (
            order_id         TEXT NOT NULL REFERENCES orders (id),
            line_no          INTEGER NOT NULL,
            product_id       TEXT NOT NULL,
            name             TEXT NOT NULL,
            unit_price_minor INTEGER NOT NULL,
            quantity         INTEGER NOT NULL,
            line_total_minor INTEGER NOT NULL,
            PRIMARY KEY (order_id, line_no)
        )",
            "CREATE INDEX order_lines_product ON order_lines (product_id)",
            "CREATE TABLE order_status_history (
            order_id TEXT NOT NULL REFERENCES orders (id),
            seq      INTEGER NOT NULL,
            status   TEXT NOT NULL,
            at       INTEGER NOT NULL,
            reason   TEXT,
            PRIMARY KEY (order_id, seq)
        )",
            // One row per (caller, Idempotency-Key): the PRIMARY KEY is the race-free claim.
            "CREATE TABLE idempotency_keys (
            key             TEXT PRIMARY KEY,
            request_hash    TEXT NOT NULL,
            state           TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
            order_id        TEXT,
            response_status INTEGER,
            response_body   TEXT,
            created_at      INTEGER NOT NULL,
            updated_at      INTEGER NOT NULL
        )",
        ],
    ),
    // The outbox has one definition, shared with event-emitter and payment-listener; it is
    // idempotent (`IF NOT EXISTS`), so databases created before it moved here are unaffected.
    (2, "outbox (crates/events)", events::OUTBOX_SCHEMA),
    // Optimistic concurrency: every write of an order is `... WHERE id = ? AND version = ?`
    // and bumps it, so a writer that read an older version changes nothing (issue 16).
    (
        3,
        "orders.version",
        &["ALTER TABLE orders ADD COLUMN version INTEGER NOT NULL DEFAULT 0"],
    ),
    // The saga's last write finishes the creating request's key by order id, in the same
    // transaction (order-app's `KeyUpdate`): found by index, not by scanning every key.
    (
        4,
        "idempotency_keys.order_id index",
        &["CREATE INDEX idempotency_keys_order ON idempotency_keys (order_id)"],
    ),
    // Payment notifications: one row per distinct notification (the dedupe key of
    // exactly-once application; payment-listener's `inbox`). `IF NOT EXISTS`: databases where
    // payment-listener created it itself (before it moved here) are unaffected. `received_at`
    // is epoch ms; `status` is `applied`, `ignored`, `no_order` or `malformed` (older rows may
    // say `received`).
    (
        5,
        "payment_inbox",
        &["CREATE TABLE IF NOT EXISTS payment_inbox (
            event_id    TEXT PRIMARY KEY,
            event_type  TEXT,
            payload     TEXT NOT NULL,
            status      TEXT NOT NULL,
            error       TEXT,
            received_at INTEGER NOT NULL
        )"],
    ),
];

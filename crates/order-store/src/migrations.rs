//! The order database schema, as versioned migrations. Every instance runs [`MIGRATIONS`] at
//! first use inside one `BEGIN IMMEDIATE` transaction that first reads `schema_migrations`, so
//! concurrent instances apply each version exactly once (the second waits on the write lock,
//! then sees the version recorded). Times are INTEGER Unix epoch milliseconds; money is INTEGER
//! minor units with a currency column.

/// The pending outbox events (`NEW.events`, `[[event_id, event_type, payload]…]`) of order
/// `NEW.id`, due at `NEW.now`: the part all four write triggers
/// (migrations 6 and 8) share.
macro_rules! events_from_json {
    () => {
        "
                INSERT INTO outbox (event_id, aggregate_id, event_type, payload, status,
                    attempts, next_attempt_at, created_at)
                SELECT json_extract(value, '$[0]'), NEW.id, json_extract(value, '$[1]'),
                    json_extract(value, '$[2]'), 'pending', 0, NEW.now, NEW.now
                FROM json_each(NEW.events);"
    };
}

/// The part both write triggers of migration 6 share: the new history rows (`NEW.history`) and
/// their pending outbox events (`NEW.events`) of order `NEW.id`, due at `NEW.now`. A macro so
/// that it is a literal `concat!` can splice.
macro_rules! history_and_events_from_json {
    () => {
        concat!(
            "
                INSERT INTO order_status_history (order_id, seq, status, at, reason)
                SELECT NEW.id, json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                    json_extract(value, '$[2]'), json_extract(value, '$[3]')
                FROM json_each(NEW.history);",
            events_from_json!()
        )
    };
}

/// The key claim both order-insert triggers (migrations 6 and 8) start with: the key is
/// claimed exactly as `Db::claim` does (insert, or take over an abandoned claim: in flight, no
/// order, untouched since `NEW.stale_before`), and the statement ends with
/// `RAISE(ABORT, …)` unless the key is now order `NEW.id`'s.
macro_rules! key_claim {
    () => {
        "
                INSERT INTO idempotency_keys (key, request_hash, state, order_id,
                    response_status, response_body, created_at, updated_at)
                VALUES (NEW.key, NEW.request_hash, 'in_flight', NEW.id, NULL, NULL, NEW.now,
                    NEW.now)
                ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash,
                    state = excluded.state, order_id = excluded.order_id,
                    response_status = NULL, response_body = NULL,
                    updated_at = excluded.updated_at
                WHERE idempotency_keys.state = 'in_flight'
                    AND idempotency_keys.order_id IS NULL
                    AND idempotency_keys.updated_at < NEW.stale_before;
                SELECT RAISE(ABORT, 'order-store: idempotency key taken')
                WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys
                                  WHERE key = NEW.key AND order_id = NEW.id);"
    };
}

/// The optimistic-concurrency check both order-save triggers (migrations 6 and 8) start with:
/// `RAISE(ABORT, …)` unless order `NEW.id` is still at `NEW.version`.
macro_rules! version_check {
    () => {
        "
                SELECT RAISE(ABORT, 'order-store: order changed')
                WHERE NOT EXISTS (SELECT 1 FROM orders
                                  WHERE id = NEW.id AND version = NEW.version);"
    };
}

/// The end of both order-save triggers (migrations 6 and 8): `NEW.key_update` `finish` makes
/// the order's in-flight key `done` with the answer, `release` deletes it, `keep` does neither.
macro_rules! key_finish_or_release {
    () => {
        "
                UPDATE idempotency_keys SET state = 'done', response_status = NEW.answer_status,
                    response_body = NEW.answer_body, updated_at = NEW.now
                WHERE NEW.key_update = 'finish' AND order_id = NEW.id AND state = 'in_flight';
                DELETE FROM idempotency_keys
                WHERE NEW.key_update = 'release' AND order_id = NEW.id AND state = 'in_flight';"
    };
}

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
    // Every order write as ONE statement: an `INSERT` into a view whose `INSTEAD OF` trigger
    // writes the order, its lines, history, outbox events and idempotency key (issue 10). One
    // statement is one host call and its own transaction, so the write lock is held only while
    // SQLite runs it, never across guest↔host round trips (a multi-statement transaction held
    // it across five, and concurrent writers slept in SQLite's busy handler, steps of up to
    // 100 ms). `spin:sqlite` runs one statement per `execute`, so a trigger is the one way to
    // write several tables atomically in one call, on Spin's SQLite and on libSQL alike. A
    // refused write ends with `RAISE(ABORT, …)`, which rolls the whole statement back; the
    // messages are [`crate::orders`]' `KEY_TAKEN` and `ORDER_CHANGED`. Rows arrive as JSON
    // arrays: `lines` `[[line_no, product_id, name, unit_price_minor, quantity,
    // line_total_minor]…]`, `history` `[[seq, status, at, reason]…]`, `events` `[[event_id,
    // event_type, payload]…]` (pending outbox rows due at `now`).
    (
        6,
        "order_inserts and order_saves: one-statement order writes",
        &[
            "CREATE VIEW order_inserts (key, request_hash, stale_before, id, user_id, status,
                currency, total_minor, payment_method_type, payment_token, shipping_address,
                saga_step, traceparent, created_at, updated_at, now, lines, history, events)
             AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0",
            // The key is claimed exactly as `Db::claim` does (insert, or take over an
            // abandoned claim: in flight, no order, untouched since `stale_before`); the order
            // is written only if the key is now this order's.
            concat!(
                "CREATE TRIGGER order_inserts_write INSTEAD OF INSERT ON order_inserts BEGIN",
                key_claim!(),
                "
                INSERT INTO orders (id, user_id, status, currency, total_minor, payment_id,
                    reservation_id, payment_method_type, payment_token, shipping_address,
                    saga_step, saga_updated_at, traceparent, created_at, updated_at)
                VALUES (NEW.id, NEW.user_id, NEW.status, NEW.currency, NEW.total_minor, NULL,
                    NULL, NEW.payment_method_type, NEW.payment_token, NEW.shipping_address,
                    NEW.saga_step, NEW.now, NEW.traceparent, NEW.created_at, NEW.updated_at);
                INSERT INTO order_lines (order_id, line_no, product_id, name, unit_price_minor,
                    quantity, line_total_minor)
                SELECT NEW.id, json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                    json_extract(value, '$[2]'), json_extract(value, '$[3]'),
                    json_extract(value, '$[4]'), json_extract(value, '$[5]')
                FROM json_each(NEW.lines);",
                history_and_events_from_json!(),
                "
            END"
            ),
            // `saga_step` NULL keeps the saga where it is (and its `saga_updated_at`); any
            // other value moves it there at `now`. `key_update` is `keep`, `finish` (the
            // order's in-flight key becomes `done` with the answer) or `release` (deleted).
            "CREATE VIEW order_saves (id, version, status, payment_id, reservation_id,
                payment_token, saga_step, updated_at, now, history, events, key_update,
                answer_status, answer_body)
             AS SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                NULL, NULL WHERE 0",
            concat!(
                "CREATE TRIGGER order_saves_write INSTEAD OF INSERT ON order_saves BEGIN",
                version_check!(),
                "
                UPDATE orders SET status = NEW.status, payment_id = NEW.payment_id,
                    reservation_id = NEW.reservation_id, payment_token = NEW.payment_token,
                    saga_step = coalesce(NEW.saga_step, saga_step),
                    saga_updated_at = CASE WHEN NEW.saga_step IS NULL THEN saga_updated_at
                                           ELSE NEW.now END,
                    updated_at = NEW.updated_at, version = version + 1
                WHERE id = NEW.id;",
                history_and_events_from_json!(),
                key_finish_or_release!(),
                "
            END"
            ),
        ],
    ),
    // `order_lines_product` served no query (the statistics read an order's lines by its
    // primary key: `EXPLAIN QUERY PLAN`), yet every order insert wrote one entry per line into
    // it — ~2.4 of the ~24 log pages an insert writes (issue 10, README → Benchmarks, session
    // 14). `IF EXISTS`: a database where it was dropped by hand is unaffected.
    (
        7,
        "drop order_lines_product (unused)",
        &["DROP INDEX IF EXISTS order_lines_product"],
    ),
    // Fewer B-trees per saga write (issue 10, README → Benchmarks, session 15). Every B-tree a
    // statement changes costs at least one 4 KiB log page per commit; an order's insert,
    // saves and relay mark wrote ~39 pages (natively, `order-host up`'s schema), ~16 of them
    // for the lines and history tables (each with its primary-key index) and for index
    // entries rewritten with the same or a soon-dead key. So:
    //
    // - an order's **lines** and **status history** move into the order row, as the JSON
    //   arrays the write views already take and `ORDER_COLUMNS` already read (`lines`
    //   `[[line_no, product_id, name, unit_price_minor, quantity, line_total_minor]…]`,
    //   `history` `[[seq, status, at, reason]…]`), backfilled from the tables; the tables
    //   become read-only views of the same names and columns, so every reader (statistics,
    //   audits, instances of the previous version during a rolling upgrade) keeps working.
    //   Lines never change; a save appends its history entries (`NEW.history` holds only the
    //   new ones, as before, so a previous-version instance's saves stay correct);
    // - `orders_saga` becomes `orders_open_sagas`, a partial index of unfinished sagas only
    //   (the stale-saga reads name the same steps: `repository::UNFINISHED_SAGA_STEPS`, so
    //   SQLite can use it): a finished saga leaves it instead of moving inside it, and it
    //   stays as small as the backlog;
    // - a save rewrites `status` only when it changed, so `orders_status_created` is not
    //   rewritten by the saves that keep the status (the charge request's).
    //
    // Natively (the same measurement): ~39 → ~29 log pages per order. The two write triggers
    // are dropped and created again (their bodies named the tables). The old tables' keys
    // (`(order_id, line_no)`, `(order_id, seq)`) are gone with them: lines are written once,
    // with the order, and a save appends history only at the version it read (the trigger's
    // version check), so no entry can be written twice. The appended array is in write order;
    // its readers (`hydrate`, the views' users) order by `seq` anyway. A very large order
    // (~100 lines) overflows its row's page, and then each save costs a few more pages than
    // with the tables; the order's total still drops. `IF EXISTS`: a database where an index
    // or trigger was dropped by hand is unaffected.
    (
        8,
        "lines and history in the order row; orders_open_sagas",
        &[
            "DROP TRIGGER IF EXISTS order_inserts_write",
            "DROP TRIGGER IF EXISTS order_saves_write",
            "ALTER TABLE orders ADD COLUMN lines TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE orders ADD COLUMN history TEXT NOT NULL DEFAULT '[]'",
            "UPDATE orders SET
                lines = (SELECT json_group_array(json_array(line_no, product_id, name,
                            unit_price_minor, quantity, line_total_minor))
                         FROM (SELECT * FROM order_lines
                               WHERE order_lines.order_id = orders.id ORDER BY line_no)),
                history = (SELECT json_group_array(json_array(seq, status, at, reason))
                           FROM (SELECT * FROM order_status_history
                                 WHERE order_status_history.order_id = orders.id
                                 ORDER BY seq))",
            "DROP TABLE order_lines",
            "DROP TABLE order_status_history",
            "CREATE VIEW order_lines (order_id, line_no, product_id, name, unit_price_minor,
                quantity, line_total_minor)
             AS SELECT o.id, json_extract(l.value, '$[0]'), json_extract(l.value, '$[1]'),
                json_extract(l.value, '$[2]'), json_extract(l.value, '$[3]'),
                json_extract(l.value, '$[4]'), json_extract(l.value, '$[5]')
             FROM orders o, json_each(o.lines) l",
            "CREATE VIEW order_status_history (order_id, seq, status, at, reason)
             AS SELECT o.id, json_extract(h.value, '$[0]'), json_extract(h.value, '$[1]'),
                json_extract(h.value, '$[2]'), json_extract(h.value, '$[3]')
             FROM orders o, json_each(o.history) h",
            "DROP INDEX IF EXISTS orders_saga",
            "CREATE INDEX orders_open_sagas ON orders (saga_step, saga_updated_at)
             WHERE saga_step IN ('created', 'stock_reserved', 'charge_requested', 'compensating')",
            // As migration 6's, with the lines and history written into the row.
            concat!(
                "CREATE TRIGGER order_inserts_write INSTEAD OF INSERT ON order_inserts BEGIN",
                key_claim!(),
                "
                INSERT INTO orders (id, user_id, status, currency, total_minor, payment_id,
                    reservation_id, payment_method_type, payment_token, shipping_address,
                    saga_step, saga_updated_at, traceparent, created_at, updated_at, lines,
                    history)
                VALUES (NEW.id, NEW.user_id, NEW.status, NEW.currency, NEW.total_minor, NULL,
                    NULL, NEW.payment_method_type, NEW.payment_token, NEW.shipping_address,
                    NEW.saga_step, NEW.now, NEW.traceparent, NEW.created_at, NEW.updated_at,
                    json(coalesce(NEW.lines, '[]')), json(coalesce(NEW.history, '[]')));",
                events_from_json!(),
                "
            END"
            ),
            // As migration 6's; the status only when it changed, the history appended.
            concat!(
                "CREATE TRIGGER order_saves_write INSTEAD OF INSERT ON order_saves BEGIN",
                version_check!(),
                "
                UPDATE orders SET status = NEW.status
                WHERE id = NEW.id AND status IS NOT NEW.status;
                UPDATE orders SET payment_id = NEW.payment_id,
                    reservation_id = NEW.reservation_id, payment_token = NEW.payment_token,
                    saga_step = coalesce(NEW.saga_step, saga_step),
                    saga_updated_at = CASE WHEN NEW.saga_step IS NULL THEN saga_updated_at
                                           ELSE NEW.now END,
                    history = CASE WHEN coalesce(json_array_length(NEW.history), 0) = 0
                                   THEN history
                                   ELSE (SELECT json_group_array(json(value))
                                         FROM (SELECT value FROM json_each(orders.history)
                                               UNION ALL
                                               SELECT value FROM json_each(NEW.history)))
                              END,
                    updated_at = NEW.updated_at, version = version + 1
                WHERE id = NEW.id;",
                events_from_json!(),
                key_finish_or_release!(),
                "
            END"
            ),
        ],
    ),
    // The three `…_created` indexes in ascending order (issue 10, session 15). Declared
    // `created_at DESC, id DESC`, every new order went in at the left edge of its range, where
    // SQLite splits a full leaf in two, so an insert touched ~1.7 pages of `orders_created`
    // alone and the indexes stayed half full; ascending, a new order is appended at the right
    // edge (SQLite's quick balance fills pages), and a confirmation's status move lands at the
    // end of its range. The lists' `ORDER BY created_at DESC, id DESC` scans them backwards
    // with the same plans (`migrations::tests`). Natively 29.0 → 26.8 log pages per order.
    // Rebuilding them reads every order once, inside the migration's transaction (writers
    // wait meanwhile: seconds for a million orders). `IF EXISTS` as in migration 8.
    (
        9,
        "orders_*_created ascending",
        &[
            "DROP INDEX IF EXISTS orders_user_created",
            "CREATE INDEX orders_user_created ON orders (user_id, created_at, id)",
            "DROP INDEX IF EXISTS orders_status_created",
            "CREATE INDEX orders_status_created ON orders (status, created_at, id)",
            "DROP INDEX IF EXISTS orders_created",
            "CREATE INDEX orders_created ON orders (created_at, id)",
        ],
    ),
    // The payment listener's lookup of a notification's order by its payment id
    // (`Db::order_id_by_payment`: `WHERE payment_id = ? ORDER BY created_at LIMIT 1`) scanned
    // every order, lines and history included, once per notification that names no order.
    // Partial: an order has no payment id until its charge is recorded, so the insert and the
    // charge request's save never touch it; the save that records the charge adds the one
    // entry (SQLite rewrites a partial index's entry on every later save that sets the column,
    // even to the same value: ~1 log page). `payment_id = ?` implies `IS NOT NULL`, so the
    // lookup plans on it (`migrations::tests`).
    (
        10,
        "orders_payment",
        &[
            "CREATE INDEX IF NOT EXISTS orders_payment ON orders (payment_id, created_at)
            WHERE payment_id IS NOT NULL",
        ],
    ),
];

#[cfg(test)]
mod tests;

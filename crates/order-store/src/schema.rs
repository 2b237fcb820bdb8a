//! The one owner of the order database's schema: [`ensure`] applies
//! [`MIGRATIONS`](crate::migrations::MIGRATIONS) — orders, lines, history, idempotency keys,
//! outbox, payment inbox — at an instance's first use, whichever component runs first
//! (order-api or payment-listener). A plain read of `schema_migrations` comes first: when every
//! version is there (every instance but the very first ones), no write transaction is taken,
//! so new instances on many nodes do not queue for the write lock. Otherwise one
//! `BEGIN IMMEDIATE` transaction reads `schema_migrations` again and applies what is missing,
//! so concurrent instances apply each version exactly once (the second waits for the write
//! lock, then sees it applied). Before it, the database is switched
//! to write-ahead logging (`guest::sqlite`: Spin leaves SQLite's rollback journal).

use crate::migrations::MIGRATIONS;
use crate::{Db, StoreError};
use guest::clock;
use spin_sdk::sqlite::Value;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once this instance saw every migration applied; a reused instance skips the check.
/// A fresh instance checks again (cheap: one read under the lock when nothing is missing).
static MIGRATED: AtomicBool = AtomicBool::new(false);

/// Whether this instance has seen every migration applied (then [`ensure`] does nothing).
pub fn applied_here() -> bool {
    MIGRATED.load(Ordering::Acquire)
}

/// How often [`ensure`] tries its migration transaction when the database is busy, and the
/// wait before each further try, in milliseconds.
const MIGRATION_RETRY_MS: [u64; 2] = [50, 200];

/// Applies missing migrations unless this instance already did. Nodes starting together on
/// one libSQL server (or instances on one file) race for the migration transaction: a try
/// that finds the database busy (locked past the busy timeout, or a libSQL server that
/// interrupted it) is repeated after [`MIGRATION_RETRY_MS`] on a newly opened connection (a
/// libSQL connection whose request failed may keep failing), and usually finds the work done
/// by the winner. `Err(StoreError::Busy)` once the tries are used up (the API answers 503).
pub async fn ensure(db: &Db) -> Result<(), StoreError> {
    let mut outcome = ensure_once(db).await;
    for wait in MIGRATION_RETRY_MS {
        if !matches!(outcome, Err(StoreError::Busy(_))) {
            break;
        }
        spin_sdk::time::sleep(std::time::Duration::from_millis(wait)).await;
        outcome = match Db::open_default().await {
            Ok(fresh) => ensure_once(&fresh).await,
            Err(error) => Err(error),
        };
    }
    outcome
}

/// One try of [`ensure`].
async fn ensure_once(db: &Db) -> Result<(), StoreError> {
    if MIGRATED.load(Ordering::Acquire) {
        return Ok(());
    }
    if let Ok(rows) = db
        .query("SELECT version FROM schema_migrations", vec![])
        .await
    {
        let applied: Vec<i64> = rows.iter().filter_map(|row| row.get::<i64>(0)).collect();
        if MIGRATIONS
            .iter()
            .all(|(version, _, _)| applied.contains(version))
        {
            MIGRATED.store(true, Ordering::Release);
            return Ok(());
        }
    }
    // The journal mode is the file's, and cannot change inside a transaction.
    db.use_wal().await;
    db.transaction(async |db| {
        db.exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version    INTEGER PRIMARY KEY,
                name       TEXT NOT NULL,
                applied_at INTEGER NOT NULL
            )",
            vec![],
        )
        .await?;
        let applied: Vec<i64> = db
            .query("SELECT version FROM schema_migrations", vec![])
            .await?
            .iter()
            .filter_map(|row| row.get::<i64>(0))
            .collect();
        for (version, name, statements) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            for statement in *statements {
                db.exec(statement, vec![])
                    .await
                    .map_err(|error| migration_error(*version, name, error))?;
            }
            db.exec(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                vec![
                    Value::Integer(*version),
                    Value::Text((*name).to_owned()),
                    Value::Integer(clock::now_ms()),
                ],
            )
            .await?;
        }
        Ok(())
    })
    .await?;
    MIGRATED.store(true, Ordering::Release);
    Ok(())
}

/// A failed migration statement, naming the migration; a busy database stays
/// [`StoreError::Busy`] (transient: retried, then a 503), anything else is
/// [`StoreError::Failed`].
fn migration_error(version: i64, name: &str, error: StoreError) -> StoreError {
    match error {
        StoreError::Busy(text) => StoreError::Busy(format!("migration {version} ({name}): {text}")),
        other => StoreError::Failed(format!("migration {version} ({name}): {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_migration_statement_stays_busy_other_failures_fail() {
        let busy = migration_error(3, "orders.version", StoreError::Busy("interrupted".into()));
        assert!(
            matches!(&busy, StoreError::Busy(text) if text.contains("migration 3 (orders.version)")),
            "{busy:?}"
        );
        let failed = migration_error(
            3,
            "orders.version",
            StoreError::Failed("no such table".into()),
        );
        assert!(matches!(failed, StoreError::Failed(_)), "{failed:?}");
    }
}

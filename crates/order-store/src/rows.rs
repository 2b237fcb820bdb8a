//! Reading typed values out of SQLite rows.

use crate::StoreError;
use spin_sdk::sqlite::RowResult;

/// A NOT NULL TEXT column.
pub fn text(row: &RowResult, index: usize) -> Result<String, StoreError> {
    row.get::<&str>(index)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Failed(format!("column {index} is not text")))
}

/// A nullable TEXT column.
pub fn opt_text(row: &RowResult, index: usize) -> Option<String> {
    row.get::<&str>(index).map(str::to_owned)
}

/// A NOT NULL INTEGER column.
pub fn int(row: &RowResult, index: usize) -> Result<i64, StoreError> {
    row.get::<i64>(index)
        .ok_or_else(|| StoreError::Failed(format!("column {index} is not an integer")))
}

//! W3C Trace Context (https://www.w3.org/TR/trace-context/): the one `traceparent` parser is
//! [`events::trace`]'s (re-exported here), and new ids come from WASI random.

pub use events::trace::{Traceparent, is_valid_traceparent};

/// `n` random bytes as hex, never all zero (an all-zero trace or span id is invalid).
pub fn non_zero_id(n: u64) -> String {
    let hex = crate::ids::random_hex(n);
    if hex.bytes().all(|b| b == b'0') || hex.len() as u64 != n * 2 {
        // Astronomically unlikely; a fixed non-zero tail keeps the id valid.
        format!("{:0>width$}", "1", width = (n * 2) as usize)
    } else {
        hex
    }
}

//! Structured log lines on stderr.

use serde::Serialize;

/// Writes `line` as one JSON object on one stderr line, in a single write. (`eprintln!` of a
/// `serde_json::Value` writes every JSON token separately — about 40 guest→host calls and
/// `write` system calls per line — and lines of concurrent instances can then interleave.)
/// A line that does not serialize, or a failed write, is dropped: there is nowhere to report
/// it, and the work goes on.
pub fn emit<T: Serialize + ?Sized>(line: &T) {
    let Ok(mut bytes) = serde_json::to_vec(line) else {
        return;
    };
    bytes.push(b'\n');
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), &bytes);
}

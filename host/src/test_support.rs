//! Helpers of the host's unit tests.

use std::path::{Path, PathBuf};

/// The repository root, found at run time from the directory cargo runs the tests in
/// (`CARGO_MANIFEST_DIR` is set then): clones sharing one target directory reuse each
/// other's test binaries, so a compile-time path would name whichever clone built them.
pub(crate) fn repository_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .parent()
        .map(Path::to_path_buf)
        .expect("host/ has a parent")
}

//! Shared by the engine library's integration tests: a store under a temp dir.
#![allow(dead_code)]

use berth_engine::StorePaths;

/// `<tmp>/root` and `<tmp>/run` as the store's root and runroot; the temp dir goes when
/// the returned guard is dropped.
pub fn temp_store() -> (tempfile::TempDir, StorePaths) {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = StorePaths::new(
        Some(dir.path().join("root")),
        Some(dir.path().join("run")),
        None,
        None,
    );
    (dir, paths)
}

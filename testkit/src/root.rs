//! The root check. berth's tests assert real behaviour on real kernel objects (cgroups,
//! namespaces, mounts, BPF), which needs root: a test that needs it says so with a clear
//! failure instead of failing on the first EPERM, unless the caller opted out with
//! `BERTH_TEST_UNPRIVILEGED_SKIP=1`.

/// The variable that turns "needs root" failures into skips.
pub const SKIP_ENV: &str = "BERTH_TEST_UNPRIVILEGED_SKIP";

/// True when the test may run (root). Not root: false (skip) when
/// `BERTH_TEST_UNPRIVILEGED_SKIP=1`, otherwise a panic saying so.
///
/// Use as `if !require_root() { return; }` at the start of the test.
pub fn require_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var(SKIP_ENV).as_deref() == Ok("1") {
        eprintln!("skipping: needs root ({SKIP_ENV}=1)");
        return false;
    }
    panic!("this test needs root; run it as root, or set {SKIP_ENV}=1 to skip it");
}

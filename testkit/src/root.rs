//! The root check. berth's tests assert real behaviour on real kernel objects (cgroups,
//! namespaces, mounts, BPF), which needs root: a test that needs it says so with a clear
//! failure instead of failing on the first EPERM, unless the caller opted out with
//! `BERTH_TEST_UNPRIVILEGED_SKIP=1`.

/// The variable that turns "needs root" failures into skips.
pub const SKIP_ENV: &str = "BERTH_TEST_UNPRIVILEGED_SKIP";

/// True when the test may run (root). Not root: false (skip) when
/// `BERTH_TEST_UNPRIVILEGED_SKIP=1`, otherwise a panic saying so.
///
/// Use as `if !require_root() { return; }` at the start of the test; the failure names
/// the test's line, not this one.
#[track_caller]
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

#[cfg(test)]
mod tests {
    use nix::sys::wait::WaitStatus;
    use nix::unistd::{Uid, setresuid};

    use super::*;
    use crate::child::{fork_status, in_child};

    /// Drops this (forked) process to nobody and sets or clears the skip variable.
    fn as_nobody(skip: bool) -> Result<(), String> {
        let nobody = Uid::from_raw(65534);
        setresuid(nobody, nobody, nobody).map_err(|e| format!("setresuid nobody: {e}"))?;
        // SAFETY: a forked child runs only this thread, so nothing reads the
        // environment while it changes.
        unsafe {
            if skip {
                std::env::set_var(SKIP_ENV, "1");
            } else {
                std::env::remove_var(SKIP_ENV);
            }
        }
        Ok(())
    }

    #[test]
    fn not_root_fails_unless_the_skip_is_asked_for() {
        // Dropping to nobody needs root.
        if !require_root() {
            return;
        }
        let skipped = in_child(|| {
            as_nobody(true)?;
            if require_root() {
                return Err("nobody was let run".into());
            }
            Ok(())
        });
        assert_eq!(skipped, Ok(()));
        let (status, report) = fork_status(|_| {
            as_nobody(false)?;
            require_root();
            Ok(())
        });
        // 2: the child panicked (the clear failure), not 0 (ran) or 1 (setup failed).
        assert!(
            matches!(status, WaitStatus::Exited(_, 2)),
            "{status:?}: {report}"
        );
    }
}

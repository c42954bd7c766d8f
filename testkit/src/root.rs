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
    let skip = std::env::var(SKIP_ENV).ok();
    match decide(nix::unistd::geteuid().is_root(), skip.as_deref()) {
        Ok(run) => {
            if !run {
                eprintln!("skipping: needs root ({SKIP_ENV}=1)");
            }
            run
        }
        Err(message) => panic!("{message}"),
    }
}

/// The rule of [`require_root`]: run as root; not root, skip when the variable is `1`,
/// otherwise the failure's message.
fn decide(is_root: bool, skip: Option<&str>) -> Result<bool, String> {
    if is_root {
        return Ok(true);
    }
    if skip == Some("1") {
        return Ok(false);
    }
    Err(format!(
        "this test needs root; run it as root, or set {SKIP_ENV}=1 to skip it"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The rule itself, not a forked child dropped to nobody: a child forked from the
    // multithreaded test harness that then panics can deadlock on a lock another test
    // thread held at the fork (it hung CI once).
    #[test]
    fn not_root_fails_unless_the_skip_is_asked_for() {
        assert_eq!(decide(true, None), Ok(true));
        assert_eq!(decide(true, Some("1")), Ok(true));
        assert_eq!(decide(false, Some("1")), Ok(false));
        for skip in [None, Some("0"), Some(""), Some("yes")] {
            let err = decide(false, skip).expect_err("not root, no skip");
            assert!(
                err.contains("needs root") && err.contains(SKIP_ENV),
                "{err}"
            );
        }
    }
}

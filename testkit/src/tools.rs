//! Programs the tests drive (promtool, nft, podman, runc...): a test that needs one fails
//! saying which package to install, instead of with a bare "No such file or directory".

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where `tool` is in PATH, if it is there (a file named so in one of its directories).
pub fn find_in_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// True when `tool` can be started from PATH (`tool --version`; its exit status does not
/// matter, only that it exists and runs).
pub fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Panics with how to install `tool` (Debian's `package`) when it is not
/// [`installed`].
#[track_caller]
pub fn require_tool(tool: &str, package: &str) {
    assert!(
        installed(tool),
        "`{tool}` not found: install it (apt-get install -y {package}; \
         scripts/install-deps.sh installs every test dependency)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_present_tool_is_found_and_a_missing_one_named() {
        assert!(installed("sh"));
        let sh = find_in_path("sh").expect("sh in PATH");
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        assert_eq!(find_in_path("berth-no-such-tool"), None);
        assert!(!installed("berth-no-such-tool"));
        let missing = std::panic::catch_unwind(|| require_tool("berth-no-such-tool", "x"));
        assert!(missing.is_err());
    }
}

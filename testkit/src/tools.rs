//! Programs the tests drive (promtool, nft, podman, runc...): a test that needs one fails
//! saying which package to install, instead of with a bare "No such file or directory".

use std::process::{Command, Stdio};

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
        assert!(!installed("berth-no-such-tool"));
        let missing = std::panic::catch_unwind(|| require_tool("berth-no-such-tool", "x"));
        assert!(missing.is_err());
    }
}

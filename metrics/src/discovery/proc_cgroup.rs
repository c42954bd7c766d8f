//! A process's cgroup v2 path, from `/proc/<pid>/cgroup` (the `0::<path>` line).

use std::fs;
use std::path::{Path, PathBuf};

/// The cgroup v2 path of `pid` relative to the hierarchy root (e.g. `/berth/abc`).
pub fn v2_path(pid: u32) -> std::io::Result<PathBuf> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup"))?;
    parse(&text).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("/proc/{pid}/cgroup has no cgroup v2 (0::) line"),
        )
    })
}

fn parse(text: &str) -> Option<PathBuf> {
    text.lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(PathBuf::from)
}

/// `relative` (absolute in cgroup terms, `/a/b`) below the hierarchy mounted at `root`.
pub fn join(root: &Path, relative: &Path) -> PathBuf {
    root.join(relative.strip_prefix("/").unwrap_or(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_unified_line_among_v1_lines() {
        let text = "4:memory:/berth/x\n1:cpu:/\n0::/berth/x\n";
        assert_eq!(parse(text), Some(PathBuf::from("/berth/x")));
        assert_eq!(parse("4:memory:/\n"), None);
        assert_eq!(
            join(Path::new("/sys/fs/cgroup/unified"), Path::new("/berth/x")),
            PathBuf::from("/sys/fs/cgroup/unified/berth/x")
        );
    }
}

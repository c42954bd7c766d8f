//! Whether the cgroup's OOM killer killed a process of the container: the `oom_kill`
//! counter of its memory cgroup, read by the monitor after the init exited and before
//! the runtime's `delete` removes the cgroup. v1 (and hybrid hosts) keep it in
//! `memory.oom_control`, v2 in `memory.events`; both are checked, whichever exists.

use std::path::{Path, PathBuf};

use berth_cgroups::{CGROUP_ROOT, HYBRID_UNIFIED_ROOT};

/// The memory cgroup files that may hold the container's `oom_kill` counter.
fn candidates(cgroup: &str) -> Vec<PathBuf> {
    let rel = cgroup.trim_start_matches('/');
    vec![
        Path::new(CGROUP_ROOT)
            .join("memory")
            .join(rel)
            .join("memory.oom_control"),
        Path::new(HYBRID_UNIFIED_ROOT)
            .join(rel)
            .join("memory.events"),
        Path::new(CGROUP_ROOT).join(rel).join("memory.events"),
    ]
}

/// The `oom_kill N` value of a flat-keyed cgroup file.
fn oom_kill_count(text: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.strip_prefix("oom_kill "))
        .filter_map(|v| v.trim().parse().ok())
        .next()
        .unwrap_or(0)
}

/// True when a process in `cgroup` (the spec's cgroupsPath, e.g. `/berth/<id>`) was
/// OOM-killed.
pub fn oom_killed(cgroup: &str) -> bool {
    candidates(cgroup)
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|t| oom_kill_count(&t) > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_is_read_from_either_format() {
        assert_eq!(
            oom_kill_count("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
            2
        );
        assert_eq!(
            oom_kill_count("low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n"),
            1
        );
        assert_eq!(oom_kill_count("oom 0\n"), 0);
        assert!(!oom_killed("/berth/no-such-container"));
    }
}

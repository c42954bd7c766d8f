//! Facts about host processes read from /proc: enough to tell a live init from a
//! recycled pid or a zombie.

use std::fs;

/// Field 3 (state) and field 22 (starttime) of `/proc/<pid>/stat`.
fn stat_fields(pid: i32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: split after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // `rest` starts at field 3, so field 22 is the 20th from here (index 19).
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// Start time of `pid` in clock ticks since boot, if it exists.
pub fn start_time(pid: i32) -> Option<u64> {
    stat_fields(pid).map(|(_, t)| t)
}

/// Whether `pid` has exited but not been reaped (or is dead).
pub fn is_zombie(pid: i32) -> bool {
    matches!(stat_fields(pid), Some(('Z' | 'X', _)) | None)
}

/// Whether `pid` is alive (not a zombie) and started at `start_time`: the same process,
/// not a recycled pid. One read of /proc.
pub fn is_live_process(pid: i32, start_time: u64) -> bool {
    matches!(stat_fields(pid), Some((state, t)) if t == start_time && !matches!(state, 'Z' | 'X'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_a_start_time_and_is_alive() {
        let me = std::process::id() as i32;
        assert!(start_time(me).is_some_and(|t| t > 0));
        assert!(!is_zombie(me));
    }

    #[test]
    fn missing_pid_has_no_start_time() {
        // pid_max is at most 2^22, so this pid cannot exist.
        assert_eq!(start_time(i32::MAX), None);
    }
}

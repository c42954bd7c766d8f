//! Names unique to this test process and call, so tests running in parallel (and
//! several test binaries at once) never share a container, cgroup or state directory.

use std::sync::atomic::{AtomicU32, Ordering};

/// `<prefix>-<pid>-<n>`, `n` counting the calls in this process.
pub fn unique_id(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `test-<tag>-<pid>-<n>`: a test object's name, recognisable as a test's leftover.
pub fn unique_name(tag: &str) -> String {
    unique_id(&format!("test-{tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_per_call_and_carry_the_pid() {
        let a = unique_name("x");
        let b = unique_name("x");
        assert_ne!(a, b);
        assert!(
            a.starts_with(&format!("test-x-{}-", std::process::id())),
            "{a}"
        );
    }
}

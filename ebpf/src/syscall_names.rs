//! x86_64 syscall names by number, generated at build time from the kernel's
//! `asm/unistd_64.h` (see `build.rs`), never typed by hand.

include!(concat!(env!("OUT_DIR"), "/syscall_names.rs"));

/// The name of syscall `nr`, if the table knows it.
pub fn syscall_name(nr: u32) -> Option<&'static str> {
    SYSCALL_NAMES
        .get(usize::try_from(nr).ok()?)
        .copied()
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::syscall_name;

    #[test]
    fn known_x86_64_numbers_have_their_names() {
        assert_eq!(syscall_name(0), Some("read"));
        assert_eq!(syscall_name(39), Some("getpid"));
        assert_eq!(syscall_name(110), Some("getppid"));
        assert_eq!(syscall_name(59), Some("execve"));
        assert_eq!(syscall_name(100_000), None);
    }
}

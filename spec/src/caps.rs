//! Capability names, one table for the engine and the tests: every capability the
//! kernel knows in number order, and docker's default set for a container.

/// Every capability, at its kernel number (`ALL[0]` is `CAP_CHOWN`, as in
/// <linux/capability.h>): what `--cap-add ALL` stands for, and the bit of each name in
/// a /proc/<pid>/status `Cap*` mask.
pub const ALL: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's (and podman's) default capabilities for a container, in docker's order.
pub const DOCKER_DEFAULT: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The kernel number of capability `name` (`CAP_` form, upper case), None if unknown.
pub fn number(name: &str) -> Option<u32> {
    ALL.iter().position(|c| *c == name).map(|i| i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::Capability;

    #[test]
    fn every_name_is_an_oci_capability_and_the_kernel_knows_as_many() {
        for name in ALL {
            serde_json::from_value::<Capability>(serde_json::json!(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        // The running kernel's last number (5.9 and later: CAP_CHECKPOINT_RESTORE).
        if let Ok(last) = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap") {
            let last: usize = last.trim().parse().expect("cap_last_cap");
            if last >= 40 {
                assert_eq!(ALL.len(), 41);
            }
        }
        assert!(DOCKER_DEFAULT.iter().all(|c| number(c).is_some()));
        assert_eq!(DOCKER_DEFAULT.len(), 14);
    }
}

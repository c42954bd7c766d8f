//! The container's capability set: docker's default set with `--cap-add` / `--cap-drop`
//! applied (names with or without `CAP_`, any case, `ALL` for every capability).

use std::collections::BTreeSet;

use crate::error::{EngineError, Result};

/// Docker's (and podman's) default capabilities for a container.
pub const DEFAULT_CAPS: &[&str] = &[
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

/// Every capability the kernel knows (what `ALL` stands for), in number order.
const CAP_NAMES: &[&str] = &[
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

fn all_caps() -> Vec<String> {
    CAP_NAMES.iter().map(|s| s.to_string()).collect()
}

/// `chown`, `cap_chown`, `CAP_CHOWN` -> `CAP_CHOWN`, checked against the known names.
fn normalize(name: &str) -> Result<String> {
    let upper = name.trim().to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if all_caps().contains(&full) {
        Ok(full)
    } else {
        Err(EngineError::InvalidArgument(format!(
            "unknown capability {name:?}"
        )))
    }
}

/// The default set with `add` and `drop` applied, docker's order: drop first (`ALL`
/// empties the set), then add (`ALL` grants every capability).
pub fn effective_set(add: &[String], drop: &[String]) -> Result<BTreeSet<String>> {
    let mut set: BTreeSet<String> = DEFAULT_CAPS.iter().map(|s| s.to_string()).collect();
    for d in drop {
        if d.eq_ignore_ascii_case("all") {
            set.clear();
        } else {
            set.remove(&normalize(d)?);
        }
    }
    for a in add {
        if a.eq_ignore_ascii_case("all") {
            set.extend(all_caps());
        } else {
            set.insert(normalize(a)?);
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_drop_as_docker_applies_them() {
        let s = effective_set(
            &["sys_admin".into()],
            &["CAP_NET_RAW".into(), "chown".into()],
        )
        .expect("set");
        assert!(
            s.contains("CAP_SYS_ADMIN") && !s.contains("CAP_NET_RAW") && !s.contains("CAP_CHOWN")
        );
        assert_eq!(s.len(), DEFAULT_CAPS.len() - 1);
        let only = effective_set(&["KILL".into()], &["all".into()]).expect("set");
        assert_eq!(
            only.into_iter().collect::<Vec<_>>(),
            vec!["CAP_KILL".to_string()]
        );
        assert!(effective_set(&["CAP_FLY".into()], &[]).is_err());
    }
}

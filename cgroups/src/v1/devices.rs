//! v1 devices: the allow/deny lists, written in the order of the spec's rules.

use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::dev_number;
use crate::CgroupError;
use crate::cgroupfs;

pub(super) fn apply(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    for rule in rules {
        let (file, line) = rule_line(rule);
        cgroupfs::write(dir, file, line)?;
    }
    Ok(())
}

/// The file and line for one rule: `a` alone for "every device" (which resets the list),
/// else `c 1:3 rwm` with `*` for wildcards.
pub(crate) fn rule_line(rule: &LinuxDeviceCgroup) -> (&'static str, String) {
    let file = if rule.allow() {
        "devices.allow"
    } else {
        "devices.deny"
    };
    let typ = rule.typ().unwrap_or(LinuxDeviceType::A);
    let access = rule
        .access()
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "rwm".to_owned());
    let wildcard = |v: Option<i64>| v.is_none_or(|n| n < 0);
    if typ == LinuxDeviceType::A
        && wildcard(rule.major())
        && wildcard(rule.minor())
        && has_rwm(&access)
    {
        return (file, "a".to_owned());
    }
    (
        file,
        format!(
            "{} {}:{} {access}",
            typ.as_str(),
            dev_number(rule.major()),
            dev_number(rule.minor())
        ),
    )
}

fn has_rwm(access: &str) -> bool {
    access.contains('r') && access.contains('w') && access.contains('m')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> LinuxDeviceCgroup {
        match serde_json::from_str(json) {
            Ok(r) => r,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    #[test]
    fn deny_all_resets_the_list() {
        assert_eq!(
            rule_line(&rule(r#"{"allow":false,"access":"rwm"}"#)),
            ("devices.deny", "a".to_owned())
        );
    }

    #[test]
    fn single_device_with_wildcard_minor() {
        let r = rule(r#"{"allow":true,"type":"c","major":136,"access":"rw"}"#);
        assert_eq!(rule_line(&r), ("devices.allow", "c 136:* rw".to_owned()));
    }
}

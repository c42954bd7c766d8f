//! `linux.resources.devices` reduced to the state the kernel's v1 devices controller holds
//! after the rules are written in order, as runc's devices "emulator" computes it: a
//! default (allow or deny every device) plus exceptions. v1 writes the lines that turn the
//! cgroup's current list into that state; v2 compiles the same state into its eBPF filter,
//! so both hierarchies enforce one meaning.
//!
//! The meaning of each rule is runc's (1.1), checked on a v1 host:
//! - the list starts as deny-all: rules are exceptions to add to it;
//! - a rule of type `a` (or without a type) resets everything to allow-all or deny-all,
//!   whatever its numbers and access;
//! - `access` must be non-empty; of its letters only `r`, `w` and `m` count, others and
//!   repeats are ignored (`"rwa"` means `rw`);
//! - an exception whose access ends up empty is refused (runc's v1 check fails on it);
//! - taking part of a wildcard exception away (deny `c 1:3` after allow `c 1:*`) is refused:
//!   v1 silently ignores it, so the container would keep the access.
//!
//! Exceptions keep the order in which the rules first named them (runc sorts them), so a
//! v1 `devices.list` lists the spec's entries in the spec's order, as the runtime spec
//! asks and runtime-tools' `linux_cgroups_devices` checks; what is allowed is runc's.

use std::fmt;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::CgroupError;

/// A device type an exception can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DevType {
    /// `b`
    Block,
    /// `c`
    Char,
}

impl DevType {
    fn letter(self) -> char {
        match self {
            Self::Block => 'b',
            Self::Char => 'c',
        }
    }
}

/// The devices an exception covers; `None` is the `*` wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceMatch {
    /// Major number, or any.
    pub major: Option<u32>,
    /// Minor number, or any.
    pub minor: Option<u32>,
    /// Block or character device.
    pub typ: DevType,
}

/// A set of the accesses `r` (read), `w` (write) and `m` (mknod).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access(u8);

impl Access {
    /// Opening for reading.
    pub const READ: Self = Self(1);
    /// Opening for writing.
    pub const WRITE: Self = Self(2);
    /// Creating the node.
    pub const MKNOD: Self = Self(4);

    /// The letters `r`, `w`, `m` in `s`; any other character is ignored, as runc does.
    pub fn parse(s: &str) -> Self {
        Self(s.chars().fold(0, |set, c| match c {
            'r' => set | Self::READ.0,
            'w' => set | Self::WRITE.0,
            'm' => set | Self::MKNOD.0,
            _ => set,
        }))
    }

    /// Whether no access is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every access of `other` is in this set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    fn minus(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    fn overlaps(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, letter) in [(Self::READ, 'r'), (Self::WRITE, 'w'), (Self::MKNOD, 'm')] {
            if self.contains(bit) {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// The state a device rule list leaves a v1 devices cgroup in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceRules {
    /// Whether a device no exception matches is allowed (v1 "black-list" mode).
    pub default_allow: bool,
    /// The exceptions to the default: allowed accesses when `default_allow` is false,
    /// denied ones when it is true.
    pub exceptions: Exceptions,
}

/// Exceptions in the order they were first named; equal when they hold the same set.
#[derive(Debug, Clone, Default, Eq)]
pub struct Exceptions(Vec<(DeviceMatch, Access)>);

impl Exceptions {
    /// The access recorded for exactly `dev` (empty when none).
    pub fn get(&self, dev: &DeviceMatch) -> Access {
        self.0
            .iter()
            .find(|(d, _)| d == dev)
            .map(|(_, a)| *a)
            .unwrap_or_default()
    }

    /// Each exception, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&DeviceMatch, Access)> {
        self.0.iter().map(|(d, a)| (d, *a))
    }

    /// Adds `access` to the exception for `dev`, a new one going last. An entry may be
    /// left with no access (runc's emulator keeps it too; `from_spec` refuses it).
    fn add(&mut self, dev: DeviceMatch, access: Access) {
        match self.0.iter_mut().find(|(d, _)| *d == dev) {
            Some((_, a)) => *a = a.union(access),
            None => self.0.push((dev, access)),
        }
    }

    /// Takes `access` from the exception for `dev`, dropping it when nothing is left.
    fn take(&mut self, dev: DeviceMatch, access: Access) {
        self.0.retain_mut(|(d, a)| {
            if *d == dev {
                *a = a.minus(access);
                !a.is_empty()
            } else {
                true
            }
        });
    }
}

impl PartialEq for Exceptions {
    fn eq(&self, other: &Self) -> bool {
        let sorted = |e: &Self| {
            let mut v = e.0.clone();
            v.sort_by_key(|(d, _)| *d);
            v
        };
        sorted(self) == sorted(other)
    }
}

/// One line for `devices.allow` (`allow`) or `devices.deny`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLine {
    /// Which file the line goes to.
    pub allow: bool,
    /// `a *:* rwm` or `c 1:3 rw`.
    pub line: String,
}

impl DeviceRules {
    /// The state after `rules`, starting from deny-all. Refuses a rule without access, a
    /// type other than `a`, `b`, `c`, numbers outside 0..2^32 (or -1 for any), taking
    /// part of a wildcard exception away, and an allowed exception left with no access.
    pub fn from_spec(rules: &[LinuxDeviceCgroup]) -> Result<Self, CgroupError> {
        let mut state = Self::default();
        for (i, r) in rules.iter().enumerate() {
            let access = r.access().as_deref().unwrap_or_default();
            if access.is_empty() {
                return Err(CgroupError::invalid(
                    format!("devices[{i}].access"),
                    "is empty (give some of r, w, m)",
                ));
            }
            let typ = match r.typ().unwrap_or(LinuxDeviceType::A) {
                LinuxDeviceType::A => {
                    state = Self {
                        default_allow: r.allow(),
                        exceptions: Exceptions::default(),
                    };
                    continue;
                }
                LinuxDeviceType::B => DevType::Block,
                LinuxDeviceType::C => DevType::Char,
                other => {
                    return Err(CgroupError::invalid(
                        format!("devices[{i}].type"),
                        format!("{:?}: only a, b and c can be filtered", other.as_str()),
                    ));
                }
            };
            let number = |field: &str, v: Option<i64>| match v {
                None | Some(-1) => Ok(None),
                Some(n) => u32::try_from(n).map(Some).map_err(|_| {
                    CgroupError::invalid(
                        format!("devices[{i}].{field}"),
                        format!("{n} is out of range"),
                    )
                }),
            };
            let dev = DeviceMatch {
                major: number("major", r.major())?,
                minor: number("minor", r.minor())?,
                typ,
            };
            let access = Access::parse(access);
            if r.allow() == state.default_allow {
                state.remove(i, dev, access)?;
            } else {
                state.exceptions.add(dev, access);
            }
        }
        if !state.default_allow
            && let Some((dev, _)) = state.exceptions.iter().find(|(_, a)| a.is_empty())
        {
            return Err(CgroupError::invalid(
                "devices",
                format!(
                    "the rules allowing {} grant none of r, w, m",
                    device_name(dev)
                ),
            ));
        }
        Ok(state)
    }

    /// Takes `access` away from the exception for exactly `dev` (v1 ignores the request
    /// for any other exception, so one that is part of a wildcard exception is refused).
    fn remove(&mut self, i: usize, dev: DeviceMatch, access: Access) -> Result<(), CgroupError> {
        let wider = [
            DeviceMatch { major: None, ..dev },
            DeviceMatch { minor: None, ..dev },
            DeviceMatch {
                major: None,
                minor: None,
                ..dev
            },
        ];
        for w in wider.into_iter().filter(|w| *w != dev) {
            let a = self.exceptions.get(&w);
            if a.overlaps(access) {
                return Err(CgroupError::invalid(
                    format!("devices[{i}]"),
                    format!(
                        "{} {}: cannot take part of the wider rule {} away \
                         (the v1 devices cgroup would ignore it)",
                        if self.default_allow {
                            "allowing"
                        } else {
                            "denying"
                        },
                        exception_line(&dev, access),
                        exception_line(&w, a)
                    ),
                ));
            }
        }
        self.exceptions.take(dev, access);
        Ok(())
    }

    /// The state a v1 `devices.list` shows: `a *:* rwm` means allow-all (its deny
    /// exceptions cannot be read back), else each line is an allowed exception.
    pub fn from_v1_list(list: &str) -> Result<Self, String> {
        let mut state = Self::default();
        for line in list.lines().filter(|l| !l.trim().is_empty()) {
            let bad = || format!("unexpected line {line:?}");
            let mut fields = line.split([' ', ':']);
            let (Some(typ), Some(major), Some(minor), Some(access), None) = (
                fields.next(),
                fields.next(),
                fields.next(),
                fields.next(),
                fields.next(),
            ) else {
                return Err(bad());
            };
            let typ = match typ {
                "a" => {
                    state = Self {
                        default_allow: true,
                        exceptions: Exceptions::default(),
                    };
                    continue;
                }
                "b" => DevType::Block,
                "c" => DevType::Char,
                _ => return Err(bad()),
            };
            let number = |s: &str| match s {
                "*" => Ok(None),
                n => n.parse().map(Some).map_err(|_| bad()),
            };
            let dev = DeviceMatch {
                major: number(major)?,
                minor: number(minor)?,
                typ,
            };
            let a = Access::parse(access);
            if a.is_empty() || a.to_string() != access {
                return Err(bad());
            }
            state.exceptions.add(dev, a);
        }
        Ok(state)
    }

    /// The fewest lines that turn a v1 cgroup in state `current` into this state, as runc
    /// computes them: a reset first only when the default changes or `current` is
    /// allow-all (whose deny exceptions are unknown), then exceptions to drop, then ones
    /// to add, each in its list's order.
    pub fn v1_lines_from(&self, current: &Self) -> Vec<RuleLine> {
        let mut lines = Vec::new();
        let empty = Exceptions::default();
        let old = if current.default_allow || current.default_allow != self.default_allow {
            lines.push(RuleLine {
                allow: self.default_allow,
                line: "a *:* rwm".to_owned(),
            });
            &empty
        } else {
            &current.exceptions
        };
        for (dev, had) in old.iter() {
            let dropped = had.minus(self.exceptions.get(dev));
            if !dropped.is_empty() {
                lines.push(RuleLine {
                    allow: self.default_allow,
                    line: exception_line(dev, dropped),
                });
            }
        }
        for (dev, has) in self.exceptions.iter() {
            let gained = has.minus(old.get(dev));
            if !gained.is_empty() {
                lines.push(RuleLine {
                    allow: !self.default_allow,
                    line: exception_line(dev, gained),
                });
            }
        }
        lines
    }
}

/// `c 1:3 rw`, `c 136:* rwm`: an exception as v1 files spell it.
fn exception_line(dev: &DeviceMatch, access: Access) -> String {
    format!("{} {access}", device_name(dev))
}

/// `c 1:3`, `c 136:*`.
fn device_name(dev: &DeviceMatch) -> String {
    let n = |v: Option<u32>| v.map_or_else(|| "*".to_owned(), |n| n.to_string());
    format!("{} {}:{}", dev.typ.letter(), n(dev.major), n(dev.minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(json: &str) -> Result<DeviceRules, CgroupError> {
        match serde_json::from_str::<Vec<LinuxDeviceCgroup>>(json) {
            Ok(r) => DeviceRules::from_spec(&r),
            Err(e) => panic!("{json}: {e}"),
        }
    }

    fn lines(s: &DeviceRules, current: &DeviceRules) -> Vec<String> {
        s.v1_lines_from(current)
            .into_iter()
            .map(|l| format!("{} {}", if l.allow { "allow" } else { "deny" }, l.line))
            .collect()
    }

    const ALLOW_ALL: &str = "a *:* rwm\n";

    // The access values below are the ones runc 1.1.5 left on this project's v1 test host
    // for the same rules (runc writes them sorted; berth in the rules' order).

    #[test]
    fn unknown_access_letters_and_repeats_are_ignored() -> Result<(), CgroupError> {
        let s = state(
            r#"[{"allow":false,"access":"rwm"},
                {"allow":true,"type":"c","major":1,"minor":11,"access":"rwa"},
                {"allow":true,"type":"c","major":1,"minor":3,"access":"wwr"}]"#,
        )?;
        let current =
            DeviceRules::from_v1_list(ALLOW_ALL).map_err(|e| CgroupError::invalid("", e))?;
        assert_eq!(
            lines(&s, &current),
            ["deny a *:* rwm", "allow c 1:11 rw", "allow c 1:3 rw"]
        );
        Ok(())
    }

    #[test]
    fn exceptions_are_written_in_the_order_the_rules_name_them() -> Result<(), CgroupError> {
        // runtime-tools' linux_cgroups_devices: devices.list must list them as given.
        let s = state(
            r#"[{"allow":false,"access":"rwm"},
                {"allow":true,"type":"c","major":10,"minor":229,"access":"rwm"},
                {"allow":true,"type":"b","major":8,"minor":20,"access":"rw"},
                {"allow":true,"type":"b","major":10,"minor":200,"access":"r"},
                {"allow":true,"type":"c","major":10,"minor":229,"access":"r"}]"#,
        )?;
        assert_eq!(
            lines(&s, &DeviceRules::default()),
            ["allow c 10:229 rwm", "allow b 8:20 rw", "allow b 10:200 r"]
        );
        Ok(())
    }

    #[test]
    fn empty_or_missing_access_is_refused() {
        for json in [r#"[{"allow":false,"access":""}]"#, r#"[{"allow":false}]"#] {
            let err = state(json).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("devices[0].access"), "{json}: {err}");
        }
    }

    #[test]
    fn allow_granting_nothing_is_refused_but_deny_of_nothing_is_not() {
        for json in [
            r#"[{"allow":true,"type":"c","major":1,"minor":11,"access":"x"}]"#,
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":11,"access":"WR"}]"#,
        ] {
            assert!(state(json).is_err(), "{json} accepted");
        }
        for json in [
            r#"[{"allow":false,"access":"x"}]"#,
            r#"[{"allow":true,"access":"x"}]"#,
            r#"[{"allow":true,"access":"rwm"},{"allow":false,"type":"c","major":1,"minor":11,"access":"x"}]"#,
        ] {
            assert!(state(json).is_ok(), "{json} refused");
        }
    }

    #[test]
    fn type_a_resets_whatever_its_numbers_and_access() -> Result<(), CgroupError> {
        let s = state(
            r#"[{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},
                {"allow":true,"type":"a","major":5,"access":"r"}]"#,
        )?;
        assert!(s.default_allow && s.exceptions.iter().next().is_none());
        Ok(())
    }

    #[test]
    fn deny_takes_access_from_the_exact_exception() -> Result<(), CgroupError> {
        let s = state(
            r#"[{"allow":false,"access":"rwm"},
                {"allow":true,"type":"c","major":1,"minor":11,"access":"rw"},
                {"allow":false,"type":"c","major":1,"minor":11,"access":"xw"}]"#,
        )?;
        let dev = DeviceMatch {
            major: Some(1),
            minor: Some(11),
            typ: DevType::Char,
        };
        assert_eq!(s.exceptions.get(&dev), Access::READ);
        Ok(())
    }

    #[test]
    fn punching_a_hole_in_a_wildcard_is_refused() {
        let err = state(
            r#"[{"allow":false,"access":"rwm"},
                {"allow":true,"type":"c","major":1,"access":"rwm"},
                {"allow":false,"type":"c","major":1,"minor":11,"access":"w"}]"#,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("c 1:*"), "{err}");
    }

    #[test]
    fn other_types_are_refused() {
        for t in ["u", "p"] {
            let json =
                format!(r#"[{{"allow":true,"type":"{t}","major":1,"minor":3,"access":"rw"}}]"#);
            assert!(state(&json).is_err(), "type {t} accepted");
        }
    }

    #[test]
    fn transition_from_a_white_list_writes_only_the_difference() -> Result<(), CgroupError> {
        let current = DeviceRules::from_v1_list("c 1:3 rwm\nc 1:5 rwm\nc 136:* rw\n")
            .map_err(|e| CgroupError::invalid("", e))?;
        let target = state(
            r#"[{"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
                {"allow":true,"type":"c","major":1,"minor":5,"access":"r"},
                {"allow":true,"type":"c","major":136,"access":"rwm"}]"#,
        )?;
        assert_eq!(
            lines(&target, &current),
            ["deny c 1:5 wm", "allow c 136:* m"]
        );
        assert!(target.v1_lines_from(&target).is_empty());
        Ok(())
    }

    #[test]
    fn list_lines_parse_back() -> Result<(), String> {
        let list = "b *:* m\nc *:* m\nc 1:3 rwm\nc 136:* rwm\n";
        let s = DeviceRules::from_v1_list(list)?;
        assert!(!s.default_allow);
        let written: Vec<String> = s
            .v1_lines_from(&DeviceRules::default())
            .into_iter()
            .map(|l| l.line)
            .collect();
        assert_eq!(written.join("\n") + "\n", list);
        assert!(DeviceRules::from_v1_list("c 1:3 rwx\n").is_err());
        Ok(())
    }
}

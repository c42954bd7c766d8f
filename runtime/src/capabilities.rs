//! Linux capabilities: parse, validate and apply the five sets of the OCI process.
//!
//! Order in the container init (runc's, for the same kernel reasons):
//! 1. [`keep_across_uid_switch`] (`PR_SET_KEEPCAPS`) just before `setresuid`, else the
//!    kernel empties the permitted set when the uid leaves 0 and nothing can be restored;
//! 2. `setresgid`/`setgroups`/`setresuid` (the lead's code);
//! 3. [`apply`]: raise effective to the kept permitted set (the uid switch cleared it,
//!    and dropping the bounding set needs `CAP_SETPCAP` effective), drop the bounding set,
//!    set effective/permitted/inheritable in one `capset(2)`, then set ambient exactly,
//!    and clear keep-caps again;
//! 4. [`set_no_new_privs`] when `process.noNewPrivileges`, then the seccomp filter.
//!
//! What runc 1.1 treats as best effort is best effort here too, with a warning: unknown
//! capability names in a spec ([`drop_unknown_names`], before oci-spec parses it), names
//! the running kernel does not have, and ambient capabilities that are not both permitted
//! and inheritable (the kernel cannot raise those; `runc spec` itself writes such a set).
//! [`validate`] refuses what runc fails on too, only earlier and with a clear message:
//! effective outside permitted, inheritable outside bounding (`capset` says EPERM).

use std::collections::BTreeSet;

use nix::errno::Errno;
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

const CAP_LAST_CAP_FILE: &str = "/proc/sys/kernel/cap_last_cap";

#[derive(Debug, thiserror::Error)]
pub enum CapabilityError {
    #[error("unknown capability {name:?} in process.capabilities.{set}")]
    UnknownName { set: String, name: String },
    #[error("process.capabilities.{set} must be a list of capability names")]
    NotAList { set: String },
    #[error("process.capabilities: {detail}")]
    Inconsistent { detail: String },
    #[error("reading {CAP_LAST_CAP_FILE}: {detail}")]
    LastCap { detail: String },
    #[error("{op}: {source}")]
    Kernel { op: String, source: Errno },
}

/// A capability set as a bit mask over capability numbers (bit n = capability n).
type Mask = u64;

/// The kernel number of a capability (`CAP_CHOWN` = 0 ...).
pub fn number(cap: Capability) -> u8 {
    use caps::Capability as K;
    let k = match cap {
        Capability::AuditControl => K::CAP_AUDIT_CONTROL,
        Capability::AuditRead => K::CAP_AUDIT_READ,
        Capability::AuditWrite => K::CAP_AUDIT_WRITE,
        Capability::BlockSuspend => K::CAP_BLOCK_SUSPEND,
        Capability::Bpf => K::CAP_BPF,
        Capability::CheckpointRestore => K::CAP_CHECKPOINT_RESTORE,
        Capability::Chown => K::CAP_CHOWN,
        Capability::DacOverride => K::CAP_DAC_OVERRIDE,
        Capability::DacReadSearch => K::CAP_DAC_READ_SEARCH,
        Capability::Fowner => K::CAP_FOWNER,
        Capability::Fsetid => K::CAP_FSETID,
        Capability::IpcLock => K::CAP_IPC_LOCK,
        Capability::IpcOwner => K::CAP_IPC_OWNER,
        Capability::Kill => K::CAP_KILL,
        Capability::Lease => K::CAP_LEASE,
        Capability::LinuxImmutable => K::CAP_LINUX_IMMUTABLE,
        Capability::MacAdmin => K::CAP_MAC_ADMIN,
        Capability::MacOverride => K::CAP_MAC_OVERRIDE,
        Capability::Mknod => K::CAP_MKNOD,
        Capability::NetAdmin => K::CAP_NET_ADMIN,
        Capability::NetBindService => K::CAP_NET_BIND_SERVICE,
        Capability::NetBroadcast => K::CAP_NET_BROADCAST,
        Capability::NetRaw => K::CAP_NET_RAW,
        Capability::Perfmon => K::CAP_PERFMON,
        Capability::Setgid => K::CAP_SETGID,
        Capability::Setfcap => K::CAP_SETFCAP,
        Capability::Setpcap => K::CAP_SETPCAP,
        Capability::Setuid => K::CAP_SETUID,
        Capability::SysAdmin => K::CAP_SYS_ADMIN,
        Capability::SysBoot => K::CAP_SYS_BOOT,
        Capability::SysChroot => K::CAP_SYS_CHROOT,
        Capability::SysModule => K::CAP_SYS_MODULE,
        Capability::SysNice => K::CAP_SYS_NICE,
        Capability::SysPacct => K::CAP_SYS_PACCT,
        Capability::SysPtrace => K::CAP_SYS_PTRACE,
        Capability::SysRawio => K::CAP_SYS_RAWIO,
        Capability::SysResource => K::CAP_SYS_RESOURCE,
        Capability::SysTime => K::CAP_SYS_TIME,
        Capability::SysTtyConfig => K::CAP_SYS_TTY_CONFIG,
        Capability::Syslog => K::CAP_SYSLOG,
        Capability::WakeAlarm => K::CAP_WAKE_ALARM,
    };
    k.index()
}

/// Parses one capability name the way config.json is parsed (`CAP_SYS_ADMIN`; oci-spec
/// also accepts `SYS_ADMIN` and any case), with a clear error for an unknown name.
pub fn parse_name(set: &str, name: &str) -> Result<Capability, CapabilityError> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        CapabilityError::UnknownName {
            set: set.to_string(),
            name: name.to_string(),
        }
    })
}

/// Removes, with a warning, every capability name oci-spec does not know from the
/// `capabilities` object of a raw process JSON (`config.json`'s `/process/capabilities`
/// or an exec `--process` file's `/capabilities`), before it is parsed: runc 1.1 ignores
/// such names ("ignoring unknown or unavailable capabilities") and runs the container.
/// A set that is not a list of strings is still an error, naming the set.
pub fn drop_unknown_names(
    capabilities: Option<&mut serde_json::Value>,
) -> Result<(), CapabilityError> {
    let Some(sets) = capabilities.and_then(|v| v.as_object_mut()) else {
        return Ok(());
    };
    let mut unknown = BTreeSet::new();
    for (set, names) in sets.iter_mut() {
        if names.is_null() {
            continue;
        }
        let list = names
            .as_array_mut()
            .ok_or_else(|| CapabilityError::NotAList { set: set.clone() })?;
        if list.iter().any(|n| !n.is_string()) {
            return Err(CapabilityError::NotAList { set: set.clone() });
        }
        list.retain(|n| {
            let name = n.as_str().unwrap_or_default();
            let known = parse_name(set, name).is_ok();
            if !known {
                unknown.insert(format!("{name} (in {set})"));
            }
            known
        });
    }
    if !unknown.is_empty() {
        tracing::warn!(
            "ignoring unknown capabilities: {}",
            unknown.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// The five sets of a spec, as masks; an absent set is empty (the spec's meaning: the
/// process gets none of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapMasks {
    pub bounding: Mask,
    pub effective: Mask,
    pub permitted: Mask,
    pub inheritable: Mask,
    pub ambient: Mask,
}

fn mask_of(set: &Option<Capabilities>) -> Mask {
    set.iter()
        .flatten()
        .fold(0, |acc, cap| acc | (1u64 << number(*cap)))
}

impl CapMasks {
    pub fn from_spec(caps: &LinuxCapabilities) -> Self {
        Self {
            bounding: mask_of(caps.bounding()),
            effective: mask_of(caps.effective()),
            permitted: mask_of(caps.permitted()),
            inheritable: mask_of(caps.inheritable()),
            ambient: mask_of(caps.ambient()),
        }
    }

    /// The sets as the process really gets them: without the capabilities above `last`
    /// (the running kernel's highest), and with only the ambient capabilities the kernel
    /// can raise, those both permitted and inheritable.
    pub fn as_applied(self, last: u8) -> Self {
        let known = known_to_kernel(last);
        let permitted = self.permitted & known;
        let inheritable = self.inheritable & known;
        Self {
            bounding: self.bounding & known,
            effective: self.effective & known,
            permitted,
            inheritable,
            ambient: self.ambient & permitted & inheritable,
        }
    }
}

/// Every capability number up to `last`, the running kernel's highest.
fn known_to_kernel(last: u8) -> Mask {
    if last >= 63 {
        Mask::MAX
    } else {
        (1u64 << (last + 1)) - 1
    }
}

/// The highest capability number the running kernel knows: from [`CAP_LAST_CAP_FILE`],
/// or, where there is no /proc (a container without a /proc mount), by asking the
/// bounding set for each number until the kernel says EINVAL (as libcap does).
pub fn last_cap() -> Result<u8, CapabilityError> {
    let text = match std::fs::read_to_string(CAP_LAST_CAP_FILE) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return last_cap_by_probe().ok_or(CapabilityError::LastCap {
                detail: format!("{e}, and PR_CAPBSET_READ did not tell"),
            });
        }
        Err(e) => {
            return Err(CapabilityError::LastCap {
                detail: e.to_string(),
            });
        }
    };
    text.trim()
        .parse()
        .map_err(|e: std::num::ParseIntError| CapabilityError::LastCap {
            detail: format!("{:?}: {e}", text.trim()),
        })
}

/// The highest n that PR_CAPBSET_READ accepts (capability numbers are below 64).
fn last_cap_by_probe() -> Option<u8> {
    // SAFETY: PR_CAPBSET_READ reads one bit of our bounding set; no memory is passed.
    let known = |n: u8| unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(n)) } >= 0;
    (0..64u8).take_while(|&n| known(n)).last()
}

/// No capability in any set: what a process gets when its spec names none (as runc does),
/// rather than keeping the runtime's full set.
pub fn none() -> LinuxCapabilities {
    let mut c = LinuxCapabilities::default();
    for set in [
        LinuxCapabilities::set_bounding,
        LinuxCapabilities::set_effective,
        LinuxCapabilities::set_permitted,
        LinuxCapabilities::set_inheritable,
        LinuxCapabilities::set_ambient,
    ] {
        set(&mut c, None);
    }
    c
}

/// Checks the sets before anything starts. Refused, as `capset(2)` would refuse them at
/// start (runc fails there with a bare EPERM): effective outside permitted, inheritable
/// outside bounding. Warned about and skipped, as runc does: capabilities the running
/// kernel does not have, and ambient capabilities not both permitted and inheritable.
pub fn validate(caps: &LinuxCapabilities) -> Result<(), CapabilityError> {
    let last = last_cap()?;
    let m = CapMasks::from_spec(caps);
    let applied = m.as_applied(last);
    let named = m.bounding | m.effective | m.permitted | m.inheritable | m.ambient;
    let unavailable = named & !known_to_kernel(last);
    if unavailable != 0 {
        tracing::warn!(
            "ignoring capabilities the running kernel does not have (highest is {last}): {}",
            names_of(unavailable).join(", ")
        );
    }
    let not_raisable = m.ambient & known_to_kernel(last) & !applied.ambient;
    if not_raisable != 0 {
        tracing::warn!(
            "skipping ambient capabilities that are not both permitted and inheritable: {}",
            names_of(not_raisable).join(", ")
        );
    }
    let require = |sub: Mask, sup: Mask, what: &str| -> Result<(), CapabilityError> {
        let extra = sub & !sup;
        if extra == 0 {
            return Ok(());
        }
        Err(CapabilityError::Inconsistent {
            detail: format!("{what}: {}", names_of(extra).join(", ")),
        })
    };
    require(
        applied.effective,
        applied.permitted,
        "effective capabilities missing from permitted",
    )?;
    require(
        applied.inheritable,
        applied.bounding,
        "inheritable capabilities missing from bounding",
    )?;
    Ok(())
}

/// Without a new user namespace the container can hold no capability the runtime does
/// not hold itself: `capset` would refuse with a bare EPERM in the init. Say which
/// capabilities are missing, before anything is created (e.g. a host whose root lacks
/// CAP_SYS_RESOURCE asked for a privileged container). Bounding is not checked: a
/// capability missing there is simply absent, as with runc.
pub fn check_runtime_holds(caps: &LinuxCapabilities) -> Result<(), CapabilityError> {
    let own = capget()?;
    let m = CapMasks::from_spec(caps).as_applied(last_cap()?);
    let missing = (m.permitted | m.effective | m.ambient) & !own.permitted;
    if missing != 0 {
        return Err(CapabilityError::Inconsistent {
            detail: format!(
                "the runtime itself does not hold {}, so a container without its own user \
                 namespace cannot be given it",
                names_of(missing).join(", ")
            ),
        });
    }
    Ok(())
}

fn names_of(mask: Mask) -> Vec<String> {
    (0u8..64)
        .filter(|n| mask & (1u64 << n) != 0)
        .map(|n| {
            caps::all()
                .into_iter()
                .find(|c| c.index() == n)
                .map(|c| c.to_string())
                .unwrap_or_else(|| format!("capability {n}"))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// `PR_SET_KEEPCAPS`: keep the permitted set when `setresuid` moves every uid off 0.
/// Call right before the uid switch; [`apply`] clears it again.
pub fn keep_across_uid_switch() -> Result<(), CapabilityError> {
    prctl(libc::PR_SET_KEEPCAPS, 1, 0, "setting PR_SET_KEEPCAPS")
}

/// `PR_SET_NO_NEW_PRIVS` (`process.noNewPrivileges`): execve can never grant more
/// privileges (setuid bits, file capabilities). Call after [`apply`], before seccomp.
pub fn set_no_new_privs() -> Result<(), CapabilityError> {
    prctl(
        libc::PR_SET_NO_NEW_PRIVS,
        1,
        0,
        "setting PR_SET_NO_NEW_PRIVS",
    )
}

/// Gives the calling thread exactly the spec's five sets (call after the uid switch;
/// see the module comment for the order and why).
pub fn apply(caps: &LinuxCapabilities) -> Result<(), CapabilityError> {
    let last = last_cap()?;
    // What the kernel can give; [`validate`] warned about the rest before the start.
    let want = CapMasks::from_spec(caps).as_applied(last);

    // The uid switch emptied the effective set; bring back what is permitted so the
    // bounding drop below has CAP_SETPCAP.
    let now = capget()?;
    capset(
        now.permitted,
        now.permitted,
        now.inheritable,
        "raising effective to permitted",
    )?;

    for n in 0..=last {
        if want.bounding & (1u64 << n) == 0 {
            prctl(
                libc::PR_CAPBSET_DROP,
                libc::c_ulong::from(n),
                0,
                &format!("dropping capability {n} from the bounding set"),
            )?;
        }
    }

    // One capset for the three sets, so no intermediate state violates the kernel's
    // rules (e.g. effective ⊄ permitted between two calls).
    capset(
        want.effective,
        want.permitted,
        want.inheritable,
        "setting effective/permitted/inheritable",
    )?;

    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
        "clearing the ambient set",
    )?;
    for n in 0..=last {
        if want.ambient & (1u64 << n) == 0 {
            continue;
        }
        match prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            libc::c_ulong::from(n),
            &format!("raising capability {n} in the ambient set"),
        ) {
            // Best effort, as with runc: e.g. SECBIT_NO_CAP_AMBIENT_RAISE forbids it.
            Err(CapabilityError::Kernel {
                source: Errno::EPERM,
                op,
            }) => tracing::warn!("skipped: {op}: not permitted"),
            other => other?,
        }
    }
    prctl(libc::PR_SET_KEEPCAPS, 0, 0, "clearing PR_SET_KEEPCAPS")?;
    tracing::debug!(?want, "capabilities applied");
    Ok(())
}

fn prctl(
    option: libc::c_int,
    arg2: libc::c_ulong,
    arg3: libc::c_ulong,
    op: &str,
) -> Result<(), CapabilityError> {
    // SAFETY: the prctl options used here take only integer arguments.
    let rc = unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    Errno::result(rc)
        .map(drop)
        .map_err(|source| CapabilityError::Kernel {
            op: op.to_string(),
            source,
        })
}

/// The effective/permitted/inheritable sets of the calling thread.
struct ThreadCaps {
    permitted: Mask,
    inheritable: Mask,
}

const CAP_V3: u32 = 0x2008_0522; // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn capget() -> Result<ThreadCaps, CapabilityError> {
    let mut header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element data array, as the v3 ABI requires, both live
    // and writable for the call.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    Errno::result(rc).map_err(|source| CapabilityError::Kernel {
        op: "reading capabilities (capget)".to_string(),
        source,
    })?;
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok(ThreadCaps {
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

fn capset(
    effective: Mask,
    permitted: Mask,
    inheritable: Mask,
    op: &str,
) -> Result<(), CapabilityError> {
    let mut header = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let split = |m: Mask| (m as u32, (m >> 32) as u32);
    let (e0, e1) = split(effective);
    let (p0, p1) = split(permitted);
    let (i0, i1) = split(inheritable);
    let data = [
        CapData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: header and a two-element data array, as the v3 ABI requires; the kernel
    // only reads data.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    Errno::result(rc)
        .map(drop)
        .map_err(|source| CapabilityError::Kernel {
            op: op.to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_testkit::child::in_child;
    use berth_testkit::root::require_root;
    use oci_spec::runtime::LinuxCapabilitiesBuilder;

    fn set(caps: &[Capability]) -> Capabilities {
        caps.iter().copied().collect()
    }

    /// The five `Cap*` lines of /proc/self/status as masks.
    fn status_masks() -> Result<CapMasks, String> {
        let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
        let field = |name: &str| -> Result<Mask, String> {
            let line = status
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:\t")))
                .ok_or_else(|| format!("{name} missing from /proc/self/status"))?;
            Mask::from_str_radix(line.trim(), 16).map_err(|e| format!("{name}: {e}"))
        };
        Ok(CapMasks {
            bounding: field("CapBnd")?,
            effective: field("CapEff")?,
            permitted: field("CapPrm")?,
            inheritable: field("CapInh")?,
            ambient: field("CapAmb")?,
        })
    }

    fn sample() -> LinuxCapabilities {
        use Capability::*;
        LinuxCapabilitiesBuilder::default()
            .bounding(set(&[Chown, Kill, NetBindService, Setuid, Setgid, NetRaw]))
            .effective(set(&[Chown, Kill]))
            .permitted(set(&[Chown, Kill, NetBindService]))
            .inheritable(set(&[Kill, NetBindService]))
            .ambient(set(&[NetBindService]))
            .build()
            .expect("caps builder")
    }

    #[test]
    fn applied_sets_match_proc_status_exactly() {
        if !require_root() {
            return;
        }
        let spec = sample();
        validate(&spec).expect("valid sample");
        in_child(move || {
            apply(&spec).map_err(|e| e.to_string())?;
            let got = status_masks()?;
            let want = CapMasks::from_spec(&spec);
            if got == want {
                Ok(())
            } else {
                Err(format!("got {got:x?}, want {want:x?}"))
            }
        })
        .expect("apply in child");
    }

    #[test]
    fn empty_sets_drop_everything() {
        if !require_root() {
            return;
        }
        // The builder's defaults are oci-spec's default set, so empty them explicitly.
        let spec = LinuxCapabilitiesBuilder::default()
            .bounding(set(&[]))
            .effective(set(&[]))
            .permitted(set(&[]))
            .inheritable(set(&[]))
            .ambient(set(&[]))
            .build()
            .expect("empty caps");
        in_child(move || {
            apply(&spec).map_err(|e| e.to_string())?;
            let got = status_masks()?;
            let zero = CapMasks {
                bounding: 0,
                effective: 0,
                permitted: 0,
                inheritable: 0,
                ambient: 0,
            };
            if got == zero {
                Ok(())
            } else {
                Err(format!("got {got:x?}"))
            }
        })
        .expect("apply empty in child");
    }

    #[test]
    fn caps_survive_switch_to_non_root_uid_with_keep_caps() {
        if !require_root() {
            return;
        }
        let spec = sample();
        in_child(move || {
            use nix::unistd::{Gid, Uid, setresgid, setresuid};
            keep_across_uid_switch().map_err(|e| e.to_string())?;
            setresgid(
                Gid::from_raw(1000),
                Gid::from_raw(1000),
                Gid::from_raw(1000),
            )
            .map_err(|e| e.to_string())?;
            setresuid(
                Uid::from_raw(1000),
                Uid::from_raw(1000),
                Uid::from_raw(1000),
            )
            .map_err(|e| e.to_string())?;
            apply(&spec).map_err(|e| e.to_string())?;
            let got = status_masks()?;
            let want = CapMasks::from_spec(&spec);
            if got != want {
                return Err(format!("got {got:x?}, want {want:x?}"));
            }
            // keep-caps is cleared again: a later uid change would now drop them.
            // SAFETY: PR_GET_KEEPCAPS takes no pointer arguments.
            let keep = unsafe { libc::prctl(libc::PR_GET_KEEPCAPS, 0, 0, 0, 0) };
            if keep == 0 {
                Ok(())
            } else {
                Err("keep-caps still set".into())
            }
        })
        .expect("keep caps in child");
    }

    #[test]
    fn without_keep_caps_the_uid_switch_loses_them() {
        if !require_root() {
            return;
        }
        let spec = sample();
        in_child(move || {
            use nix::unistd::{Uid, setresuid};
            setresuid(
                Uid::from_raw(1000),
                Uid::from_raw(1000),
                Uid::from_raw(1000),
            )
            .map_err(|e| e.to_string())?;
            match apply(&spec) {
                Err(CapabilityError::Kernel { .. }) => Ok(()),
                other => Err(format!("expected a kernel refusal, got {other:?}")),
            }
        })
        .expect("no keep caps in child");
    }

    #[test]
    fn probing_the_bounding_set_finds_the_last_cap_of_proc() {
        assert_eq!(last_cap_by_probe(), Some(last_cap().expect("cap_last_cap")));
    }

    #[test]
    fn unknown_capability_names_are_dropped_like_runc() {
        // runc 1.1 runs this spec, warning "ignoring unknown or unavailable capabilities".
        let mut config = serde_json::json!({
            "process": {"capabilities": {
                "bounding": ["CAP_CHOWN", "CAP_FLY_TO_THE_MOON", "UNKNOWN_CAP"],
                "effective": ["CAP_KILL", "SYS_ADMIN"],
                "inheritable": null
            }}
        });
        drop_unknown_names(config.pointer_mut("/process/capabilities")).expect("dropped");
        assert_eq!(
            config["process"]["capabilities"],
            serde_json::json!({"bounding": ["CAP_CHOWN"], "effective": ["CAP_KILL", "SYS_ADMIN"],
                "inheritable": null})
        );
        let parsed: LinuxCapabilities =
            serde_json::from_value(config["process"]["capabilities"].clone()).expect("parses");
        assert_eq!(CapMasks::from_spec(&parsed).bounding, 1);
        // Not a list of names is still refused, naming the set.
        let mut bad = serde_json::json!({"ambient": "CAP_KILL"});
        let err = drop_unknown_names(Some(&mut bad)).expect_err("not a list");
        assert!(err.to_string().contains("ambient"), "{err}");
        let mut bad = serde_json::json!({"permitted": [1]});
        assert!(drop_unknown_names(Some(&mut bad)).is_err());
    }

    #[test]
    fn ambient_capabilities_that_cannot_be_raised_are_skipped() {
        if !require_root() {
            return;
        }
        use Capability::*;
        // The input: runc runs it with CapAmb 0000000000000020 (CAP_KILL only).
        let spec = LinuxCapabilitiesBuilder::default()
            .bounding(set(&[Chown, Kill]))
            .effective(set(&[Chown, Kill]))
            .permitted(set(&[Chown, Kill]))
            .inheritable(set(&[Kill]))
            .ambient(set(&[Kill, Chown]))
            .build()
            .expect("caps builder");
        validate(&spec).expect("ambient outside inheritable is not an error");
        in_child(move || {
            apply(&spec).map_err(|e| e.to_string())?;
            let got = status_masks()?;
            if got.ambient == 0x20 && got.inheritable == 0x20 && got.permitted == 0x21 {
                Ok(())
            } else {
                Err(format!("got {got:x?}"))
            }
        })
        .expect("apply in child");
    }

    #[test]
    fn inconsistent_sets_are_refused_before_start() {
        use Capability::*;
        let bad = LinuxCapabilitiesBuilder::default()
            .bounding(set(&[Kill]))
            .effective(set(&[Kill, Chown]))
            .permitted(set(&[Kill]))
            .build()
            .expect("builder");
        let err = validate(&bad).expect_err("effective not permitted");
        assert!(err.to_string().contains("CAP_CHOWN"), "{err}");
        let bad_inheritable = LinuxCapabilitiesBuilder::default()
            .bounding(set(&[Kill]))
            .effective(set(&[Kill]))
            .permitted(set(&[Kill]))
            .inheritable(set(&[Kill, Chown]))
            .build()
            .expect("builder");
        let err = validate(&bad_inheritable).expect_err("inheritable not in bounding");
        assert!(err.to_string().contains("CAP_CHOWN"), "{err}");
        // runc spec's own set: ambient without inheritable runs (the ambient set is skipped).
        let runc_spec = LinuxCapabilitiesBuilder::default()
            .bounding(set(&[AuditWrite, Kill, NetBindService]))
            .effective(set(&[AuditWrite, Kill, NetBindService]))
            .permitted(set(&[AuditWrite, Kill, NetBindService]))
            .ambient(set(&[AuditWrite, Kill, NetBindService]))
            .build()
            .expect("builder");
        assert!(validate(&runc_spec).is_ok());
        assert!(validate(&LinuxCapabilities::default()).is_ok());
    }
}

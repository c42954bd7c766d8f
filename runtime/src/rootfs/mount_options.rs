//! Turning an OCI mount's `options` into what the kernel is asked for: mount(2) flags,
//! propagation changes, recursive `mount_setattr` attributes and filesystem data.
//!
//! Every option is applied or refused, never dropped: the names in the option table are
//! what `features` lists; `idmap`, `ridmap`, `copy-symlink` and `remount` are refused with
//! the reason; any other name is filesystem data (`size=`, `mode=`), which only a new
//! filesystem mount can take, so [`check`] refuses it (and the flags that change a
//! filesystem rather than a mount) on a bind or cgroup mount.

use nix::mount::MsFlags;
use oci_spec::runtime::Mount;

use crate::mount_api::{self, MountAttr};

/// `MS_NOSYMFOLLOW` (Linux 5.10), which nix does not name.
pub const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(0x100);

/// The flags a bind remount (or `mount_setattr`) can change: they belong to the mount,
/// not to the filesystem below it.
pub const PER_MOUNT_FLAGS: MsFlags = MsFlags::MS_RDONLY
    .union(MsFlags::MS_NOSUID)
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC)
    .union(MsFlags::MS_NOATIME)
    .union(MsFlags::MS_NODIRATIME)
    .union(MsFlags::MS_RELATIME)
    .union(MsFlags::MS_STRICTATIME)
    .union(MS_NOSYMFOLLOW);

/// The access-time flags, one setting of which a mount has.
pub const ATIME_FLAGS: MsFlags = MsFlags::MS_NOATIME
    .union(MsFlags::MS_RELATIME)
    .union(MsFlags::MS_STRICTATIME);

/// Flags that change the filesystem (its superblock): a new mount of it takes them, a bind
/// cannot. `MS_SILENT` is left out: it only quiets the mount call itself.
const FILESYSTEM_FLAGS: MsFlags = MsFlags::MS_SYNCHRONOUS
    .union(MsFlags::MS_DIRSYNC)
    .union(MsFlags::MS_MANDLOCK)
    .union(MsFlags::MS_LAZYTIME)
    .union(MsFlags::MS_I_VERSION)
    .union(MsFlags::MS_POSIXACL);

/// An option refused: which one and why.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("mount option {option:?}: {reason}")]
pub struct OptionError {
    pub option: String,
    pub reason: &'static str,
}

#[derive(Debug, PartialEq)]
pub struct MountOptions {
    /// Flags for the mount call itself.
    pub flags: MsFlags,
    /// Flags an option explicitly cleared (`rw`, `suid`, ...): a bind remount keeps the
    /// source's other flags but drops these.
    pub cleared: MsFlags,
    /// Propagation changes, applied one by one after mounting (the kernel takes one per call).
    pub propagation: Vec<MsFlags>,
    /// Attributes set on the mount and every mount below it (`rro`, `rnosuid`, ...).
    pub recursive: MountAttr,
    /// Options the kernel does not take as flags: passed as the filesystem's data string.
    pub data: Vec<String>,
    pub bind: bool,
    pub recursive_bind: bool,
    /// `tmpcopyup`: a tmpfs starts with a copy of the directory it covers.
    pub copy_up: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        Self {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: Vec::new(),
            recursive: MountAttr::default(),
            data: Vec::new(),
            bind: false,
            recursive_bind: false,
            copy_up: false,
        }
    }
}

impl MountOptions {
    /// Whether `m` (whose options these are) is a bind mount: by type or by option.
    pub fn is_bind(&self, m: &Mount) -> bool {
        self.bind || m.typ().as_deref() == Some("bind")
    }
}

/// What one option does.
#[derive(Clone, Copy)]
enum Effect {
    Set(MsFlags),
    Clear(MsFlags),
    /// A recursive attribute set on the whole tree.
    RecSet(u64),
    /// A recursive attribute cleared on the whole tree.
    RecClear(u64),
    /// A recursive access-time setting (the kernel's atime values are an enum).
    RecAtime(u64),
    Propagation(MsFlags),
    Bind,
    RecursiveBind,
    CopyUp,
    /// Accepted and means nothing more (`defaults`).
    Nothing,
}

use Effect::*;
use mount_api::{
    ATTR_NOATIME, ATTR_NODEV, ATTR_NODIRATIME, ATTR_NOEXEC, ATTR_NOSUID, ATTR_NOSYMFOLLOW,
    ATTR_RDONLY, ATTR_RELATIME, ATTR_STRICTATIME,
};

/// Every option berth applies, the names of runc 1.1's `features`. The recursive access
/// times follow what the plain names do through mount(2): `ratime` and `rnostrictatime`
/// give the kernel's default (relatime), `rnorelatime` strict atime (runc 1.1 fails the
/// first two with EINVAL and ignores the third).
const OPTIONS: &[(&str, Effect)] = &[
    ("acl", Set(MsFlags::MS_POSIXACL)),
    ("async", Clear(MsFlags::MS_SYNCHRONOUS)),
    ("atime", Clear(MsFlags::MS_NOATIME)),
    ("bind", Bind),
    ("defaults", Nothing),
    ("dev", Clear(MsFlags::MS_NODEV)),
    ("diratime", Clear(MsFlags::MS_NODIRATIME)),
    ("dirsync", Set(MsFlags::MS_DIRSYNC)),
    ("exec", Clear(MsFlags::MS_NOEXEC)),
    ("iversion", Set(MsFlags::MS_I_VERSION)),
    ("lazytime", Set(MsFlags::MS_LAZYTIME)),
    ("loud", Clear(MsFlags::MS_SILENT)),
    ("mand", Set(MsFlags::MS_MANDLOCK)),
    ("noacl", Clear(MsFlags::MS_POSIXACL)),
    ("noatime", Set(MsFlags::MS_NOATIME)),
    ("nodev", Set(MsFlags::MS_NODEV)),
    ("nodiratime", Set(MsFlags::MS_NODIRATIME)),
    ("noexec", Set(MsFlags::MS_NOEXEC)),
    ("noiversion", Clear(MsFlags::MS_I_VERSION)),
    ("nolazytime", Clear(MsFlags::MS_LAZYTIME)),
    ("nomand", Clear(MsFlags::MS_MANDLOCK)),
    ("norelatime", Clear(MsFlags::MS_RELATIME)),
    ("nostrictatime", Clear(MsFlags::MS_STRICTATIME)),
    ("nosuid", Set(MsFlags::MS_NOSUID)),
    ("nosymfollow", Set(MS_NOSYMFOLLOW)),
    ("private", Propagation(MsFlags::MS_PRIVATE)),
    ("ratime", RecAtime(ATTR_RELATIME)),
    ("rbind", RecursiveBind),
    ("rdev", RecClear(ATTR_NODEV)),
    ("rdiratime", RecClear(ATTR_NODIRATIME)),
    ("relatime", Set(MsFlags::MS_RELATIME)),
    ("rexec", RecClear(ATTR_NOEXEC)),
    ("rnoatime", RecAtime(ATTR_NOATIME)),
    ("rnodev", RecSet(ATTR_NODEV)),
    ("rnodiratime", RecSet(ATTR_NODIRATIME)),
    ("rnoexec", RecSet(ATTR_NOEXEC)),
    ("rnorelatime", RecAtime(ATTR_STRICTATIME)),
    ("rnostrictatime", RecAtime(ATTR_RELATIME)),
    ("rnosuid", RecSet(ATTR_NOSUID)),
    ("rnosymfollow", RecSet(ATTR_NOSYMFOLLOW)),
    ("ro", Set(MsFlags::MS_RDONLY)),
    (
        "rprivate",
        Propagation(MsFlags::MS_PRIVATE.union(MsFlags::MS_REC)),
    ),
    ("rrelatime", RecAtime(ATTR_RELATIME)),
    ("rro", RecSet(ATTR_RDONLY)),
    ("rrw", RecClear(ATTR_RDONLY)),
    (
        "rshared",
        Propagation(MsFlags::MS_SHARED.union(MsFlags::MS_REC)),
    ),
    (
        "rslave",
        Propagation(MsFlags::MS_SLAVE.union(MsFlags::MS_REC)),
    ),
    ("rstrictatime", RecAtime(ATTR_STRICTATIME)),
    ("rsuid", RecClear(ATTR_NOSUID)),
    ("rsymfollow", RecClear(ATTR_NOSYMFOLLOW)),
    (
        "runbindable",
        Propagation(MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
    ),
    ("rw", Clear(MsFlags::MS_RDONLY)),
    ("shared", Propagation(MsFlags::MS_SHARED)),
    ("silent", Set(MsFlags::MS_SILENT)),
    ("slave", Propagation(MsFlags::MS_SLAVE)),
    ("strictatime", Set(MsFlags::MS_STRICTATIME)),
    ("suid", Clear(MsFlags::MS_NOSUID)),
    ("symfollow", Clear(MS_NOSYMFOLLOW)),
    ("sync", Set(MsFlags::MS_SYNCHRONOUS)),
    ("tmpcopyup", CopyUp),
    ("unbindable", Propagation(MsFlags::MS_UNBINDABLE)),
];

/// Options other runtimes take that berth refuses, with the reason.
const REFUSED: [(&str, &str); 4] = [
    (
        "idmap",
        "id-mapped mounts are not supported by berth (no uidMappings on a mount)",
    ),
    (
        "ridmap",
        "id-mapped mounts are not supported by berth (no uidMappings on a mount)",
    ),
    (
        "copy-symlink",
        "crun's copy of a symlink's target is not supported by berth",
    ),
    (
        "remount",
        "not supported: every spec mount is a new mount, never a change of one already there",
    ),
];

/// The names of every option berth applies, sorted: what `features` lists.
pub fn names() -> impl Iterator<Item = &'static str> {
    OPTIONS.iter().map(|(name, _)| *name)
}

/// Parse `options`, later ones winning over earlier ones. Refuses the options in the
/// refused table; a name berth does not know is kept as filesystem data.
pub fn parse(options: &[String]) -> Result<MountOptions, OptionError> {
    let mut o = MountOptions::default();
    for opt in options {
        if let Some((_, reason)) = REFUSED.iter().find(|(name, _)| name == opt) {
            return Err(OptionError {
                option: opt.clone(),
                reason,
            });
        }
        let Some((_, effect)) = OPTIONS.iter().find(|(name, _)| name == opt) else {
            o.data.push(opt.clone());
            continue;
        };
        match *effect {
            Set(f) => {
                o.flags.insert(f);
                o.cleared.remove(f);
            }
            Clear(f) => {
                o.flags.remove(f);
                o.cleared.insert(f);
            }
            RecSet(a) => {
                o.recursive.set |= a;
                o.recursive.clear &= !a;
            }
            RecClear(a) => {
                o.recursive.clear |= a;
                o.recursive.set &= !a;
            }
            RecAtime(a) => {
                // The kernel takes a new atime value only with the whole atime field cleared.
                o.recursive.set = (o.recursive.set & !mount_api::ATTR_ATIME) | a;
                o.recursive.clear |= mount_api::ATTR_ATIME;
            }
            Propagation(f) => o.propagation.push(f),
            Bind => o.bind = true,
            RecursiveBind => {
                o.bind = true;
                o.recursive_bind = true;
            }
            CopyUp => o.copy_up = true,
            Nothing => {}
        }
    }
    Ok(o)
}

/// Parse the options of `m` and refuse what its kind of mount cannot apply: a bind or a
/// cgroup mount takes no filesystem data and no flag that changes the filesystem (the
/// kernel would ignore both without a word), and only a tmpfs takes `tmpcopyup`.
pub fn check(m: &Mount) -> Result<MountOptions, OptionError> {
    let o = parse(m.options().as_deref().unwrap_or_default())?;
    let typ = m.typ().as_deref().unwrap_or_default();
    if o.copy_up && (o.is_bind(m) || typ != "tmpfs") {
        return Err(OptionError {
            option: "tmpcopyup".into(),
            reason: "only a tmpfs (not a bind) can start with a copy of what it covers",
        });
    }
    if o.is_bind(m) || matches!(typ, "cgroup" | "cgroup2") {
        let kind = if o.is_bind(m) { "bind" } else { "cgroup" };
        let fs_flag = OPTIONS.iter().find(|(name, effect)| {
            matches!(effect, Set(f) | Clear(f) if f.intersects(FILESYSTEM_FLAGS))
                && m.options().iter().flatten().any(|o| o == name)
        });
        if let Some((name, _)) = fs_flag {
            return Err(OptionError {
                option: name.to_string(),
                reason: if kind == "bind" {
                    "changes the filesystem, which a bind mount cannot"
                } else {
                    "changes the filesystem, which a cgroup mount cannot"
                },
            });
        }
        if let Some(data) = o.data.first() {
            return Err(OptionError {
                option: data.clone(),
                reason: if kind == "bind" {
                    "unknown option, or filesystem data, which a bind mount cannot take"
                } else {
                    "unknown option, or filesystem data, which a cgroup mount cannot take"
                },
            });
        }
    }
    Ok(o)
}

/// The propagation a `rootfsPropagation` value (or a propagation option) names.
pub fn propagation_flag(name: &str) -> Option<MsFlags> {
    OPTIONS.iter().find_map(|(n, effect)| match effect {
        Propagation(f) if *n == name => Some(*f),
        _ => None,
    })
}

/// The per-mount flags a remount must repeat: the kernel refuses (in a user namespace) or
/// silently clears (elsewhere) the ones a bind remount leaves out.
pub fn statvfs_to_ms(f: nix::sys::statvfs::FsFlags) -> MsFlags {
    use nix::sys::statvfs::FsFlags as F;
    let mut m = MsFlags::empty();
    for (a, b) in [
        (F::ST_NOSUID, MsFlags::MS_NOSUID),
        (F::ST_NODEV, MsFlags::MS_NODEV),
        (F::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (F::ST_NOATIME, MsFlags::MS_NOATIME),
        (F::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (F::ST_RELATIME, MsFlags::MS_RELATIME),
        (F::ST_RDONLY, MsFlags::MS_RDONLY),
        // ST_NOSYMFOLLOW (Linux 5.10), which nix does not name.
        (F::from_bits_retain(0x2000), MS_NOSYMFOLLOW),
    ] {
        if f.contains(a) {
            m |= b;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    fn mount(typ: &str, options: &[&str]) -> Mount {
        let mut m = Mount::default();
        m.set_typ(Some(typ.to_string()));
        m.set_options(Some(v(options)));
        m
    }

    #[test]
    fn flags_data_and_propagation_are_separated() {
        let o = parse(&v(&[
            "nosuid",
            "noexec",
            "mode=755",
            "size=65536k",
            "rprivate",
            "ro",
        ]))
        .expect("parses");
        assert_eq!(
            o.flags,
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY
        );
        assert_eq!(o.data, v(&["mode=755", "size=65536k"]));
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert!(!o.bind);
    }

    #[test]
    fn later_options_win_and_rbind_is_recursive() {
        let o = parse(&v(&["ro", "rw", "rbind"])).expect("parses");
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert_eq!(o.cleared, MsFlags::MS_RDONLY);
        assert!(o.bind && o.recursive_bind);
        let o = parse(&v(&["rro", "rrw", "rnosuid"])).expect("parses");
        assert_eq!(
            o.recursive,
            MountAttr {
                set: mount_api::ATTR_NOSUID,
                clear: mount_api::ATTR_RDONLY
            }
        );
    }

    #[test]
    fn a_recursive_atime_clears_the_whole_atime_field() {
        let o = parse(&v(&["rnoatime", "rnodiratime"])).expect("parses");
        assert_eq!(
            o.recursive,
            MountAttr {
                set: mount_api::ATTR_NOATIME | mount_api::ATTR_NODIRATIME,
                clear: mount_api::ATTR_ATIME
            }
        );
        let o = parse(&v(&["rnoatime", "rstrictatime"])).expect("parses");
        assert_eq!(o.recursive.set, mount_api::ATTR_STRICTATIME);
    }

    #[test]
    fn refused_options_say_why() {
        for name in ["idmap", "ridmap", "copy-symlink", "remount"] {
            let e = parse(&v(&["rbind", name])).expect_err(name);
            assert_eq!(e.option, name);
            assert!(!names().any(|n| n == name), "{name} is refused but listed");
        }
    }

    #[test]
    fn a_bind_refuses_filesystem_data_and_filesystem_flags() {
        let e = check(&mount("bind", &["rbind", "size=1m"])).expect_err("data");
        assert_eq!(e.option, "size=1m");
        let e = check(&mount("none", &["bind", "sync"])).expect_err("sync");
        assert_eq!(e.option, "sync");
        let e = check(&mount("cgroup", &["ro", "lazytime"])).expect_err("lazytime");
        assert_eq!(e.option, "lazytime");
        assert!(
            check(&mount(
                "bind",
                &["rbind", "ro", "rro", "silent", "nosymfollow"]
            ))
            .is_ok()
        );
        assert!(check(&mount("tmpfs", &["size=1m", "sync", "mand"])).is_ok());
        let e = check(&mount("bind", &["rbind", "tmpcopyup"])).expect_err("copy-up bind");
        assert_eq!(e.option, "tmpcopyup");
        assert!(check(&mount("proc", &["tmpcopyup"])).is_err());
        assert!(check(&mount("tmpfs", &["tmpcopyup"])).is_ok());
    }

    #[test]
    fn the_option_table_is_sorted_and_has_no_duplicates() {
        let all: Vec<&str> = names().collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
    }

    #[test]
    fn propagation_names_map_to_flags() {
        assert_eq!(
            propagation_flag("rslave"),
            Some(MsFlags::MS_SLAVE | MsFlags::MS_REC)
        );
        assert_eq!(propagation_flag("ro"), None);
        assert_eq!(propagation_flag("bogus"), None);
    }
}

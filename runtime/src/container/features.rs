//! `features`: what this runtime supports, as the OCI features JSON (runtime-spec
//! features.md), the way `runc features` prints it.
//!
//! Every list names only what berth really implements: the mount options are those
//! [`crate::rootfs::mount_options::parse`] applies (the tests below check them) and the
//! hooks come from [`crate::hooks::HookKind`]; capabilities are those the running
//! kernel knows; seccomp flags are probed on the running kernel. The cgroup layout found
//! on this host goes into the annotations.

use std::collections::HashMap;

use oci_spec::runtime::{
    Apparmor, Cgroup, Features, IDMap, IntelRdt, LinuxFeature, MountExtensions, NetDevices,
    Seccomp, Selinux,
};
use oci_spec::runtime::{Arch, LinuxNamespaceType, LinuxSeccompAction};

use berth_cgroups::Layout;

use crate::capabilities;
use crate::hooks::HookKind;

const SECCOMP_ACTIONS: [&str; 9] = [
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

const SECCOMP_OPERATORS: [&str; 7] = [
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

/// Every architecture the seccomp compiler maps to libseccomp (all of the spec's).
const SECCOMP_ARCHS: [&str; 23] = [
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

/// The seccomp(2) filter flags berth passes through, with their kernel bits.
const SECCOMP_FLAGS: [(&str, libc::c_ulong); 4] = [
    ("SECCOMP_FILTER_FLAG_TSYNC", libc::SECCOMP_FILTER_FLAG_TSYNC),
    ("SECCOMP_FILTER_FLAG_LOG", libc::SECCOMP_FILTER_FLAG_LOG),
    (
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    ),
    (
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
    ),
];

pub fn features() -> Features {
    let mut linux = LinuxFeature::default();
    linux.set_namespaces(Some(vec![
        LinuxNamespaceType::Cgroup,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Time,
        LinuxNamespaceType::User,
        LinuxNamespaceType::Uts,
    ]));
    linux.set_capabilities(Some(known_capabilities()));
    linux.set_cgroup(Some(cgroup()));
    linux.set_seccomp(Some(seccomp()));
    let mut apparmor = Apparmor::default();
    apparmor.set_enabled(Some(false));
    linux.set_apparmor(Some(apparmor));
    let mut selinux = Selinux::default();
    selinux.set_enabled(Some(false));
    linux.set_selinux(Some(selinux));
    let mut rdt = IntelRdt::default();
    rdt.set_enabled(Some(false));
    linux.set_intel_rdt(Some(rdt));
    // `idmap`/`ridmap` mount options are refused: not advertised.
    let mut idmap = IDMap::default();
    idmap.set_enabled(Some(false));
    let mut ext = MountExtensions::default();
    ext.set_idmap(Some(idmap));
    linux.set_mount_extensions(Some(ext));
    let mut net = NetDevices::default();
    net.set_enabled(Some(false));
    linux.set_net_devices(Some(net));

    let mut f = Features::default();
    f.set_oci_version_min("1.0.0".into());
    f.set_oci_version_max(super::create::OCI_VERSION.into());
    f.set_hooks(Some(
        HookKind::ALL.iter().map(|k| k.name().to_string()).collect(),
    ));
    // Exactly the options `parse` applies; the ones it refuses are left out.
    f.set_mount_options(Some(
        crate::rootfs::mount_options::names()
            .map(str::to_string)
            .collect(),
    ));
    f.set_linux(Some(linux));
    f.set_annotations(Some(annotations()));
    f
}

/// Capabilities that both the spec's types and the running kernel know, in kernel order.
fn known_capabilities() -> Vec<String> {
    let last = capabilities::last_cap().unwrap_or(40);
    let mut known: Vec<caps::Capability> = caps::all()
        .into_iter()
        .filter(|c| c.index() <= last)
        .collect();
    known.sort_by_key(|c| c.index());
    known
        .into_iter()
        .map(|c| c.to_string())
        .filter(|name| capabilities::parse_name("features", name).is_ok())
        .collect()
}

/// What berth supports, narrowed to the hierarchies this host has (the issue asks for
/// cgroup support "as detected"): a pure v2 host cannot use berth's v1 managers, a v1-only
/// host not its v2 ones. Hybrid hosts have both.
fn cgroup() -> Cgroup {
    let mut c = berth_cgroups::oci_features();
    match berth_cgroups::detect_layout() {
        Ok(layout) => {
            let (v1, v2) = match layout {
                Layout::V2 => (false, true),
                Layout::Hybrid => (true, true),
                Layout::V1 => (true, false),
            };
            c.set_v1(c.v1().map(|s| s && v1));
            c.set_v2(c.v2().map(|s| s && v2));
        }
        Err(e) => tracing::debug!("features: detecting the cgroup layout: {e}"),
    }
    c
}

fn seccomp() -> Seccomp {
    let actions: Vec<LinuxSeccompAction> = SECCOMP_ACTIONS
        .iter()
        .filter_map(|a| parse_name(a))
        .collect();
    let archs: Vec<Arch> = SECCOMP_ARCHS.iter().filter_map(|a| parse_name(a)).collect();
    let mut s = Seccomp::default();
    s.set_enabled(Some(true));
    s.set_actions(Some(actions));
    s.set_operators(Some(
        SECCOMP_OPERATORS.iter().map(|o| o.to_string()).collect(),
    ));
    s.set_archs(Some(archs));
    s.set_known_flags(Some(
        SECCOMP_FLAGS.iter().map(|(n, _)| n.to_string()).collect(),
    ));
    s.set_supported_flags(Some(
        SECCOMP_FLAGS
            .iter()
            .filter(|(_, bit)| crate::seccomp::filter_flag_supported(*bit))
            .map(|(n, _)| n.to_string())
            .collect(),
    ));
    s
}

/// A spec enum from its config.json name.
fn parse_name<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// berth's own facts, named like runc's `org.opencontainers.runc.*` annotations.
fn annotations() -> HashMap<String, String> {
    let mut a = HashMap::new();
    a.insert(
        "org.berth.runtime.version".into(),
        env!("CARGO_PKG_VERSION").into(),
    );
    match berth_cgroups::host_cgroups() {
        Ok(h) => {
            let layout = serde_json::to_value(h.layout)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            a.insert("org.berth.cgroup.layout".into(), layout.unwrap_or_default());
            a.insert(
                "org.berth.cgroup.controllers".into(),
                h.controllers.into_iter().collect::<Vec<_>>().join(","),
            );
            a.insert(
                "org.berth.cgroup.deviceFilter".into(),
                if h.bpf_device_filter { "ebpf" } else { "v1" }.into(),
            );
        }
        Err(e) => tracing::debug!("features: detecting cgroups: {e}"),
    }
    if let Some(v) = crate::seccomp::library_version() {
        a.insert("org.berth.libseccomp.version".into(), v);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rootfs::mount_options;

    #[test]
    fn the_listed_mount_options_are_exactly_those_parse_applies() {
        let listed = features().mount_options().clone().expect("mount options");
        for opt in &listed {
            let parsed = mount_options::parse(std::slice::from_ref(opt))
                .unwrap_or_else(|e| panic!("{opt} is listed but refused: {e}"));
            assert!(
                parsed.data.is_empty(),
                "{opt} would be passed through as fs data"
            );
        }
        // Every option runc 1.1.5 lists (`runc features` on this machine) but "remount",
        // which berth refuses.
        let runc_1_1 = [
            "acl",
            "async",
            "atime",
            "bind",
            "defaults",
            "dev",
            "diratime",
            "dirsync",
            "exec",
            "iversion",
            "lazytime",
            "loud",
            "mand",
            "noacl",
            "noatime",
            "nodev",
            "nodiratime",
            "noexec",
            "noiversion",
            "nolazytime",
            "nomand",
            "norelatime",
            "nostrictatime",
            "nosuid",
            "nosymfollow",
            "private",
            "ratime",
            "rbind",
            "rdev",
            "rdiratime",
            "relatime",
            "rexec",
            "rnoatime",
            "rnodev",
            "rnodiratime",
            "rnoexec",
            "rnorelatime",
            "rnostrictatime",
            "rnosuid",
            "rnosymfollow",
            "ro",
            "rprivate",
            "rrelatime",
            "rro",
            "rrw",
            "rshared",
            "rslave",
            "rstrictatime",
            "rsuid",
            "rsymfollow",
            "runbindable",
            "rw",
            "shared",
            "silent",
            "slave",
            "strictatime",
            "suid",
            "symfollow",
            "sync",
            "tmpcopyup",
            "unbindable",
        ];
        assert_eq!(listed, runc_1_1);
        for refused in ["idmap", "ridmap", "copy-symlink", "remount"] {
            assert!(
                mount_options::parse(&[refused.to_string()]).is_err(),
                "{refused}"
            );
        }
        let ext = features()
            .linux()
            .clone()
            .and_then(|l| l.mount_extensions().clone());
        assert_eq!(
            ext.and_then(|e| e.idmap().clone())
                .and_then(|i| *i.enabled()),
            Some(false)
        );
    }

    #[test]
    fn every_listed_seccomp_name_parses_as_the_spec_type() {
        let f = features();
        let s = f
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().clone())
            .expect("seccomp");
        assert_eq!(
            s.actions().as_ref().map(Vec::len),
            Some(SECCOMP_ACTIONS.len())
        );
        assert_eq!(s.archs().as_ref().map(Vec::len), Some(SECCOMP_ARCHS.len()));
        for op in SECCOMP_OPERATORS {
            let parsed: Result<oci_spec::runtime::LinuxSeccompOperator, _> =
                serde_json::from_value(serde_json::Value::String(op.into()));
            assert!(parsed.is_ok(), "{op}");
        }
    }

    #[test]
    fn json_has_the_runc_shape() {
        let v = serde_json::to_value(features()).expect("JSON");
        assert_eq!(v["ociVersionMin"], "1.0.0");
        assert_eq!(v["hooks"][0], "prestart");
        assert!(
            v["linux"]["capabilities"]
                .as_array()
                .is_some_and(|c| c.iter().any(|x| x == "CAP_SYS_ADMIN"))
        );
        assert!(
            v["linux"]["namespaces"]
                .as_array()
                .is_some_and(|n| n.iter().any(|x| x == "mount"))
        );
        assert_eq!(v["linux"]["cgroup"]["systemd"], false);
    }
}

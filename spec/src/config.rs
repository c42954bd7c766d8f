//! The default config.json (`berth-runtime spec`).
//!
//! Without flags it is what `runc spec` (1.1) writes, value for value (compare with
//! `jq -S`): a bundle made by either runtime runs the same under both, and scripts and
//! clients written against runc's default (its hostname, its namespaces, its `exec` view
//! of `/proc/self/cgroup`) see nothing else. The one deliberate difference is
//! `ociVersion`: it names the runtime-spec version berth implements, as `runc spec` names
//! runc's.
//!
//! `--hardened` ([`Profile::Hardened`]) is berth's opt-in hardening on top: the default
//! seccomp profile (as Docker, Podman and containerd's CRI give a container without
//! asking), a cgroup namespace, `/sys/devices/virtual/powercap` masked, no ambient
//! capabilities, and hostname `berth`.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::Path;

use oci_spec::runtime::Spec;
use serde::Serialize;
use serde_json::{Value, json};

use crate::{Error, OCI_VERSION, Result, seccomp};

/// Masked by `--hardened` on top of runc's list: RAPL energy counters leak what other
/// tenants compute (CVE-2020-8694 "Platypus"; runc's own default masks it since 1.2).
pub const HARDENED_MASKED_PATHS: &[&str] = &["/sys/devices/virtual/powercap"];

/// The hostname `--hardened` writes (runc's default is "runc").
pub const HARDENED_HOSTNAME: &str = "berth";

/// Which default `spec` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Exactly runc's default.
    Runc,
    /// runc's default plus berth's hardening; `seccomp: false` leaves the profile out.
    Hardened { seccomp: bool },
}

/// `runc spec`'s config (runc 1.1 `libcontainer/specconv.Example`), with berth's
/// `ociVersion`.
fn runc_default() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            // No inheritable set (CVE-2022-29162, dropped by runc 1.1.2); the ambient set
            // is runc's, and stays without effect for the same reason.
            "capabilities": {
                "bounding": caps,
                "effective": caps,
                "permitted": caps,
                "ambient": caps
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                {"type": "mount"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// The config `spec` writes: runc's default, for `rootless` turned into runc's rootless
/// one (`spec --rootless`, mapping root to the caller's effective ids). A JSON value, not
/// a [`Spec`], so that arrays keep runc's order (oci-spec keeps capabilities in sets); it
/// is checked to parse as a [`Spec`].
pub fn default_config(rootless: bool, profile: Profile) -> Result<Value> {
    let mut config = runc_default();
    if let Profile::Hardened { seccomp } = profile {
        harden(&mut config, seccomp)?;
    }
    if rootless {
        make_rootless(&mut config);
    }
    serde_json::from_value::<Spec>(config.clone())
        .map_err(|e| Error::InvalidArgument(format!("the default spec does not parse: {e}")))?;
    Ok(config)
}

/// The array at `pointer` in `config` (every one touched here is in runc's default).
fn array_at<'a>(config: &'a mut Value, pointer: &str) -> Option<&'a mut Vec<Value>> {
    config.pointer_mut(pointer).and_then(Value::as_array_mut)
}

fn harden(config: &mut Value, with_seccomp: bool) -> Result<()> {
    config["hostname"] = json!(HARDENED_HOSTNAME);
    // runc's ambient set cannot be raised without an inheritable one (the runtime skips
    // it with a warning): leaving it out says what the container really gets.
    if let Some(Value::Object(caps)) = config.pointer_mut("/process/capabilities") {
        caps.remove("ambient");
    }
    if let Some(masked) = array_at(config, "/linux/maskedPaths") {
        masked.extend(HARDENED_MASKED_PATHS.iter().map(|p| json!(p)));
    }
    if let Some(namespaces) = array_at(config, "/linux/namespaces") {
        namespaces.push(json!({"type": "cgroup"}));
    }
    if with_seccomp {
        config["linux"]["seccomp"] = serde_json::to_value(seccomp::default_profile())
            .map_err(|e| Error::InvalidArgument(format!("serializing the seccomp profile: {e}")))?;
    }
    Ok(())
}

/// runc's `specconv.ToRootless`: no network namespace but a user namespace mapping root
/// to the caller's effective uid/gid, `/sys` bound from the host (a user namespace cannot
/// mount sysfs without its own network namespace), no `uid=`/`gid=` mount options (the
/// ids do not exist inside), and no cgroup settings (an unprivileged caller cannot make
/// them).
fn make_rootless(config: &mut Value) {
    for m in array_at(config, "/mounts").into_iter().flatten() {
        if m["destination"] == "/sys" {
            *m = json!({"destination": "/sys", "type": "none", "source": "/sys",
                        "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
        } else if let Some(Value::Array(options)) = m.get_mut("options") {
            options.retain(|o| {
                o.as_str()
                    .is_none_or(|o| !o.starts_with("gid=") && !o.starts_with("uid="))
            });
        }
    }
    if let Some(namespaces) = array_at(config, "/linux/namespaces") {
        namespaces.retain(|ns| ns["type"] != "network" && ns["type"] != "user");
        namespaces.push(json!({"type": "user"}));
    }
    let map = |host: u32| json!([{"containerID": 0, "hostID": host, "size": 1}]);
    let linux = &mut config["linux"];
    // SAFETY: geteuid and getegid cannot fail and touch no memory of ours.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    linux["uidMappings"] = map(uid);
    linux["gidMappings"] = map(gid);
    if let Value::Object(linux) = linux {
        linux.remove("resources");
    }
}

/// Write `config.json` into `bundle`, tab-indented as runc writes it; refuses to
/// overwrite one, as runc does.
pub fn write(bundle: &Path, config: &Value) -> Result<()> {
    let path = bundle.join("config.json");
    let mut data = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut data,
        serde_json::ser::PrettyFormatter::with_indent(b"\t"),
    );
    config
        .serialize(&mut ser)
        .map_err(|e| Error::InvalidArgument(format!("serializing spec: {e}")))?;
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| {
            if e.kind() == ErrorKind::AlreadyExists {
                Error::InvalidArgument(format!("{} exists; remove it first", path.display()))
            } else {
                io_err("creating", &path)(e)
            }
        })?;
    f.write_all(&data).map_err(io_err("writing", &path))
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_spec_is_runcs_default_and_parses() {
        let config = default_config(false, Profile::Runc).expect("spec");
        assert_eq!(config, runc_default());
        let spec: Spec = serde_json::from_value(config.clone()).expect("a Spec");
        assert!(spec.linux().as_ref().expect("linux").seccomp().is_none());
        assert_eq!(config["hostname"], "runc");
        // runc's order, which a Spec (capability sets) would not keep.
        assert_eq!(
            config["process"]["capabilities"]["bounding"],
            json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
        );
        assert!(
            config["process"]["capabilities"]["inheritable"].is_null(),
            "CVE-2022-29162"
        );
    }

    #[test]
    fn hardened_adds_profile_cgroupns_powercap_hostname_and_drops_ambient() {
        let v = default_config(false, Profile::Hardened { seccomp: true }).expect("spec");
        assert_eq!(v["hostname"], HARDENED_HOSTNAME);
        assert!(v["process"]["capabilities"]["ambient"].is_null());
        assert!(v["process"]["capabilities"]["inheritable"].is_null());
        let masked = v["linux"]["maskedPaths"].as_array().expect("masked");
        assert_eq!(masked.last(), Some(&json!("/sys/devices/virtual/powercap")));
        assert_eq!(
            v["linux"]["namespaces"],
            json!([{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}])
        );
        let spec: Spec = serde_json::from_value(v.clone()).expect("a Spec");
        let profile = spec
            .linux()
            .as_ref()
            .and_then(|l| l.seccomp().clone())
            .expect("default profile");
        assert_eq!(profile, seccomp::default_profile());
        // Everything else is runc's.
        let strip = |mut doc: Value| {
            for key in ["hostname", "linux", "process"] {
                doc.as_object_mut().expect("object").remove(key);
            }
            doc
        };
        assert_eq!(strip(v), strip(runc_default()));

        let v = default_config(false, Profile::Hardened { seccomp: false }).expect("spec");
        assert!(v["linux"]["seccomp"].is_null());
    }

    #[test]
    fn rootless_is_runcs_rootless_transform() {
        let v = default_config(true, Profile::Runc).expect("spec");
        assert_eq!(
            v["linux"]["namespaces"],
            json!([{"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
                {"type": "mount"}, {"type": "user"}])
        );
        // SAFETY: geteuid cannot fail and touches no memory of ours.
        let euid = unsafe { libc::geteuid() };
        assert_eq!(
            v["linux"]["uidMappings"],
            json!([{"containerID": 0, "hostID": euid, "size": 1}])
        );
        assert!(v["linux"]["resources"].is_null());
        let mounts = v["mounts"].as_array().expect("mounts");
        let sys = mounts
            .iter()
            .find(|m| m["destination"] == "/sys")
            .expect("/sys");
        assert_eq!(
            sys,
            &json!({"destination": "/sys", "type": "none", "source": "/sys",
                "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
        );
        let devpts = mounts
            .iter()
            .find(|m| m["destination"] == "/dev/pts")
            .expect("/dev/pts");
        assert_eq!(
            devpts["options"],
            json!([
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620"
            ])
        );
    }
}

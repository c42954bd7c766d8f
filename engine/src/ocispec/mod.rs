//! The container's OCI `config.json`, built from berth's default profile (berth-spec's
//! hardened default: seccomp, masked paths, a cgroup namespace) with docker's default
//! capabilities, then the record (image config merged with the flags) applied.
//!
//! - [`caps`]: the capability set (`--cap-add`, `--cap-drop`);
//! - [`user`]: `USER[:GROUP]` resolved in the image's own passwd and group files.

pub mod caps;
pub mod user;

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::container::record::{ContainerRecord, SeccompChoice};
use crate::error::{EngineError, Result};
use user::ResolvedUser;

/// Annotation naming the container (read by berth-exporter's discovery).
pub const ANNOTATION_NAME: &str = "berth.name";
/// Annotation naming the image as the user typed it (read by berth-exporter).
pub const ANNOTATION_IMAGE: &str = "berth.image";
/// Annotation with the image id.
pub const ANNOTATION_IMAGE_ID: &str = "berth.image-id";

/// The default `PATH` docker gives a container whose image sets none.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where the container's network namespace comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkNamespace {
    /// A new, empty one made by the runtime (`--network none`).
    New,
    /// The host's (`--network host`): no network namespace in the spec.
    Host,
    /// One made by the network helper (bridge networks), joined by path.
    Path(PathBuf),
}

/// Everything the spec needs besides the record.
#[derive(Debug, Clone)]
pub struct SpecInputs<'a> {
    pub record: &'a ContainerRecord,
    pub user: ResolvedUser,
    pub network: NetworkNamespace,
    /// Extra OCI mounts (volumes, `/etc/hosts` & co.), as `{destination, type, source,
    /// options}` objects, appended after the default ones.
    pub mounts: Vec<Value>,
    /// The OCI runtime is a peer (runc, crun), not berth-runtime: the spec is written as
    /// their releases here take it ([`PEER_OCI_VERSION`], no seccomp `flags`).
    pub peer_runtime: bool,
}

/// The `ociVersion` written for peer runtimes: runc 1.1 and crun 1.8 refuse 1.2.0
/// ("unknown version specified"); docker and podman write this one.
pub const PEER_OCI_VERSION: &str = "1.0.2-dev";

/// True when `runtime` (a path or name) is not berth-runtime.
pub fn is_peer_runtime(runtime: &std::path::Path) -> bool {
    runtime.file_name().and_then(|n| n.to_str()) != Some("berth-runtime")
}

/// The cgroupsPath of a container: `/berth/<id>` (absolute, so that runc and crun put it
/// where berth-runtime does).
pub fn cgroups_path(id: &str) -> String {
    format!("/berth/{id}")
}

/// Builds the container's config.json.
pub fn build(inputs: &SpecInputs<'_>) -> Result<Value> {
    let record = inputs.record;
    let process = &record.process;
    let host = &record.host;
    let mut spec =
        berth_spec::default_config(false, berth_spec::Profile::Hardened { seccomp: false })
            .map_err(|e| EngineError::InvalidArgument(format!("building the default spec: {e}")))?;

    let args = process.args();
    if args.is_empty() {
        return Err(EngineError::InvalidArgument(
            "no command specified: the image has no Entrypoint or Cmd, give one after the image"
                .into(),
        ));
    }
    let mut env = process.env.clone();
    let has = |env: &[String], key: &str| env.iter().any(|e| e.split('=').next() == Some(key));
    if !has(&env, "PATH") {
        env.insert(0, DEFAULT_PATH.to_string());
    }
    if !has(&env, "HOSTNAME") {
        env.push(format!("HOSTNAME={}", process.hostname));
    }
    if process.tty && !has(&env, "TERM") {
        env.push("TERM=xterm".into());
    }
    if !has(&env, "HOME") {
        env.push(format!(
            "HOME={}",
            inputs.user.home.as_deref().unwrap_or("/")
        ));
    }
    let caps: Vec<String> = caps::effective_set(&host.cap_add, &host.cap_drop)?
        .into_iter()
        .collect();
    let cwd = if process.working_dir.is_empty() {
        "/".to_string()
    } else {
        process.working_dir.clone()
    };
    let mut user = json!({"uid": inputs.user.uid, "gid": inputs.user.gid});
    if !inputs.user.additional_gids.is_empty() {
        user["additionalGids"] = json!(inputs.user.additional_gids);
    }
    // No rlimits: the process keeps the engine's (as docker's containers keep dockerd's),
    // which a host without CAP_SYS_RESOURCE for us could not raise anyway.
    spec["process"] = json!({
        "terminal": process.tty,
        "user": user,
        "args": args,
        "env": env,
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        // The monitor runs with a low oom_score_adj; the container must not inherit it.
        "oomScoreAdj": 0,
        "noNewPrivileges": false,
    });
    spec["root"] = json!({"path": "rootfs", "readonly": host.read_only});
    spec["hostname"] = json!(process.hostname);
    if let Some(mounts) = spec["mounts"].as_array_mut() {
        mounts.extend(inputs.mounts.iter().cloned());
    }

    let linux = &mut spec["linux"];
    if let Some(namespaces) = linux["namespaces"].as_array_mut() {
        match &inputs.network {
            NetworkNamespace::New => {}
            NetworkNamespace::Host => namespaces.retain(|ns| ns["type"] != "network"),
            NetworkNamespace::Path(p) => {
                for ns in namespaces.iter_mut().filter(|ns| ns["type"] == "network") {
                    ns["path"] = json!(p);
                }
            }
        }
    }
    set_sysctls(linux, &host.sysctls, &inputs.network);
    linux["cgroupsPath"] = json!(cgroups_path(&record.id));
    let resources = &mut linux["resources"];
    if let Some(memory) = host.memory {
        resources["memory"] = json!({"limit": memory});
    }
    if let Some(cpus) = host.cpus {
        let period: u64 = 100_000;
        resources["cpu"] =
            json!({"quota": (cpus * period as f64).round() as i64, "period": period});
    }
    if let Some(pids) = host.pids_limit {
        resources["pids"] = json!({"limit": pids});
    }
    match &host.seccomp {
        SeccompChoice::Default => {
            let set: oci_spec::runtime::Capabilities = caps
                .iter()
                .filter_map(|c| serde_json::from_value(json!(c)).ok())
                .collect();
            linux["seccomp"] = serde_json::to_value(berth_spec::seccomp::default_profile_for(&set))
                .map_err(|e| {
                    EngineError::InvalidArgument(format!("serializing the seccomp profile: {e}"))
                })?;
        }
        SeccompChoice::Unconfined => {}
        SeccompChoice::Profile(p) => linux["seccomp"] = p.clone(),
    }

    let mut annotations: serde_json::Map<String, Value> = process
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    annotations.insert(ANNOTATION_NAME.into(), json!(record.name));
    annotations.insert(ANNOTATION_IMAGE.into(), json!(record.image));
    annotations.insert(ANNOTATION_IMAGE_ID.into(), json!(record.image_id));
    spec["annotations"] = Value::Object(annotations);

    if inputs.peer_runtime {
        spec["ociVersion"] = json!(PEER_OCI_VERSION);
        // runc 1.1: "seccomp flags are not yet supported"; the flag (LOG, for the
        // exporter's audit records) is berth-runtime's to honour.
        if let Some(Value::Object(seccomp)) = spec["linux"].get_mut("seccomp") {
            seccomp.remove("flags");
        }
    }
    serde_json::from_value::<oci_spec::runtime::Spec>(spec.clone()).map_err(|e| {
        EngineError::InvalidArgument(format!("the generated spec does not parse: {e}"))
    })?;
    Ok(spec)
}

/// Kernel parameters docker (20.10+) sets in a container with its own network
/// namespace, so that a non-root process can bind ports below 1024 and `ping` with an
/// ICMP socket; the host's own values stay with `--network host`.
pub const NETNS_SYSCTLS: [(&str, &str); 2] = [
    ("net.ipv4.ip_unprivileged_port_start", "0"),
    ("net.ipv4.ping_group_range", "0 2147483647"),
];

/// `linux.sysctl`: the user's `--sysctl`s, then [`NETNS_SYSCTLS`] where the user set
/// none of those keys and the container has a network namespace of its own.
fn set_sysctls(
    linux: &mut Value,
    user: &std::collections::BTreeMap<String, String>,
    network: &NetworkNamespace,
) {
    let mut sysctl = match linux.get("sysctl") {
        Some(Value::Object(m)) => m.clone(),
        _ => serde_json::Map::new(),
    };
    for (k, v) in user {
        sysctl.insert(k.clone(), json!(v));
    }
    if *network != NetworkNamespace::Host {
        for (k, v) in NETNS_SYSCTLS {
            sysctl.entry(k).or_insert_with(|| json!(v));
        }
    }
    if !sysctl.is_empty() {
        linux["sysctl"] = Value::Object(sysctl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::{HostConfig, ProcessConfig};

    fn record() -> ContainerRecord {
        ContainerRecord {
            id: "ab".repeat(32),
            name: "web".into(),
            created: berth_state::Timestamp::now(),
            image: "busybox".into(),
            image_id: "sha256:1234".into(),
            process: ProcessConfig {
                entrypoint: vec!["/bin/sh".into(), "-c".into()],
                cmd: vec!["echo hi".into()],
                env: vec!["FOO=bar".into()],
                working_dir: "/tmp".into(),
                hostname: "abababababab".into(),
                ..Default::default()
            },
            host: HostConfig {
                memory: Some(32 << 20),
                cpus: Some(1.5),
                pids_limit: Some(100),
                read_only: true,
                cap_add: vec!["SYS_ADMIN".into()],
                cap_drop: vec!["NET_RAW".into()],
                ..Default::default()
            },
            network_attachment: None,
        }
    }

    #[test]
    fn the_record_lands_in_the_spec() {
        let r = record();
        let spec = build(&SpecInputs {
            record: &r,
            user: ResolvedUser { uid: 33, gid: 33, additional_gids: vec![50], home: Some("/var/www".into()) },
            network: NetworkNamespace::Path("/run/berth/netns/x".into()),
            mounts: vec![json!({"destination": "/data", "type": "bind", "source": "/tmp", "options": ["rbind"]})],
            peer_runtime: false,
        })
        .expect("spec");
        assert_eq!(spec["process"]["args"], json!(["/bin/sh", "-c", "echo hi"]));
        assert_eq!(spec["process"]["cwd"], "/tmp");
        assert_eq!(
            spec["process"]["user"],
            json!({"uid": 33, "gid": 33, "additionalGids": [50]})
        );
        let env: Vec<String> = serde_json::from_value(spec["process"]["env"].clone()).expect("env");
        assert!(env.contains(&"FOO=bar".into()) && env.contains(&"HOME=/var/www".into()));
        assert!(
            env.iter().any(|e| e.starts_with("PATH="))
                && env.contains(&"HOSTNAME=abababababab".into())
        );
        let caps = spec["process"]["capabilities"]["bounding"]
            .as_array()
            .expect("caps");
        assert!(caps.contains(&json!("CAP_SYS_ADMIN")) && !caps.contains(&json!("CAP_NET_RAW")));
        assert_eq!(spec["root"]["readonly"], true);
        assert_eq!(spec["linux"]["cgroupsPath"], format!("/berth/{}", r.id));
        assert_eq!(spec["linux"]["resources"]["memory"]["limit"], 32 << 20);
        assert_eq!(spec["linux"]["resources"]["cpu"]["quota"], 150_000);
        assert_eq!(spec["linux"]["resources"]["pids"]["limit"], 100);
        assert_eq!(spec["annotations"]["berth.name"], "web");
        assert_eq!(spec["annotations"]["berth.image"], "busybox");
        assert!(
            spec["linux"]["seccomp"]["syscalls"].is_array(),
            "default seccomp profile"
        );
        let net = spec["linux"]["namespaces"]
            .as_array()
            .expect("ns")
            .iter()
            .find(|n| n["type"] == "network")
            .cloned();
        assert_eq!(
            net,
            Some(json!({"type": "network", "path": "/run/berth/netns/x"}))
        );
        assert!(
            spec["mounts"]
                .as_array()
                .expect("mounts")
                .iter()
                .any(|m| m["destination"] == "/data")
        );
        assert!(
            spec["linux"]["maskedPaths"]
                .as_array()
                .expect("masked")
                .len()
                > 5
        );
    }

    #[test]
    fn no_command_is_a_clear_error_and_host_network_has_no_namespace() {
        let mut r = record();
        r.process.entrypoint.clear();
        r.process.cmd.clear();
        let e = build(&SpecInputs {
            record: &r,
            user: ResolvedUser::default(),
            network: NetworkNamespace::Host,
            mounts: vec![],
            peer_runtime: true,
        })
        .expect_err("no command");
        assert!(e.to_string().contains("no command specified"), "{e}");
        r.process.cmd = vec!["true".into()];
        r.host.seccomp = SeccompChoice::Unconfined;
        let spec = build(&SpecInputs {
            record: &r,
            user: ResolvedUser::default(),
            network: NetworkNamespace::Host,
            mounts: vec![],
            peer_runtime: true,
        })
        .expect("spec");
        assert_eq!(spec["ociVersion"], PEER_OCI_VERSION);
        assert!(
            !spec["linux"]["namespaces"]
                .as_array()
                .expect("ns")
                .iter()
                .any(|n| n["type"] == "network")
        );
        assert!(spec["linux"].get("seccomp").is_none());
    }

    #[test]
    fn a_network_namespace_of_its_own_gets_dockers_port_and_ping_sysctls() {
        let mut r = record();
        let spec_for = |r: &ContainerRecord, network: NetworkNamespace| {
            build(&SpecInputs {
                record: r,
                user: ResolvedUser::default(),
                network,
                mounts: vec![],
                peer_runtime: false,
            })
            .expect("spec")
        };
        for network in [
            NetworkNamespace::New,
            NetworkNamespace::Path("/run/berth/netns/x".into()),
        ] {
            let spec = spec_for(&r, network);
            assert_eq!(
                spec["linux"]["sysctl"],
                json!({
                    "net.ipv4.ip_unprivileged_port_start": "0",
                    "net.ipv4.ping_group_range": "0 2147483647",
                })
            );
        }
        assert!(
            spec_for(&r, NetworkNamespace::Host)["linux"]
                .get("sysctl")
                .is_none(),
            "--network host keeps the host's values"
        );
        r.host.sysctls = [
            (
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "1024".to_string(),
            ),
            ("net.ipv4.ip_forward".to_string(), "1".to_string()),
        ]
        .into();
        let spec = spec_for(&r, NetworkNamespace::New);
        assert_eq!(
            spec["linux"]["sysctl"],
            json!({
                "net.ipv4.ip_unprivileged_port_start": "1024",
                "net.ipv4.ping_group_range": "0 2147483647",
                "net.ipv4.ip_forward": "1",
            })
        );
    }
}

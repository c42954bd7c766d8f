//! `create`: a container record from an image and the flags, with docker's merge of the
//! image config (Entrypoint, Cmd, Env, WorkingDir, User, StopSignal) and the flags.
//! Nothing runs yet: `start` mounts the rootfs and spawns the monitor.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::container::image::{self, ImageInfo};
use crate::container::record::{
    ContainerRecord, DEFAULT_LOG_MAX_FILES, DEFAULT_LOG_MAX_SIZE, HostConfig, ProcessConfig,
    SeccompChoice,
};
use crate::container::{hostname, id, names, store};
use crate::error::{EngineError, Result, io_err};
use crate::paths::StorePaths;

/// `create`/`run` flags, as the CLI and the API server fill them.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The image as typed (`busybox`, `busybox:latest`, an id prefix).
    pub image: String,
    /// Words after the image: replace the image's Cmd.
    pub cmd: Vec<String>,
    pub name: Option<String>,
    /// `--entrypoint`: replaces the image's Entrypoint (and drops its Cmd); "" clears it.
    pub entrypoint: Option<String>,
    /// `-e KEY=VALUE` (or `-e KEY`: the caller's value, if set).
    pub env: Vec<String>,
    /// `--env-file`: KEY=VALUE lines, `#` comments.
    pub env_files: Vec<PathBuf>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub tty: bool,
    pub open_stdin: bool,
    pub auto_remove: bool,
    /// `--memory` as docker takes it (`32m`, `1g`, `1048576`).
    pub memory: Option<String>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--security-opt` values; `seccomp=unconfined` and `seccomp=FILE` are understood.
    pub security_opt: Vec<String>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<u32>,
    /// `--network`; None = the default bridge network.
    pub network: Option<String>,
    pub publish: Vec<String>,
    pub volumes: Vec<String>,
    /// `--label KEY=VALUE`.
    pub labels: Vec<String>,
    /// `--runtime`: an OCI runtime for this container.
    pub runtime: Option<PathBuf>,
    /// `--log-opt` values of the json-file driver: `max-size=10m`, `max-file=3`.
    pub log_opts: Vec<String>,
    /// `--sysctl KEY=VALUE`.
    pub sysctls: Vec<String>,
}

/// Parses docker's byte sizes: a number with an optional `b`, `k`, `m`, `g` (1024-based,
/// case-insensitive, an optional trailing `b` as in `32mb`).
pub fn parse_bytes(text: &str) -> Result<i64> {
    let bad = || {
        EngineError::InvalidArgument(format!(
            "invalid size {text:?}: use a number with b, k, m or g"
        ))
    };
    let t = text.trim().to_ascii_lowercase();
    let t = t
        .strip_suffix('b')
        .filter(|r| !r.is_empty() && r.ends_with(['k', 'm', 'g']))
        .unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('b') => (&t[..t.len() - 1], 1),
        _ => (t, 1),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    if !(n.is_finite() && n >= 0.0) {
        return Err(bad());
    }
    Ok((n * mult as f64) as i64)
}

/// `-e` values: `KEY=VALUE` as is, `KEY` alone takes the caller's value (dropped when
/// unset), as docker does.
fn env_entry(entry: &str) -> Option<String> {
    if entry.contains('=') {
        Some(entry.to_string())
    } else {
        std::env::var(entry).ok().map(|v| format!("{entry}={v}"))
    }
}

fn read_env_file(path: &PathBuf) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(io_err("reading the env file", path))?;
    Ok(text
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(env_entry)
        .collect())
}

/// Sets `entries` over `env`: a key already there is replaced in place.
fn merge_env(env: &mut Vec<String>, entries: impl IntoIterator<Item = String>) {
    for e in entries {
        let key = e.split('=').next().unwrap_or("").to_string();
        match env
            .iter_mut()
            .find(|x| x.split('=').next() == Some(key.as_str()))
        {
            Some(slot) => *slot = e,
            None => env.push(e),
        }
    }
}

/// The process as docker builds it from the image config and the flags.
pub fn merge_process(opts: &CreateOptions, image: &ImageInfo, id: &str) -> Result<ProcessConfig> {
    let cfg = image.config.as_ref();
    let (entrypoint, cmd) = match &opts.entrypoint {
        // An --entrypoint drops the image's Cmd: only the words after the image follow.
        Some(ep) => {
            let ep = if ep.is_empty() {
                Vec::new()
            } else {
                vec![ep.clone()]
            };
            (ep, opts.cmd.clone())
        }
        None => {
            let ep = cfg.and_then(|c| c.entrypoint().clone()).unwrap_or_default();
            let cmd = if opts.cmd.is_empty() {
                cfg.and_then(|c| c.cmd().clone()).unwrap_or_default()
            } else {
                opts.cmd.clone()
            };
            (ep, cmd)
        }
    };
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(EngineError::InvalidArgument(format!(
            "no command specified: image {} has no Entrypoint or Cmd; give one after the image",
            opts.image
        )));
    }
    let mut env = cfg.and_then(|c| c.env().clone()).unwrap_or_default();
    for f in &opts.env_files {
        merge_env(&mut env, read_env_file(f)?);
    }
    merge_env(&mut env, opts.env.iter().filter_map(|e| env_entry(e)));
    let working_dir = opts
        .workdir
        .clone()
        .or_else(|| cfg.and_then(|c| c.working_dir().clone()))
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    if !working_dir.starts_with('/') {
        return Err(EngineError::InvalidArgument(format!(
            "the working directory '{working_dir}' is invalid, it needs to be an absolute path"
        )));
    }
    let user = opts
        .user
        .clone()
        .or_else(|| cfg.and_then(|c| c.user().clone()))
        .unwrap_or_default();
    let stop_signal = opts
        .stop_signal
        .clone()
        .or_else(|| cfg.and_then(|c| c.stop_signal().clone()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "SIGTERM".into());
    crate::ops::kill::parse_signal(&stop_signal)?;
    let mut labels: BTreeMap<String, String> = cfg
        .and_then(|c| c.labels().clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    for l in &opts.labels {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        labels.insert(k.to_string(), v.to_string());
    }
    // Checked here, at create: it goes into /etc/hosts lines (this container's and its
    // network peers') and to sethostname(2), which would only fail at start.
    let hostname = match &opts.hostname {
        Some(h) => {
            hostname::validate(h)?;
            h.clone()
        }
        // docker: a container on the host's network is named as the host is.
        None if uses_host_network(opts) => nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| hostname::validate(h).is_ok())
            .unwrap_or_else(|| id::short(id).to_string()),
        None => id::short(id).to_string(),
    };
    Ok(ProcessConfig {
        entrypoint,
        cmd,
        env,
        working_dir,
        user,
        hostname,
        stop_signal,
        stop_timeout: opts.stop_timeout,
        tty: opts.tty,
        open_stdin: opts.open_stdin,
        labels,
    })
}

fn host_config(opts: &CreateOptions) -> Result<HostConfig> {
    let mut seccomp = SeccompChoice::Default;
    for o in &opts.security_opt {
        let (key, value) = o.split_once(['=', ':']).unwrap_or((o.as_str(), ""));
        match (key, value) {
            ("seccomp", "unconfined") => seccomp = SeccompChoice::Unconfined,
            ("seccomp", path) if !path.is_empty() => {
                let text = std::fs::read_to_string(path)
                    .map_err(io_err("reading the seccomp profile", path))?;
                let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                    EngineError::InvalidArgument(format!(
                        "the seccomp profile {path} is not JSON: {e}"
                    ))
                })?;
                serde_json::from_value::<oci_spec::runtime::LinuxSeccomp>(v.clone()).map_err(
                    |e| {
                        EngineError::InvalidArgument(format!(
                            "the seccomp profile {path} is not an OCI linux.seccomp object: {e}"
                        ))
                    },
                )?;
                seccomp = SeccompChoice::Profile(v);
            }
            _ => {
                return Err(EngineError::InvalidArgument(format!(
                    "unsupported --security-opt {o:?}: berth takes seccomp=unconfined or seccomp=FILE"
                )));
            }
        }
    }
    if let Some(c) = opts.cpus
        && !(c.is_finite() && c > 0.0)
    {
        return Err(EngineError::InvalidArgument(format!(
            "invalid --cpus {c}: give a positive number"
        )));
    }
    // Checked now, so that a bad flag fails `create`, not the later `start`.
    crate::ocispec::caps::effective_set(&opts.cap_add, &opts.cap_drop)?;
    for v in &opts.volumes {
        crate::volume::VolumeSpec::parse(v)
            .map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
    }
    for p in &opts.publish {
        crate::network::parse_publish(p)
            .map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
    }
    if let Some(n) = &opts.network {
        crate::network::NetworkMode::parse(n)
            .map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
    }
    let (mut log_max_size, mut log_max_files) = (DEFAULT_LOG_MAX_SIZE, DEFAULT_LOG_MAX_FILES);
    for o in &opts.log_opts {
        match o.split_once('=') {
            Some(("max-size", v)) => log_max_size = parse_bytes(v)?.max(0) as u64,
            Some(("max-file", v)) => {
                log_max_files = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    EngineError::InvalidArgument(format!(
                        "invalid --log-opt {o:?}: max-file takes a number from 1"
                    ))
                })?
            }
            _ => {
                return Err(EngineError::InvalidArgument(format!(
                    "unsupported --log-opt {o:?}: the json-file log takes max-size and max-file"
                )));
            }
        }
    }
    let mut sysctls = std::collections::BTreeMap::new();
    for s in &opts.sysctls {
        match s.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                sysctls.insert(k.trim().to_string(), v.to_string());
            }
            _ => {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid --sysctl {s:?}: give KEY=VALUE"
                )));
            }
        }
    }
    let memory = opts.memory.as_deref().map(parse_bytes).transpose()?;
    if let Some(m) = memory
        && m < 6 << 20
    {
        return Err(EngineError::InvalidArgument(
            "minimum memory limit allowed is 6MB".into(),
        ));
    }
    Ok(HostConfig {
        auto_remove: opts.auto_remove,
        memory,
        cpus: opts.cpus,
        pids_limit: opts.pids_limit,
        read_only: opts.read_only,
        cap_add: opts.cap_add.clone(),
        cap_drop: opts.cap_drop.clone(),
        seccomp,
        network: opts.network.clone().unwrap_or_default(),
        publish: opts.publish.clone(),
        volumes: opts.volumes.clone(),
        runtime: opts.runtime.clone(),
        log_max_size,
        log_max_files,
        sysctls,
    })
}

/// True when `--network host` was asked for.
fn uses_host_network(opts: &CreateOptions) -> bool {
    opts.network.as_deref().is_some_and(|n| {
        crate::network::NetworkMode::parse(n).ok() == Some(crate::network::NetworkMode::Host)
    })
}

/// What docker warns about for these options (its create response's `Warnings`), each
/// a sentence without the `WARNING: ` the CLI puts before it.
pub fn warnings(opts: &CreateOptions) -> Vec<String> {
    let mut out = Vec::new();
    if uses_host_network(opts) && !opts.publish.is_empty() {
        out.push("Published ports are discarded when using host network mode".to_string());
    }
    out
}

/// Creates a container: checks the flags, resolves the image, stages its directory,
/// reserves the name, and publishes the directory with its record under the id (so a
/// `create` killed at any point leaves no half container). Errors: a bad flag, an
/// unknown image, a name in use.
pub fn create(paths: &StorePaths, opts: &CreateOptions) -> Result<ContainerRecord> {
    let host = host_config(opts)?;
    let image = image::resolve(paths, &opts.image)?;
    let id = id::generate()?;
    let process = merge_process(opts, &image, &id)?;
    let wanted = opts
        .name
        .as_deref()
        .map(names::validate)
        .transpose()?
        .map(str::to_string);
    store::sweep_staging(paths);
    let staged = store::stage(paths, &id)?;
    let reserved = match &wanted {
        Some(n) => names::reserve(&paths.root, n, &id).map(|()| n.clone()),
        None => names::reserve_generated(&paths.root, &id),
    };
    let name = match reserved {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staged.dir);
            return Err(e);
        }
    };
    let record = ContainerRecord {
        id,
        name,
        created: berth_state::Timestamp::now(),
        image: opts.image.clone(),
        image_id: image.id,
        process,
        host,
        network_attachment: None,
    };
    if let Err(e) = store::publish(paths, &record) {
        let _ = names::release(&paths.root, &record.name, &record.id);
        let _ = std::fs::remove_dir_all(&staged.dir);
        return Err(e);
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_docker_parses_them() {
        assert_eq!(parse_bytes("32m").expect("32m"), 32 << 20);
        assert_eq!(parse_bytes("32MB").expect("32MB"), 32 << 20);
        assert_eq!(parse_bytes("1g").expect("1g"), 1 << 30);
        assert_eq!(parse_bytes("512k").expect("512k"), 512 << 10);
        assert_eq!(parse_bytes("1048576").expect("bytes"), 1 << 20);
        assert_eq!(parse_bytes("1.5k").expect("fraction"), 1536);
        for bad in ["", "m", "-1m", "12x", "nanm"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn image(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageInfo {
        let mut c = oci_spec::image::Config::default();
        c.set_entrypoint(entrypoint.map(|v| v.iter().map(|s| s.to_string()).collect()));
        c.set_cmd(cmd.map(|v| v.iter().map(|s| s.to_string()).collect()));
        c.set_env(Some(vec!["PATH=/bin".into(), "A=image".into()]));
        c.set_working_dir(Some("/srv".into()));
        c.set_user(Some("www".into()));
        c.set_stop_signal(Some("SIGQUIT".into()));
        ImageInfo {
            id: "sha256:00".into(),
            config: Some(c),
        }
    }

    #[test]
    fn image_config_and_flags_merge_as_docker_merges_them() {
        let id = "ab".repeat(32);
        let img = image(Some(&["/entry"]), Some(&["default", "args"]));
        let opts = CreateOptions {
            image: "x".into(),
            ..Default::default()
        };
        let p = merge_process(&opts, &img, &id).expect("defaults");
        assert_eq!(p.args(), vec!["/entry", "default", "args"]);
        assert_eq!(
            (
                p.working_dir.as_str(),
                p.user.as_str(),
                p.stop_signal.as_str()
            ),
            ("/srv", "www", "SIGQUIT")
        );
        assert_eq!(p.hostname, "abababababab");

        let opts = CreateOptions {
            image: "x".into(),
            cmd: vec!["mine".into()],
            env: vec!["A=flag".into(), "B=2".into()],
            workdir: Some("/w".into()),
            user: Some("0:0".into()),
            stop_signal: Some("SIGUSR1".into()),
            ..Default::default()
        };
        let p = merge_process(&opts, &img, &id).expect("flags");
        assert_eq!(p.args(), vec!["/entry", "mine"]);
        assert_eq!(p.env, vec!["PATH=/bin", "A=flag", "B=2"]);
        assert_eq!(
            (
                p.working_dir.as_str(),
                p.user.as_str(),
                p.stop_signal.as_str()
            ),
            ("/w", "0:0", "SIGUSR1")
        );

        let opts = CreateOptions {
            image: "x".into(),
            entrypoint: Some("/bin/sh".into()),
            ..Default::default()
        };
        assert_eq!(
            merge_process(&opts, &img, &id).expect("entrypoint").args(),
            vec!["/bin/sh"],
            "the image's Cmd is dropped"
        );

        let none = image(None, None);
        let e = merge_process(
            &CreateOptions {
                image: "empty".into(),
                ..Default::default()
            },
            &none,
            &id,
        )
        .expect_err("no cmd");
        assert!(e.to_string().contains("no command specified"), "{e}");
        let bad = CreateOptions {
            image: "x".into(),
            workdir: Some("rel".into()),
            ..Default::default()
        };
        assert!(merge_process(&bad, &img, &id).is_err());
    }
}

//! Loading and validating a bundle's `config.json`, before anything on the system changes.

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Error, Result, io_err};

/// A parsed bundle: the spec plus the absolute paths derived from it.
#[derive(Debug)]
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    /// Absolute, canonical rootfs path.
    pub rootfs: PathBuf,
}

impl Bundle {
    pub fn load(dir: &Path) -> Result<Self> {
        let dir = fs::canonicalize(dir).map_err(io_err("opening bundle", dir))?;
        let path = dir.join("config.json");
        let data = fs::read(&path).map_err(io_err("reading", &path))?;
        let json_err = |e: serde_json::Error| Error::Config {
            path: path.clone(),
            msg: e.to_string(),
        };
        let mut raw: serde_json::Value = serde_json::from_slice(&data).map_err(json_err)?;
        // runc ignores capability names it does not know (with a warning); oci-spec would
        // refuse the whole file for one.
        crate::capabilities::drop_unknown_names(raw.pointer_mut("/process/capabilities"))?;
        let mut spec: Spec = serde_json::from_value(raw).map_err(json_err)?;
        let root = spec
            .root()
            .as_ref()
            .ok_or_else(|| config_err(&path, "root is missing"))?;
        let rootfs = dir.join(root.path());
        let rootfs = fs::canonicalize(&rootfs).map_err(io_err("opening rootfs", &rootfs))?;
        if !rootfs.is_dir() {
            return Err(config_err(
                &path,
                format!("rootfs {} is not a directory", rootfs.display()),
            ));
        }
        validate(&spec, &path)?;
        merge_env(&mut spec, &path)?;
        anchor_bind_sources(&mut spec, &dir);
        Ok(Self { dir, spec, rootfs })
    }
}

/// Relative bind sources are relative to the bundle (runtime-spec config.md), not to
/// wherever the runtime happened to be started.
fn anchor_bind_sources(spec: &mut Spec, bundle: &Path) {
    let Some(mounts) = spec.mounts_mut() else {
        return;
    };
    for m in mounts.iter_mut() {
        let is_bind = m.typ().as_deref() == Some("bind")
            || m.options()
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|o| o == "bind" || o == "rbind");
        if let Some(src) = m.source().clone()
            && is_bind
            && src.is_relative()
        {
            m.set_source(Some(bundle.join(src)));
        }
    }
}

/// `process.env` checked and merged as runc's init does ([`crate::process_env`]), so a bad
/// entry is refused before anything is created.
fn merge_env(spec: &mut Spec, path: &Path) -> Result<()> {
    if let Some(process) = spec.process_mut()
        && let Some(env) = process.env()
    {
        let env = crate::process_env::parse(env)
            .map_err(|e| config_err(path, format!("process.env: {e}")))?;
        process.set_env(Some(env));
    }
    Ok(())
}

fn config_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// The checks serde cannot make: things that would otherwise fail half-way through create.
fn validate(spec: &Spec, path: &Path) -> Result<()> {
    // runc 1.1 runs any ociVersion ("", "0.9", "2.0.0"): the fields decide, not the label.
    let version = spec.version();
    if !version.starts_with("1.") {
        tracing::warn!(
            "ociVersion {version:?} is not 1.x; reading {} as a 1.x spec",
            path.display()
        );
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| config_err(path, "process is missing"))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(config_err(path, "process.args must not be empty"));
    }
    if !process.cwd().is_absolute() {
        return Err(config_err(
            path,
            format!("process.cwd {:?} must be absolute", process.cwd()),
        ));
    }
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| config_err(path, "linux section is missing"))?;
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    let mut seen = Vec::new();
    for ns in namespaces {
        if seen.contains(&ns.typ()) {
            return Err(config_err(
                path,
                format!("namespace {} listed twice", ns.typ()),
            ));
        }
        seen.push(ns.typ());
        if let Some(p) = ns.path()
            && !p.is_absolute()
        {
            return Err(config_err(
                path,
                format!("namespace {} path {p:?} must be absolute", ns.typ()),
            ));
        }
    }
    let has = |t: LinuxNamespaceType| seen.contains(&t);
    let new_userns = namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    let maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new_userns && !maps {
        return Err(config_err(
            path,
            "a new user namespace needs uidMappings and gidMappings",
        ));
    }
    if !has(LinuxNamespaceType::User) && maps {
        return Err(config_err(
            path,
            "uidMappings/gidMappings given without a user namespace",
        ));
    }
    crate::sysctl::validate_uts_names(
        spec.hostname().as_deref(),
        spec.domainname().as_deref(),
        namespaces,
    )
    .map_err(|e| config_err(path, e.to_string()))?;
    if !has(LinuxNamespaceType::Mount) {
        return Err(config_err(path, "a mount namespace is required"));
    }
    if let Some(p) = linux.rootfs_propagation()
        && crate::rootfs::mount_options::propagation_flag(p).is_none()
    {
        return Err(config_err(path, format!("unknown rootfsPropagation {p:?}")));
    }
    // Every mount option is applied or refused: refused here, before anything exists.
    for m in spec.mounts().as_deref().unwrap_or_default() {
        crate::rootfs::mount_options::check(m).map_err(|e| {
            config_err(path, format!("mount on {}: {e}", m.destination().display()))
        })?;
    }
    if let Some(sysctl) = linux.sysctl() {
        crate::sysctl::validate(sysctl, namespaces).map_err(|e| config_err(path, e.to_string()))?;
    }
    Ok(())
}

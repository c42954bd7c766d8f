//! Which registries berth may speak plain http to, which mirrors stand in for a
//! registry, and where credentials are kept. Read from `/etc/berth/registries.json`
//! (`BERTH_REGISTRIES_CONFIG` overrides the path; a missing file means the defaults):
//!
//! ```json
//! { "insecure-registries": ["registry.lan:5000"],
//!   "registry-mirrors": { "docker.io": ["mirror.lan:5000"] },
//!   "max-concurrent-downloads": 3 }
//! ```
//!
//! As docker does, `localhost` and `127.0.0.0/8` are always insecure (plain http) and
//! every other registry is https only. Mirrors are tried in order before the registry
//! itself, for pulls only; a mirror is spoken to over http only if it is insecure too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::RegistryError;

/// The default settings file.
pub const DEFAULT_SETTINGS: &str = "/etc/berth/registries.json";

/// Registry settings and the credential files.
#[derive(Debug, Clone, Default)]
pub struct RegistrySettings {
    /// Registries (`host[:port]`) spoken to over plain http, beyond localhost.
    pub insecure: Vec<String>,
    /// Mirrors per registry (`docker.io` -> `["mirror:5000"]`), tried first for pulls.
    pub mirrors: BTreeMap<String, Vec<String>>,
    /// berth's own credentials (`berth login`): `BERTH_AUTH_FILE`, else
    /// `$XDG_CONFIG_HOME/berth/auth.json`, else `~/.config/berth/auth.json`.
    pub auth_file: PathBuf,
    /// docker's `config.json`, read (never written) when present: `$DOCKER_CONFIG/config.json`
    /// else `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// Layers downloaded at once (docker's daemon.json key; default 3, at least 1).
    pub max_concurrent_downloads: usize,
}

/// docker's default `max-concurrent-downloads`.
pub const DEFAULT_MAX_CONCURRENT_DOWNLOADS: usize = 3;

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    #[serde(default, rename = "insecure-registries")]
    insecure: Vec<String>,
    #[serde(default, rename = "registry-mirrors")]
    mirrors: BTreeMap<String, Vec<String>>,
    #[serde(default, rename = "max-concurrent-downloads")]
    max_concurrent_downloads: Option<usize>,
}

impl RegistrySettings {
    /// Settings from the environment and the settings file (see the module docs).
    ///
    /// # Errors
    /// [`RegistryError::BadFile`] when the settings file exists but does not parse, and
    /// [`RegistryError::Io`] when it cannot be read.
    pub fn load() -> Result<Self, RegistryError> {
        let path = std::env::var_os("BERTH_REGISTRIES_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SETTINGS));
        let file = read_settings(&path)?;
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let auth_file = std::env::var_os("BERTH_AUTH_FILE")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CONFIG_HOME")
                    .map(|d| PathBuf::from(d).join("berth/auth.json"))
            })
            .or_else(|| home.as_ref().map(|h| h.join(".config/berth/auth.json")))
            .unwrap_or_else(|| PathBuf::from("/root/.config/berth/auth.json"));
        let docker_config = std::env::var_os("DOCKER_CONFIG")
            .map(|d| PathBuf::from(d).join("config.json"))
            .or_else(|| home.map(|h| h.join(".docker/config.json")));
        Ok(RegistrySettings {
            insecure: file.insecure,
            mirrors: file.mirrors,
            max_concurrent_downloads: file
                .max_concurrent_downloads
                .unwrap_or(DEFAULT_MAX_CONCURRENT_DOWNLOADS)
                .max(1),
            auth_file,
            docker_config,
        })
    }

    /// Whether `registry` (`host[:port]`) is spoken to over plain http.
    pub fn is_insecure(&self, registry: &str) -> bool {
        let host = host_of(registry);
        host == "localhost"
            || host == "::1"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
            || self.insecure.iter().any(|r| r == registry || r == host)
    }

    /// The mirrors configured for `registry` (docker.io's also answer to
    /// `index.docker.io` and `registry-1.docker.io`).
    pub fn mirrors_for(&self, registry: &str) -> &[String] {
        let key = match registry {
            "index.docker.io" | "registry-1.docker.io" => "docker.io",
            other => other,
        };
        self.mirrors.get(key).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// `host` out of `host[:port]` (and `[v6]:port`).
fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.rsplit_once(':').map_or(registry, |(h, _)| h)
}

fn read_settings(path: &Path) -> Result<SettingsFile, RegistryError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RegistryError::BadFile {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SettingsFile::default()),
        Err(source) => Err(RegistryError::Io {
            action: "reading registry settings",
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_insecure_and_others_only_when_listed() {
        let s = RegistrySettings {
            insecure: vec!["registry.lan:5000".into()],
            ..Default::default()
        };
        for r in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "registry.lan:5000",
        ] {
            assert!(s.is_insecure(r), "{r} should be insecure");
        }
        for r in [
            "docker.io",
            "registry.lan:5001",
            "128.0.0.1:5000",
            "localhost.evil.com",
        ] {
            assert!(!s.is_insecure(r), "{r} should be https only");
        }
    }

    #[test]
    fn docker_hub_mirrors_answer_to_its_aliases() {
        let mut s = RegistrySettings::default();
        s.mirrors.insert("docker.io".into(), vec!["m:5000".into()]);
        assert_eq!(s.mirrors_for("index.docker.io"), ["m:5000".to_string()]);
        assert!(s.mirrors_for("quay.io").is_empty());
    }
}

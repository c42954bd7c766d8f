//! Credentials per registry: berth's own auth file (written by `berth login`, mode 0600,
//! replaced by rename) first, then docker's `config.json` when present (read only; its
//! `credsStore`/`credHelpers` programs are not run). Both files have docker's shape:
//! `{"auths": {"<registry>": {"auth": base64("user:password")}}}`.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{RegistryError, RegistrySettings};

/// A user name and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <redacted>)", self.username)
    }
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    /// Whatever else a docker config.json holds, kept as is.
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct AuthEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

/// The names a registry may be filed under: docker files Docker Hub as
/// `https://index.docker.io/v1/`, and some tools write a scheme before the host.
fn keys_for(registry: &str) -> Vec<String> {
    let hub = matches!(
        registry,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    );
    let mut keys = vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ];
    if hub {
        keys.extend(
            [
                "https://index.docker.io/v1/",
                "index.docker.io",
                "docker.io",
            ]
            .map(String::from),
        );
    }
    keys
}

/// The registry's key in berth's auth file (Docker Hub under docker's own key).
fn file_key(registry: &str) -> String {
    match registry {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
            "https://index.docker.io/v1/".into()
        }
        other => other.to_string(),
    }
}

fn read(path: &Path) -> Result<Option<AuthFile>, RegistryError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RegistryError::BadFile {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RegistryError::Io {
            action: "reading credentials",
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn decode(entry: &AuthEntry, path: &Path) -> Result<Option<Credentials>, RegistryError> {
    if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
        return Ok(Some(Credentials {
            username: u.clone(),
            password: p.clone(),
        }));
    }
    let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    let bad = |detail: &str| RegistryError::BadFile {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    };
    let raw = STANDARD
        .decode(auth.trim())
        .map_err(|_| bad("an \"auth\" value is not base64"))?;
    let text = String::from_utf8(raw).map_err(|_| bad("an \"auth\" value is not UTF-8"))?;
    let (u, p) = text
        .split_once(':')
        .ok_or_else(|| bad("an \"auth\" value is not user:password"))?;
    Ok(Some(Credentials {
        username: u.to_string(),
        password: p.to_string(),
    }))
}

/// The credentials for `registry`, from berth's auth file, else docker's config.json.
///
/// # Errors
/// A file that exists but cannot be read or parsed.
pub fn lookup(
    settings: &RegistrySettings,
    registry: &str,
) -> Result<Option<Credentials>, RegistryError> {
    let files =
        std::iter::once(settings.auth_file.as_path()).chain(settings.docker_config.as_deref());
    for path in files {
        let Some(file) = read(path)? else { continue };
        for key in keys_for(registry) {
            if let Some(entry) = file.auths.get(&key)
                && let Some(c) = decode(entry, path)?
            {
                return Ok(Some(c));
            }
        }
    }
    Ok(None)
}

/// Records `credentials` for `registry` in berth's auth file, created 0600 (and made
/// 0600 if it was not), replaced by rename so a crash leaves the old or the new file.
///
/// # Errors
/// [`RegistryError::Io`] naming the file.
pub fn store(
    settings: &RegistrySettings,
    registry: &str,
    credentials: &Credentials,
) -> Result<(), RegistryError> {
    let mut file = read(&settings.auth_file)?.unwrap_or_default();
    let token = STANDARD.encode(format!("{}:{}", credentials.username, credentials.password));
    file.auths.insert(
        file_key(registry),
        AuthEntry {
            auth: Some(token),
            ..Default::default()
        },
    );
    write(&settings.auth_file, &file)
}

/// Forgets `registry`'s credentials in berth's auth file; `false` when there were none.
///
/// # Errors
/// [`RegistryError::Io`] naming the file.
pub fn remove(settings: &RegistrySettings, registry: &str) -> Result<bool, RegistryError> {
    let Some(mut file) = read(&settings.auth_file)? else {
        return Ok(false);
    };
    // Every key goes: no short-circuit.
    let removed = keys_for(registry)
        .iter()
        .filter(|k| file.auths.remove(*k).is_some())
        .count()
        > 0;
    if removed {
        write(&settings.auth_file, &file)?;
    }
    Ok(removed)
}

fn write(path: &Path, file: &AuthFile) -> Result<(), RegistryError> {
    let io = |action, source| RegistryError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io("creating the directory of", e))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let body =
        serde_json::to_vec_pretty(file).map_err(|e| io("encoding", std::io::Error::other(e)))?;
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // The mode above is filtered by the umask only to be narrower; set it exactly.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(&body)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("writing credentials to", e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> RegistrySettings {
        RegistrySettings {
            auth_file: dir.join("berth/auth.json"),
            docker_config: Some(dir.join("docker/config.json")),
            ..Default::default()
        }
    }

    #[test]
    fn login_file_is_0600_and_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = settings(dir.path());
        let c = Credentials {
            username: "u".into(),
            password: "p:w".into(),
        };
        store(&s, "127.0.0.1:5000", &c).expect("store");
        let mode = std::fs::metadata(&s.auth_file)
            .expect("auth file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(lookup(&s, "127.0.0.1:5000").expect("lookup"), Some(c));
        assert!(remove(&s, "127.0.0.1:5000").expect("remove"));
        assert_eq!(lookup(&s, "127.0.0.1:5000").expect("lookup"), None);
        assert!(!remove(&s, "127.0.0.1:5000").expect("second remove"));
    }

    #[test]
    fn docker_config_is_read_under_docker_hub_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = settings(dir.path());
        std::fs::create_dir_all(dir.path().join("docker")).expect("mkdir");
        let auth = STANDARD.encode("alice:secret");
        std::fs::write(
            dir.path().join("docker/config.json"),
            format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}}}},"credsStore":"desktop"}}"#),
        )
        .expect("write config");
        let c = lookup(&s, "docker.io").expect("lookup").expect("found");
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("alice", "secret")
        );
        std::fs::write(
            dir.path().join("docker/config.json"),
            r#"{"auths":{"docker.io":{"auth":"!!"}}}"#,
        )
        .expect("write");
        assert!(matches!(
            lookup(&s, "docker.io"),
            Err(RegistryError::BadFile { .. })
        ));
    }
}

//! Where `berth serve` listens: `unix:///run/berth/berth.sock` by default (mode 0660, group
//! `berth` when that group exists, as dockerd does with `docker`), `tcp://HOST:PORT` only
//! when asked, and then with a warning: the API is root on this machine to anyone who
//! reaches it, and berth speaks no TLS.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The default socket, as `DOCKER_HOST=unix:///run/berth/berth.sock` names it.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

/// A parsed `--host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Unix(PathBuf),
    Tcp(String),
}

/// Failures while setting up a listener; each names the address and the step.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("--host {0:?}: expected unix:///PATH or tcp://HOST:PORT")]
    BadHost(String),
    #[error("another server is already listening on {0}")]
    InUse(PathBuf),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("listening on tcp://{addr}: {source}")]
    Tcp {
        addr: String,
        source: std::io::Error,
    },
}

impl Host {
    /// Parses `unix:///path`, `tcp://host:port` or a bare absolute socket path.
    pub fn parse(s: &str) -> Result<Self, ListenError> {
        if let Some(p) = s.strip_prefix("unix://") {
            if p.starts_with('/') {
                return Ok(Self::Unix(PathBuf::from(p)));
            }
        } else if let Some(a) = s.strip_prefix("tcp://") {
            let a = a.trim_end_matches('/');
            if a.rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            {
                return Ok(Self::Tcp(a.to_string()));
            }
        } else if s.starts_with('/') {
            return Ok(Self::Unix(PathBuf::from(s)));
        }
        Err(ListenError::BadHost(s.to_string()))
    }
}

/// A bound listener.
pub enum Listener {
    Unix(tokio::net::UnixListener, PathBuf),
    Tcp(tokio::net::TcpListener),
}

/// Binds `host`. A unix socket left by a server that is gone is replaced; one that still
/// answers is refused (two servers on one socket would split the clients).
pub async fn bind(host: &Host) -> Result<Listener, ListenError> {
    match host {
        Host::Unix(path) => bind_unix(path).await,
        Host::Tcp(addr) => {
            tracing::warn!(
                "listening on tcp://{addr} without TLS: anyone who reaches it controls \
                 berth's containers as root"
            );
            eprintln!(
                "berth serve: WARNING: tcp://{addr} has no TLS and no authentication; anyone \
                 who can reach it is root on this machine"
            );
            tokio::net::TcpListener::bind(addr)
                .await
                .map(Listener::Tcp)
                .map_err(|source| ListenError::Tcp {
                    addr: addr.clone(),
                    source,
                })
        }
    }
}

async fn bind_unix(path: &Path) -> Result<Listener, ListenError> {
    let io = |action, source| ListenError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("creating the directory of", e))?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(io(
                "refusing to replace",
                std::io::Error::other("it exists and is not a socket"),
            ));
        }
        if tokio::net::UnixStream::connect(path).await.is_ok() {
            return Err(ListenError::InUse(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(|e| io("removing the stale socket", e))?;
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(|e| io("binding", e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| io("setting mode 0660 on", e))?;
    if let Ok(Some(group)) = nix::unistd::Group::from_name("berth") {
        nix::unistd::chown(path, None, Some(group.gid))
            .map_err(|e| io("giving group berth", std::io::Error::from(e)))?;
    }
    Ok(Listener::Unix(listener, path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_as_docker_writes_them() {
        assert_eq!(
            Host::parse("unix:///run/berth/berth.sock").ok(),
            Some(Host::Unix("/run/berth/berth.sock".into()))
        );
        assert_eq!(
            Host::parse("tcp://127.0.0.1:2375").ok(),
            Some(Host::Tcp("127.0.0.1:2375".into()))
        );
        assert_eq!(
            Host::parse("/tmp/x.sock").ok(),
            Some(Host::Unix("/tmp/x.sock".into()))
        );
        assert!(Host::parse("unix://relative").is_err());
        assert!(Host::parse("tcp://nohost").is_err());
        assert!(Host::parse("http://x:1").is_err());
    }
}

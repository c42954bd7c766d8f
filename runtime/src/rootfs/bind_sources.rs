//! Bind-mount sources opened with the runtime's credentials (runc's "mount sources").
//!
//! In a user namespace the init is root only inside it; on the host it is the uid its
//! root maps to, which cannot search, say, a root-owned 0700 directory: opening a bind
//! source under one fails with EACCES, where runc succeeds. As runc does, the runtime
//! opens such sources for the init and hands over the fds: the init asks
//! (`Message::OpenMountSources`) once its mount namespace exists; the runtime joins that
//! mount namespace on a thread of its own, opens every bind source `O_PATH` with its own
//! credentials, and sends the fds back (`Message::MountSources`); the init binds
//! `/proc/self/fd/N`. They are opened inside the init's mount namespace because the
//! kernel binds only from mounts of the caller's own namespace (EINVAL otherwise), and
//! only after the init asked, so that every source resolves the same way whatever the
//! timing.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use super::mount_options;
use crate::error::{Error, Result, sys_err};
use crate::init::channel::{Channel, MAX_FDS, Message};

/// `O_PATH` fds of bind sources, by index in the spec's `mounts`.
#[derive(Debug, Default)]
pub struct BindSources(HashMap<usize, OwnedFd>);

impl BindSources {
    /// The fd for mount `index`, if the runtime opened its source.
    pub fn get(&self, index: usize) -> Option<BorrowedFd<'_>> {
        self.0.get(&index).map(AsFd::as_fd)
    }

    /// Adds what one `MountSources` message carried: `fds[i]` is the source of
    /// `mounts[i]`.
    pub fn extend(&mut self, mounts: &[usize], fds: Vec<OwnedFd>) -> Result<()> {
        if mounts.len() != fds.len() {
            return Err(Error::Init(format!(
                "got {} mount source fds for {} mounts",
                fds.len(),
                mounts.len()
            )));
        }
        self.0.extend(mounts.iter().copied().zip(fds));
        Ok(())
    }
}

/// The spec's bind mounts that have a source: (index in `mounts`, source).
fn bind_mounts(spec: &Spec) -> impl Iterator<Item = (usize, &Path)> {
    spec.mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, m)| mount_options::check(m).is_ok_and(|o| o.is_bind(m)))
        .filter_map(|(i, m)| m.source().as_deref().map(|s| (i, s)))
}

/// Whether an init in a user namespace (`in_userns`) needs the runtime to open its bind
/// sources: it does when the spec has any.
pub fn needed(spec: &Spec, in_userns: bool) -> bool {
    in_userns && bind_mounts(spec).next().is_some()
}

/// Runtime side: opens the source of every bind mount of `spec` in the mount namespace of
/// the init `pid`. `None` when this runtime may not join that namespace (an unprivileged
/// runtime lacks CAP_SYS_ADMIN on the host; the init then opens the sources itself, with
/// no less access than the runtime would have had).
pub fn open_for_init(pid: i32, spec: &Spec) -> Result<Option<Vec<(usize, OwnedFd)>>> {
    let ns_path = format!("/proc/{pid}/ns/mnt");
    let ns = match File::open(&ns_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            tracing::debug!("{ns_path}: {e}; the init opens its bind sources itself");
            return Ok(None);
        }
        Err(e) => return Err(crate::error::io_err("opening", Path::new(&ns_path))(e)),
    };
    let sources: Vec<(usize, &Path)> = bind_mounts(spec).collect();
    // setns(CLONE_NEWNS) moves the calling thread's root and cwd: a thread of its own,
    // with its own fs_struct, keeps the runtime's.
    std::thread::scope(|scope| {
        scope
            .spawn(|| open_in_namespace(&ns, &sources))
            .join()
            .unwrap_or_else(|_| {
                Err(Error::Init(
                    "opening bind sources: the thread panicked".into(),
                ))
            })
    })
}

fn open_in_namespace(
    ns: &File,
    sources: &[(usize, &Path)],
) -> Result<Option<Vec<(usize, OwnedFd)>>> {
    unshare(CloneFlags::CLONE_FS).map_err(sys_err("unsharing", "fs attributes"))?;
    match setns(ns.as_fd(), CloneFlags::CLONE_NEWNS) {
        Ok(()) => {}
        Err(e @ Errno::EPERM) => {
            tracing::debug!(
                "joining the init's mount namespace: {e}; the init opens its bind sources itself"
            );
            return Ok(None);
        }
        Err(e) => return Err(sys_err("joining", "the init's mount namespace")(e)),
    }
    let mut fds = Vec::with_capacity(sources.len());
    for &(index, source) in sources {
        let fd = open(source, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(sys_err("opening bind source", source.display().to_string()))?;
        fds.push((index, fd));
    }
    Ok(Some(fds))
}

/// Init side: asks the runtime for the bind sources and collects its answer. Nothing
/// comes back when the runtime could not join the init's mount namespace.
pub fn request(chan: &Channel) -> Result<BindSources> {
    chan.send(&Message::OpenMountSources)?;
    let mut sources = BindSources::default();
    loop {
        match chan.recv_with_fds()? {
            Some((Message::MountSources { mounts, more }, fds)) => {
                sources.extend(&mounts, fds)?;
                if !more {
                    return Ok(sources);
                }
            }
            Some((Message::Error { msg }, _)) => return Err(Error::InitReported(msg)),
            Some((other, _)) => {
                return Err(Error::Init(format!(
                    "expected mount sources, got {other:?}"
                )));
            }
            None => {
                return Err(Error::Init(
                    "peer exited while waiting for mount sources".into(),
                ));
            }
        }
    }
}

/// Runtime side of [`request`]: opens the sources in the mount namespace of the init
/// `pid` and sends them, at most [`MAX_FDS`] per message.
pub fn reply(chan: &Channel, pid: i32, spec: &Spec) -> Result<()> {
    let opened = open_for_init(pid, spec)?.unwrap_or_default();
    let mut chunks = opened.chunks(MAX_FDS).peekable();
    if chunks.peek().is_none() {
        return chan.send_with_fds(
            &Message::MountSources {
                mounts: Vec::new(),
                more: false,
            },
            &[],
        );
    }
    while let Some(chunk) = chunks.next() {
        let msg = Message::MountSources {
            mounts: chunk.iter().map(|(i, _)| *i).collect(),
            more: chunks.peek().is_some(),
        };
        let fds: Vec<BorrowedFd<'_>> = chunk.iter().map(|(_, fd)| fd.as_fd()).collect();
        chan.send_with_fds(&msg, &fds)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_testkit::root::require_root;
    use nix::sys::stat::fstat;
    use std::os::unix::fs::MetadataExt;

    fn spec_with(mounts: serde_json::Value) -> Spec {
        serde_json::from_value(serde_json::json!({"ociVersion": "1.2.0", "mounts": mounts}))
            .expect("spec")
    }

    #[test]
    fn runtime_opens_every_bind_source_and_keeps_its_own_root_and_cwd() {
        if !require_root() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("file");
        std::fs::write(&file, "x").expect("write");
        let spec = spec_with(serde_json::json!([
            {"destination": "/a", "type": "bind", "source": file},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/b", "type": "none", "source": dir.path(), "options": ["rbind"]},
        ]));
        assert!(needed(&spec, true));
        assert!(
            !needed(&spec, false),
            "no user namespace: the init opens them"
        );
        let cwd = std::env::current_dir().expect("cwd");
        let pid = nix::unistd::getpid().as_raw();
        let opened = open_for_init(pid, &spec)
            .expect("opened")
            .expect("root may join");
        assert_eq!(std::env::current_dir().expect("cwd"), cwd);
        let got: Vec<(usize, u64)> = opened
            .iter()
            .map(|(i, fd)| (*i, fstat(fd.as_fd()).expect("fstat").st_ino))
            .collect();
        let ino = |p: &Path| std::fs::metadata(p).expect("stat").ino();
        assert_eq!(got, [(0, ino(&file)), (2, ino(dir.path()))]);

        let mut sources = BindSources::default();
        let (indices, fds): (Vec<usize>, Vec<OwnedFd>) = opened.into_iter().unzip();
        assert!(sources.extend(&indices[..1], Vec::new()).is_err());
        sources.extend(&indices, fds).expect("extend");
        assert!(sources.get(0).is_some() && sources.get(1).is_none() && sources.get(2).is_some());
    }

    #[test]
    fn more_sources_than_one_message_carries_all_arrive() {
        if !require_root() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let n = MAX_FDS + 10;
        let mounts: Vec<serde_json::Value> = (0..n)
            .map(|i| serde_json::json!({"destination": format!("/m{i}"), "type": "bind", "source": dir.path()}))
            .collect();
        let spec = spec_with(serde_json::Value::Array(mounts));
        let (runtime, init) = crate::init::channel::pair().expect("channel");
        let asking = std::thread::spawn(move || request(&init).map(|s| s.0.len()));
        match runtime.recv().expect("recv") {
            Some(Message::OpenMountSources) => {}
            other => panic!("expected the request, got {other:?}"),
        }
        reply(&runtime, nix::unistd::getpid().as_raw(), &spec).expect("reply");
        let got = asking.join().expect("thread").expect("request");
        assert_eq!(got, n);
    }

    #[test]
    fn a_missing_bind_source_is_named() {
        if !require_root() {
            return;
        }
        let spec = spec_with(serde_json::json!([
            {"destination": "/a", "type": "bind", "source": "/nonexistent/berth-source"},
        ]));
        let err = open_for_init(nix::unistd::getpid().as_raw(), &spec)
            .expect_err("missing source")
            .to_string();
        assert!(
            err.contains("opening bind source /nonexistent/berth-source") && err.contains("ENOENT"),
            "{err}"
        );
    }
}

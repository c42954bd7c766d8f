//! Resolving paths inside a root: `openat2(RESOLVE_IN_ROOT)`, or a component-by-component
//! walk where the kernel lacks it (or a seccomp profile refuses it).

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat, openat2, readlinkat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat};

use crate::error::SafePathError;

/// Linux's own limit on symlinks followed during one lookup (`MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// How many times to retry `openat2` when it reports a concurrent rename (`EAGAIN`).
const OPENAT2_RETRIES: usize = 32;

/// Opens the container root directory itself as an `O_PATH` fd, the anchor for every
/// other function here. The root path is trusted (it comes from the bundle or the
/// runtime), so it is opened normally.
pub fn open_root(root: &Path) -> Result<OwnedFd, SafePathError> {
    nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|source| SafePathError::OpenRoot {
        root: root.to_path_buf(),
        source,
    })
}

/// The `/proc/self/fd/N` path of `fd`: pass it to `mount(2)` (source or target) so the
/// kernel acts on the exact inode behind the fd and never re-resolves the original path.
/// Needs a real procfs at `/proc` of the calling mount namespace.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Opens `path` (absolute or relative, both taken relative to `root`) with `flags`,
/// resolving every symlink and `..` as if `root` were `/`. `O_CLOEXEC` is always added.
/// With `O_NOFOLLOW` the last component is not followed (`O_PATH | O_NOFOLLOW` then
/// returns the symlink itself). `O_CREAT` is refused: use [`crate::create_file_in_root`] or
/// [`crate::mkdir_all_in_root`].
pub fn open_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: OFlag,
) -> Result<OwnedFd, SafePathError> {
    // O_TMPFILE includes the O_DIRECTORY bit, so test it as a whole.
    if flags.contains(OFlag::O_CREAT) || flags.contains(OFlag::O_TMPFILE) {
        return Err(SafePathError::CreateFlag {
            path: path.to_path_buf(),
        });
    }
    let flags = flags | OFlag::O_CLOEXEC;
    let rel = relative(path);
    let resolve_err = |source| SafePathError::Resolve {
        path: path.to_path_buf(),
        source,
    };
    if openat2_available() {
        match openat2_in_root(root, &rel, flags) {
            Ok(fd) => return Ok(fd),
            // ENOSYS: no openat2. EPERM: an outer runtime's seccomp profile (older
            // Docker profiles) denies it. The walk is just as safe, and reports any
            // genuine EPERM itself.
            Err(Errno::ENOSYS | Errno::EPERM) => {
                tracing::debug!("openat2 unavailable, resolving paths in root by hand");
                OPENAT2.store(OPENAT2_NO, Ordering::Relaxed);
            }
            Err(e) => return Err(resolve_err(e)),
        }
    }
    walk_in_root(root, &rel, flags).map_err(|e| match e {
        WalkError::Errno(source) => resolve_err(source),
        WalkError::Raced => SafePathError::Raced {
            path: path.to_path_buf(),
        },
    })
}

/// Makes `path` (`process.cwd`), resolved inside `root`, the working directory, and
/// checks the kernel agrees it is under the process root. Call in the container after
/// pivot_root with `root` = [`open_root`]`("/")`. A cwd such as `/proc/self/fd/7`
/// naming a directory fd leaked from the runtime (CVE-2024-21626) is refused by
/// `RESOLVE_NO_MAGICLINKS` (the manual walk reads it as text and stays inside), and
/// `getcwd` reporting an unreachable path is refused as well.
pub fn chdir_in_root(root: BorrowedFd<'_>, path: &Path) -> Result<(), SafePathError> {
    let dir = open_in_root(root, path, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
    nix::unistd::fchdir(&dir).map_err(|source| SafePathError::Chdir {
        path: path.to_path_buf(),
        source,
    })?;
    // The kernel prefixes a cwd outside the root with "(unreachable)"; glibc turns that
    // into ENOENT. Either way it is not an absolute path.
    match nix::unistd::getcwd() {
        Ok(cwd) if cwd.is_absolute() => Ok(()),
        _ => Err(SafePathError::CwdOutsideRoot {
            path: path.to_path_buf(),
        }),
    }
}

/// The first component of `path` (as a prefix, inside `root`) that is a symlink in the
/// image, if any; missing components end the search (they will be created as
/// directories). For mounts that must land on an ordinary directory (proc, sysfs, as
/// runc requires), where following even an in-root symlink would let the image choose
/// where the kernel's control files appear.
pub fn first_symlink_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
) -> Result<Option<PathBuf>, SafePathError> {
    let mut prefix = PathBuf::from("/");
    for component in relative(path).components() {
        prefix.push(component.as_os_str());
        let fd = match open_in_root(root, &prefix, OFlag::O_PATH | OFlag::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let st = fstat(&fd).map_err(|source| SafePathError::Resolve {
            path: prefix.clone(),
            source,
        })?;
        if is_kind(&st, SFlag::S_IFLNK) {
            return Ok(Some(prefix));
        }
    }
    Ok(None)
}

/// `path` with any leading `/` removed; the empty path becomes `.` (the root itself).
pub(crate) fn relative(path: &Path) -> PathBuf {
    let stripped: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)))
        .collect();
    if stripped.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        stripped
    }
}

const OPENAT2_UNKNOWN: u8 = 0;
const OPENAT2_NO: u8 = 2;
static OPENAT2: AtomicU8 = AtomicU8::new(OPENAT2_UNKNOWN);

fn openat2_available() -> bool {
    OPENAT2.load(Ordering::Relaxed) != OPENAT2_NO
}

/// Forces the manual walk, so tests can exercise the fallback on a kernel with openat2.
#[cfg(test)]
fn force_fallback(on: bool) {
    OPENAT2.store(
        if on { OPENAT2_NO } else { OPENAT2_UNKNOWN },
        Ordering::Relaxed,
    );
}

fn openat2_in_root(root: BorrowedFd<'_>, rel: &Path, flags: OFlag) -> Result<OwnedFd, Errno> {
    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let mut last = Errno::EAGAIN;
    for _ in 0..OPENAT2_RETRIES {
        match openat2(root, rel, how) {
            // EAGAIN: a rename raced with `..` resolution; the kernel asks us to retry.
            Err(Errno::EAGAIN) => last = Errno::EAGAIN,
            other => return other,
        }
    }
    Err(last)
}

enum WalkError {
    Errno(Errno),
    Raced,
}

impl From<Errno> for WalkError {
    fn from(e: Errno) -> Self {
        Self::Errno(e)
    }
}

pub(crate) fn same_inode(a: &FileStat, b: &FileStat) -> bool {
    a.st_dev == b.st_dev && a.st_ino == b.st_ino
}

pub(crate) fn is_kind(st: &FileStat, kind: SFlag) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == kind
}

/// The fallback resolver: one component at a time, never letting the kernel follow a
/// symlink or `..` on its own.
fn walk_in_root(root: BorrowedFd<'_>, rel: &Path, flags: OFlag) -> Result<OwnedFd, WalkError> {
    let path_flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let nofollow_last = flags.contains(OFlag::O_NOFOLLOW);
    // stack[0] is the root; `..` pops but never below it.
    let mut stack: Vec<OwnedFd> = vec![openat(
        root,
        ".",
        path_flags | OFlag::O_DIRECTORY,
        Mode::empty(),
    )?];
    let mut remaining: VecDeque<OsString> = components_of(rel.as_os_str());
    let mut links = 0usize;

    while let Some(name) = remaining.pop_front() {
        if name.is_empty() || name == "." {
            continue;
        }
        if name == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let is_last = remaining.is_empty();
        let parent = stack.last().ok_or(WalkError::Errno(Errno::EINVAL))?;
        if is_last && nofollow_last {
            return Ok(openat(
                parent,
                name.as_os_str(),
                flags | OFlag::O_NOFOLLOW,
                Mode::empty(),
            )?);
        }
        let fd = openat(parent, name.as_os_str(), path_flags, Mode::empty())?;
        let st = fstat(&fd)?;
        if is_kind(&st, SFlag::S_IFLNK) {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(WalkError::Errno(Errno::ELOOP));
            }
            // readlinkat on an O_PATH symlink fd with an empty path reads that link.
            // Magic links (/proc/*/fd/*) are only ever read as text here, never followed.
            let target = readlinkat(&fd, "")?;
            if target.as_bytes().first() == Some(&b'/') {
                stack.truncate(1);
            }
            for part in components_of(target.as_os_str()).into_iter().rev() {
                remaining.push_front(part);
            }
            continue;
        }
        if is_last {
            if flags & !(OFlag::O_CLOEXEC) == OFlag::O_PATH {
                return Ok(fd);
            }
            // Re-open with the caller's flags; O_NOFOLLOW refuses a symlink swapped in
            // meanwhile, and the inode check refuses any other swap.
            let reopened = openat(
                parent,
                name.as_os_str(),
                flags | OFlag::O_NOFOLLOW,
                Mode::empty(),
            )?;
            if !same_inode(&fstat(&reopened)?, &st) {
                return Err(WalkError::Raced);
            }
            return Ok(reopened);
        }
        if !is_kind(&st, SFlag::S_IFDIR) {
            return Err(WalkError::Errno(Errno::ENOTDIR));
        }
        stack.push(fd);
    }
    // The path resolved to a directory already on the stack (e.g. "." or "a/..").
    let dir = stack.last().ok_or(WalkError::Errno(Errno::EINVAL))?;
    Ok(openat(dir, ".", flags, Mode::empty())?)
}

fn components_of(path: &OsStr) -> VecDeque<OsString> {
    path.as_bytes()
        .split(|b| *b == b'/')
        .filter(|part| !part.is_empty())
        .map(|part| OsStr::from_bytes(part).to_os_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::create::{create_file_in_root, mkdir_all_in_root};
    use berth_testkit::child::in_child;
    use berth_testkit::root::require_root;
    use std::os::fd::AsFd;
    use std::os::unix::fs::symlink;

    fn read_link_of_fd(fd: &OwnedFd) -> PathBuf {
        std::fs::read_link(fd_path(fd.as_fd())).expect("readlink /proc/self/fd")
    }

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc")).expect("mkdir etc");
        std::fs::write(root.join("etc/passwd"), "inside\n").expect("write passwd");
        symlink("/etc", root.join("abs_etc")).expect("symlink");
        symlink("../../../../../../etc", root.join("dotdot_etc")).expect("symlink");
        symlink("/", root.join("slash")).expect("symlink");
        symlink("loop2", root.join("loop1")).expect("symlink");
        symlink("loop1", root.join("loop2")).expect("symlink");
        symlink("/proc/self/root", root.join("magic")).expect("symlink");
        dir
    }

    fn check_contained(fallback: bool) {
        force_fallback(fallback);
        let dir = fixture();
        let root_fd = open_root(dir.path()).expect("open root");
        let root = root_fd.as_fd();
        let canon = dir.path().canonicalize().expect("canonicalize");
        for path in [
            "/abs_etc/passwd",
            "dotdot_etc/passwd",
            "/slash/etc/passwd",
            "../../etc/passwd",
        ] {
            let fd = open_in_root(root, Path::new(path), OFlag::O_RDONLY)
                .unwrap_or_else(|e| panic!("fallback={fallback} {path}: {e}"));
            assert_eq!(
                read_link_of_fd(&fd),
                canon.join("etc/passwd"),
                "fallback={fallback} {path}"
            );
        }
        let err = open_in_root(root, Path::new("loop1"), OFlag::O_RDONLY).expect_err("loop");
        assert_eq!(err.errno(), Some(Errno::ELOOP));
        // A symlink to /proc/self/root resolves to the container's /proc, which does not
        // exist here: never the host root.
        assert!(open_in_root(root, Path::new("magic/etc/passwd"), OFlag::O_RDONLY).is_err());
        assert!(
            open_in_root(root, Path::new("missing/x"), OFlag::O_PATH)
                .expect_err("missing")
                .is_not_found()
        );
        let link = open_in_root(
            root,
            Path::new("abs_etc"),
            OFlag::O_PATH | OFlag::O_NOFOLLOW,
        )
        .expect("nofollow");
        assert!(is_kind(&fstat(&link).expect("fstat"), SFlag::S_IFLNK));
        force_fallback(false);
    }

    #[test]
    fn symlinks_and_dotdot_stay_inside_root_with_openat2() {
        check_contained(false);
    }

    #[test]
    fn symlinks_and_dotdot_stay_inside_root_with_manual_walk() {
        // Run in a child: the fallback switch is process-global.
        in_child(|| {
            check_contained(true);
            Ok(())
        })
        .expect("fallback walk");
    }

    #[test]
    fn mkdir_all_and_create_file_follow_symlinks_only_inside_root() {
        let dir = fixture();
        let root_fd = open_root(dir.path()).expect("open root");
        let host_marker = format!("berth-safe-path-test-{}", std::process::id());
        // abs_etc -> /etc: the new dirs must land in <root>/etc, not the host's /etc.
        let fd = mkdir_all_in_root(
            root_fd.as_fd(),
            Path::new(&format!("/abs_etc/{host_marker}/sub")),
            Mode::from_bits_truncate(0o755),
        )
        .expect("mkdir_all");
        let canon = dir.path().canonicalize().expect("canonicalize");
        assert_eq!(
            read_link_of_fd(&fd),
            canon.join(format!("etc/{host_marker}/sub"))
        );
        assert!(!Path::new("/etc").join(&host_marker).exists());
        let file = create_file_in_root(
            root_fd.as_fd(),
            Path::new(&format!("/slash/etc/{host_marker}/f")),
            Mode::from_bits_truncate(0o644),
        )
        .expect("create file");
        assert_eq!(
            read_link_of_fd(&file),
            canon.join(format!("etc/{host_marker}/f"))
        );
        // Existing file: returned, not recreated.
        create_file_in_root(
            root_fd.as_fd(),
            Path::new("/etc/passwd"),
            Mode::from_bits_truncate(0o644),
        )
        .expect("existing");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("etc/passwd")).expect("read"),
            "inside\n"
        );
    }

    /// CVE-2024-21626: a cwd of `/proc/self/fd/N`, N a leaked host directory fd.
    fn leaked_fd_cwd_is_not_followed(fallback: bool) {
        use nix::mount::{MsFlags, mount};
        use nix::sched::{CloneFlags, unshare};
        use std::os::fd::AsRawFd;
        let dir = fixture();
        let root = dir.path().to_path_buf();
        in_child(move || {
            force_fallback(fallback);
            unshare(CloneFlags::CLONE_NEWNS).map_err(|e| e.to_string())?;
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_PRIVATE | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| e.to_string())?;
            std::fs::create_dir_all(root.join("proc")).map_err(|e| e.to_string())?;
            mount(
                Some("proc"),
                &root.join("proc"),
                Some("proc"),
                MsFlags::empty(),
                None::<&str>,
            )
            .map_err(|e| format!("mount proc: {e}"))?;
            // The "leak": a host directory fd that survives into the container.
            let leaked =
                nix::fcntl::open("/etc", OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())
                    .map_err(|e| e.to_string())?;
            let host_etc = fstat(&leaked).map_err(|e| e.to_string())?;
            nix::unistd::chroot(&root).map_err(|e| format!("chroot: {e}"))?;
            nix::unistd::chdir("/").map_err(|e| e.to_string())?;
            let root_fd = open_root(Path::new("/")).map_err(|e| e.to_string())?;
            let cwd = format!("/proc/self/fd/{}", leaked.as_raw_fd());
            let result = chdir_in_root(root_fd.as_fd(), Path::new(&cwd));
            let here = nix::sys::stat::stat(".").map_err(|e| e.to_string())?;
            if same_inode(&here, &host_etc) {
                return Err(format!("cwd is the host's /etc ({result:?})"));
            }
            match (fallback, result) {
                // openat2 refuses the magic link outright.
                (false, Err(e)) if e.errno() == Some(Errno::ELOOP) => Ok(()),
                // The walk reads the link as the text "/etc" and stays in the root.
                (true, Ok(())) => {
                    let cwd = nix::unistd::getcwd().map_err(|e| e.to_string())?;
                    if cwd == Path::new("/etc") {
                        Ok(())
                    } else {
                        Err(format!("cwd {cwd:?}"))
                    }
                }
                (_, other) => Err(format!("unexpected: {other:?}")),
            }
        })
        .expect("leaked fd cwd in child");
    }

    #[test]
    fn leaked_fd_cwd_is_refused_with_openat2() {
        if !require_root() {
            return;
        }
        leaked_fd_cwd_is_not_followed(false);
    }

    #[test]
    fn leaked_fd_cwd_stays_inside_root_with_manual_walk() {
        if !require_root() {
            return;
        }
        leaked_fd_cwd_is_not_followed(true);
    }

    #[test]
    fn create_flag_is_refused() {
        let dir = fixture();
        let root_fd = open_root(dir.path()).expect("open root");
        assert!(matches!(
            open_in_root(
                root_fd.as_fd(),
                Path::new("x"),
                OFlag::O_CREAT | OFlag::O_WRONLY
            ),
            Err(SafePathError::CreateFlag { .. })
        ));
    }
}

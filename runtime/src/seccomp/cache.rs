//! Compiled seccomp programs kept under the runtime's state root, so `create` does not
//! ask libseccomp to rebuild the same profile (~26 ms of CPU for the default one) every
//! time.
//!
//! One file per program, `<root>/@seccomp-cache/<key>.bpf` (`@` is not allowed in a
//! container id, so the directory can never be taken for a container nor collide with
//! one). The key is a SHA-256 of everything the program depends on: the profile as
//! applied (its JSON, less the agent's listenerPath and listenerMetadata), the load
//! flags, libseccomp's version, the architecture, the kernel release, berth's version
//! and commit and a hash of the code that builds the program. A file is only used when
//! it is ours (owner = euid, not writable by group or others, not a symlink) and its
//! header carries the same key, the instruction count that its size gives and the
//! SHA-256 of the program; anything else is rebuilt and replaced. Cache faults never
//! fail `create`: they are logged and the program is compiled as without a cache.
//!
//! The program is the same with or without `SCMP_ACT_NOTIFY`; the listener comes from
//! the load flags, which [`SeccompFilter::load`] sets the same way for both.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;
use sha2::{Digest, Sha256};

use super::compile::{INSN_SIZE, MAX_INSNS, build_program, check, decode, encode};
use super::{SeccompError, SeccompFilter};

/// The cache directory's name under the state root.
pub const CACHE_DIR: &str = "@seccomp-cache";
/// First bytes of a cache file; the digit is the layout's version.
const MAGIC: &[u8; 8] = b"BERTHBP1";
/// MAGIC, key (32), SHA-256 of the program (32), instruction count (u32 LE), 4 zero
/// bytes: a multiple of 8, so the program that follows stays aligned to instructions.
pub(super) const HEADER_LEN: usize = 8 + 32 + 32 + 8;
/// More entries than this and the directory is emptied but for the newest: profiles
/// seldom change, so this only bounds what upgrades and one-off profiles leave behind.
const MAX_ENTRIES: usize = 64;

/// The cache directory of the state root `root`.
pub fn cache_dir(root: &Path) -> PathBuf {
    root.join(CACHE_DIR)
}

/// [`compile`](super::compile) with the program taken from, or stored in, the cache
/// under the state root `root`. Validation is the same (it runs every time, before the
/// cache is read); only the libseccomp build and export are skipped on a hit.
pub fn compile_cached(spec: &LinuxSeccomp, root: &Path) -> Result<SeccompFilter, SeccompError> {
    let checked = check(spec)?;
    let key = key(spec, checked.flags)?;
    let dir = cache_dir(root);
    let path = dir.join(format!("{}.bpf", hex(&key)));
    let program = match read(&dir, &path, &key) {
        Ok(program) => {
            tracing::debug!(path = %path.display(), "seccomp program from the cache");
            program
        }
        Err(why) => {
            tracing::debug!(path = %path.display(), %why, "seccomp program not cached, compiling");
            let program = build_program(spec, checked.default)?;
            if let Err(e) = write(root, &dir, &path, &key, &program) {
                tracing::warn!(path = %path.display(), error = %e, "could not cache the seccomp program");
            }
            program
        }
    };
    Ok(checked.into_filter(spec, program))
}

/// The cache key of `spec` loaded with `flags`.
fn key(spec: &LinuxSeccomp, flags: libc::c_ulong) -> Result<[u8; 32], SeccompError> {
    // The agent's socket and metadata are not part of the program: a notify profile
    // whose agent listens at a per-container path still hits.
    let mut program_part = spec.clone();
    program_part.set_listener_path(None);
    program_part.set_listener_metadata(None);
    let json = serde_json::to_vec(&program_part).map_err(|e| SeccompError::Libseccomp {
        op: "serialising the profile for the cache key".into(),
        detail: e.to_string(),
    })?;
    let kernel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let library = super::library_version().unwrap_or_default();
    let flags = flags.to_string();
    let mut hash = Sha256::new();
    // Length-prefixed, so no two different field lists hash the same bytes.
    for field in [
        MAGIC.as_slice(),
        env!("CARGO_PKG_VERSION").as_bytes(),
        env!("BERTH_RUNTIME_COMMIT").as_bytes(),
        // The code that turns a profile into a program (runtime/build.rs), for builds
        // off an uncommitted tree: same commit, other code.
        env!("BERTH_SECCOMP_CODE").as_bytes(),
        library.as_bytes(),
        std::env::consts::ARCH.as_bytes(),
        kernel.as_bytes(),
        flags.as_bytes(),
        &json,
    ] {
        hash.update((field.len() as u64).to_le_bytes());
        hash.update(field);
    }
    Ok(hash.finalize().into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The program cached at `path` (in `dir`) for `key`, or why there is none usable.
///
/// The directory is opened and judged first, by fd: a directory someone else owns or
/// can write (a state root shared or made by another user) is never read from. The
/// entry is then opened below that fd without following a symlink and without
/// blocking (a FIFO planted there would hang every create), and must be a regular file
/// of ours with one link (a hard link to a file whose content someone else chose,
/// e.g. in an image layer, is refused).
fn read(dir: &Path, path: &Path, key: &[u8; 32]) -> Result<Vec<libc::sock_filter>, String> {
    let dir_file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| format!("opening the cache directory: {e}"))?;
    let dir_meta = dir_file.metadata().map_err(|e| format!("fstat: {e}"))?;
    trusted(&dir_meta).map_err(|e| format!("the cache directory is {e}"))?;
    let name = path
        .file_name()
        .ok_or_else(|| "a cache entry without a name".to_string())?;
    let fd = nix::fcntl::openat(
        &dir_file,
        name,
        nix::fcntl::OFlag::O_RDONLY
            | nix::fcntl::OFlag::O_NOFOLLOW
            | nix::fcntl::OFlag::O_NONBLOCK
            | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| format!("opening: {e}"))?;
    let mut file = fs::File::from(fd);
    let meta = file.metadata().map_err(|e| format!("fstat: {e}"))?;
    if !meta.file_type().is_file() {
        return Err("not a regular file".into());
    }
    if meta.nlink() != 1 || meta.dev() != dir_meta.dev() {
        return Err(format!(
            "{} links to it (or another filesystem's)",
            meta.nlink()
        ));
    }
    trusted(&meta)?;
    let max = HEADER_LEN + MAX_INSNS * INSN_SIZE;
    if meta.len() > max as u64 {
        return Err(format!(
            "{} bytes, more than a program can have",
            meta.len()
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // take(): the file may grow after fstat; more than `max` is refused below.
    Read::by_ref(&mut file)
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("reading: {e}"))?;
    parse(&bytes, key)
}

/// Checks a cache file's bytes against `key` and returns its program.
fn parse(bytes: &[u8], key: &[u8; 32]) -> Result<Vec<libc::sock_filter>, String> {
    if bytes.len() < HEADER_LEN || bytes.len() > HEADER_LEN + MAX_INSNS * INSN_SIZE {
        return Err(format!("{} bytes is not a cache entry's size", bytes.len()));
    }
    let (header, body) = bytes.split_at(HEADER_LEN);
    if body.is_empty() || body.len() % INSN_SIZE != 0 {
        return Err(format!(
            "a {}-byte program is not a whole number of instructions",
            body.len()
        ));
    }
    if &header[..8] != MAGIC {
        return Err("no cache header".into());
    }
    if &header[8..40] != key {
        return Err("the header holds another key".into());
    }
    let count = u32::from_le_bytes([header[72], header[73], header[74], header[75]]);
    if count as usize != body.len() / INSN_SIZE || header[76..80] != [0; 4] {
        return Err(format!(
            "the header says {count} instructions, the file holds {}",
            body.len() / INSN_SIZE
        ));
    }
    if header[40..72] != Sha256::digest(body)[..] {
        return Err("the program does not match its digest".into());
    }
    Ok(decode(body))
}

/// Only a file (or directory) of our own that nobody else can write is read or written:
/// otherwise someone else could choose the filter of the next container.
fn trusted(meta: &fs::Metadata) -> Result<(), String> {
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(format!("owned by uid {}, not {euid}", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "mode {:o} lets others write it",
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Stores `program` for `key` at `path`: written to a temporary file (0600) in `dir`
/// and renamed, so a reader sees the old file, the new one or none.
fn write(
    root: &Path,
    dir: &Path,
    path: &Path,
    key: &[u8; 32],
    program: &[libc::sock_filter],
) -> Result<(), String> {
    // The state root as `StateDir::create_new` makes it (create compiles first).
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(root)
        .map_err(|e| format!("creating {}: {e}", root.display()))?;
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("creating {}: {e}", dir.display())),
    }
    let meta = fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    trusted(&meta).map_err(|e| format!("{}: {e}", dir.display()))?;

    let body = encode(program);
    let count = u32::try_from(program.len()).map_err(|_| "program too long".to_string())?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(key);
    bytes.extend_from_slice(&Sha256::digest(&body));
    bytes.extend_from_slice(&count.to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(&body);

    let tmp = dir.join(format!(".{}.{}.tmp", hex(key), std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&bytes))
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(format!("writing {}: {e}", tmp.display()));
    }
    prune(dir, path);
    Ok(())
}

/// Empties `dir` but for `keep` once it holds more than [`MAX_ENTRIES`] files.
fn prune(dir: &Path, keep: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    if paths.len() <= MAX_ENTRIES {
        return;
    }
    tracing::debug!(dir = %dir.display(), entries = paths.len(), "pruning the seccomp cache");
    for p in paths.iter().filter(|p| p.as_path() != keep) {
        // Another create may be renaming its own entry in: losing it costs one compile.
        let _ = fs::remove_file(p);
    }
}

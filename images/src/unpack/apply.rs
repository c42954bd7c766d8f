//! Creating a layer archive's entries one by one under the layer directory's fd.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use berth_safe_path::{EntryAt, NodeKind, SafePathError, open_root};
use nix::errno::Errno;
use nix::sys::time::TimeSpec;
use tar::EntryType;

use super::name::{self, EntryName};
use super::whiteout::{self, OPAQUE_VALUE, OPAQUE_XATTR, Whiteout};
use crate::error::ImageError;

/// xattrs a layer may not set: overlayfs reads its own (`redirect`, `metacopy`, `opaque`)
/// from lower layers, so only whiteout markers (converted here) may produce them.
const FORBIDDEN_XATTR_PREFIX: &str = "trusted.overlay.";
/// The PAX record prefix of an extended attribute.
const PAX_XATTR: &str = "SCHILY.xattr.";

/// Applies every entry of `archive` under `dest`; returns the regular files' total size.
pub(super) fn apply_archive<R: Read>(
    archive: &mut tar::Archive<R>,
    dest: &Path,
    layer: &str,
) -> Result<u64, ImageError> {
    let root = open_root(dest).map_err(|source| ImageError::Unpack {
        layer: layer.to_string(),
        entry: ".".into(),
        source,
    })?;
    let mut unpacker = Unpacker {
        root: root.as_fd(),
        dest,
        layer,
        size: 0,
        dir_times: Vec::new(),
    };
    let entries = archive
        .entries()
        .map_err(|e| ImageError::malformed(format!("layer {layer}"), e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| {
            ImageError::malformed(
                format!("layer {layer}"),
                format!("reading a tar header: {e}"),
            )
        })?;
        unpacker.apply(&mut entry)?;
    }
    unpacker.finish()
}

struct Unpacker<'a> {
    root: BorrowedFd<'a>,
    dest: &'a Path,
    layer: &'a str,
    size: u64,
    /// Directories get their times after all entries, since creating a child changes them.
    dir_times: Vec<(PathBuf, TimeSpec)>,
}

/// The owner, mode, time and xattrs of an entry (the header, overridden by PAX records).
struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: TimeSpec,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Unpacker<'_> {
    fn hostile(&self, entry: &str, reason: impl Into<String>) -> ImageError {
        ImageError::HostileEntry {
            layer: self.layer.to_string(),
            entry: entry.to_string(),
            reason: reason.into(),
        }
    }

    fn failed(&self, entry: &str) -> impl FnOnce(SafePathError) -> ImageError + '_ {
        let entry = entry.to_string();
        move |source| ImageError::Unpack {
            layer: self.layer.to_string(),
            entry,
            source,
        }
    }

    fn apply<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), ImageError> {
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader) {
            return Ok(());
        }
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let rel = match name::clean(&raw) {
            Ok(EntryName::Below(rel)) => rel,
            // `./` of `tar -C dir .`: the layer directory itself is not the archive's to set.
            Ok(EntryName::Root) if kind.is_dir() => return Ok(()),
            Ok(EntryName::Root) => {
                return Err(self.hostile(&shown, "a non-directory entry names the layer root"));
            }
            Err(reason) => return Err(self.hostile(&shown, reason)),
        };
        match whiteout::classify(&rel).map_err(|r| self.hostile(&shown, r))? {
            Whiteout::None => {}
            Whiteout::AufsMeta => return Ok(()),
            Whiteout::Opaque(dir) => return self.mark_opaque(&dir, &shown),
            Whiteout::File(hidden) => {
                let at = EntryAt::new(self.root, &hidden).map_err(self.failed(&shown))?;
                at.replace_with(|at| at.mknod(NodeKind::Char { major: 0, minor: 0 }, 0))
                    .map_err(self.failed(&shown))?;
                return at.chown(0, 0).map_err(self.failed(&shown));
            }
        }
        let meta = self.meta(entry, &shown)?;
        let at = EntryAt::new(self.root, &rel).map_err(self.failed(&shown))?;
        let fail = |e| ImageError::Unpack {
            layer: self.layer.to_string(),
            entry: shown.clone(),
            source: e,
        };
        match kind {
            EntryType::Directory => {
                if !at.is_dir().map_err(fail)? {
                    at.remove().map_err(fail)?;
                }
                at.mkdir(0o700).map_err(fail)?;
            }
            EntryType::Regular | EntryType::Continuous => {
                let mut file = at.replace_with(|at| at.create_file(0o600)).map_err(fail)?;
                let written = io::copy(entry, &mut file).map_err(|e| {
                    ImageError::malformed(
                        format!("layer {}", self.layer),
                        format!("reading the content of {shown:?}: {e}"),
                    )
                })?;
                self.size += written;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| self.hostile(&shown, "a symlink without a target"))?;
                at.replace_with(|at| at.symlink(Path::new(OsStr::from_bytes(&target))))
                    .map_err(fail)?;
            }
            EntryType::Link => return self.hardlink(entry, &at, &shown),
            EntryType::Char | EntryType::Block => {
                let major = entry.header().device_major().ok().flatten().unwrap_or(0);
                let minor = entry.header().device_minor().ok().flatten().unwrap_or(0);
                let node = if kind == EntryType::Char {
                    NodeKind::Char { major, minor }
                } else {
                    NodeKind::Block { major, minor }
                };
                at.replace_with(|at| at.mknod(node, 0o600)).map_err(fail)?;
            }
            EntryType::Fifo => {
                at.replace_with(|at| at.mknod(NodeKind::Fifo, 0o600))
                    .map_err(fail)?;
            }
            other => {
                return Err(self.hostile(&shown, format!("unsupported entry type {other:?}")));
            }
        }
        self.set_meta(&at, kind, meta, &rel, &shown)
    }

    /// A hard link: its target is cleaned like a name and must already be in the layer
    /// (resolved inside it); it shares the target's inode, so no metadata of its own.
    fn hardlink<R: Read>(
        &self,
        entry: &tar::Entry<'_, R>,
        at: &EntryAt,
        shown: &str,
    ) -> Result<(), ImageError> {
        let raw = entry
            .link_name_bytes()
            .ok_or_else(|| self.hostile(shown, "a hard link without a target"))?;
        let target_shown = String::from_utf8_lossy(&raw).into_owned();
        let target = match name::clean(&raw) {
            Ok(EntryName::Below(t)) => t,
            Ok(EntryName::Root) => {
                return Err(self.hostile(shown, "a hard link to the layer directory"));
            }
            Err(reason) => {
                return Err(self.hostile(
                    shown,
                    format!("hard link target {target_shown:?}: {reason}"),
                ));
            }
        };
        match at.replace_with(|at| at.hardlink_to(self.root, &target)) {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Err(self.hostile(
                shown,
                format!("hard link target {target_shown:?} is not in the layer"),
            )),
            Err(e) => Err(self.failed(shown)(e)),
        }
    }

    fn meta<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        shown: &str,
    ) -> Result<Meta, ImageError> {
        let header = entry.header();
        let bad =
            |what: &str, e: io::Error| self.hostile(shown, format!("bad {what} in header: {e}"));
        let mut uid = header.uid().map_err(|e| bad("uid", e))?;
        let mut gid = header.gid().map_err(|e| bad("gid", e))?;
        let mode = header.mode().map_err(|e| bad("mode", e))? & 0o7777;
        let mut mtime = TimeSpec::new(header.mtime().map_err(|e| bad("mtime", e))? as i64, 0);
        let mut xattrs = Vec::new();
        if let Some(pax) = entry.pax_extensions().map_err(|e| bad("PAX records", e))? {
            for ext in pax {
                let ext = ext.map_err(|e| bad("PAX record", e))?;
                let Ok(key) = ext.key() else { continue };
                let value = ext.value_bytes();
                let number = || {
                    std::str::from_utf8(value)
                        .ok()
                        .and_then(|v| v.parse::<u64>().ok())
                };
                match key {
                    "uid" => uid = number().unwrap_or(uid),
                    "gid" => gid = number().unwrap_or(gid),
                    "mtime" => {
                        if let Some(t) = std::str::from_utf8(value).ok().and_then(pax_time) {
                            mtime = t;
                        }
                    }
                    _ => {
                        if let Some(name) = key.strip_prefix(PAX_XATTR) {
                            xattrs.push((name.as_bytes().to_vec(), value.to_vec()));
                        }
                    }
                }
            }
        }
        let id = |v: u64, what: &str| {
            u32::try_from(v).map_err(|_| self.hostile(shown, format!("{what} {v} is out of range")))
        };
        Ok(Meta {
            uid: id(uid, "uid")?,
            gid: id(gid, "gid")?,
            mode,
            mtime,
            xattrs,
        })
    }

    fn set_meta(
        &mut self,
        at: &EntryAt,
        kind: EntryType,
        meta: Meta,
        rel: &Path,
        shown: &str,
    ) -> Result<(), ImageError> {
        at.chown(meta.uid, meta.gid).map_err(self.failed(shown))?;
        // After chown, which clears setuid/setgid bits.
        if kind != EntryType::Symlink {
            at.chmod(meta.mode).map_err(self.failed(shown))?;
        }
        for (key, value) in &meta.xattrs {
            let key = OsStr::from_bytes(key);
            if key
                .as_bytes()
                .starts_with(FORBIDDEN_XATTR_PREFIX.as_bytes())
            {
                tracing::warn!(
                    layer = self.layer,
                    entry = shown,
                    "ignoring overlayfs xattr {key:?} set by the layer"
                );
                continue;
            }
            match at.set_xattr(key, value) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(Errno::EOPNOTSUPP) => {
                    tracing::warn!(
                        layer = self.layer,
                        entry = shown,
                        "xattr {key:?} not supported here: skipped"
                    );
                }
                Err(e) => return Err(self.failed(shown)(e)),
            }
        }
        if kind == EntryType::Directory {
            self.dir_times.push((rel.to_path_buf(), meta.mtime));
        } else {
            at.set_times(meta.mtime, meta.mtime)
                .map_err(self.failed(shown))?;
        }
        Ok(())
    }

    /// `dir/.wh..wh..opq`: the directory (made if the archive has not yet) gets the
    /// overlayfs opaque xattr. An empty `dir` is the layer root.
    fn mark_opaque(&self, dir: &Path, shown: &str) -> Result<(), ImageError> {
        if dir.as_os_str().is_empty() {
            return set_root_xattr(self.dest, OPAQUE_XATTR, OPAQUE_VALUE)
                .map_err(ImageError::io("marking the layer root opaque", self.dest));
        }
        let at = EntryAt::new(self.root, dir).map_err(self.failed(shown))?;
        if !at.is_dir().map_err(self.failed(shown))? {
            at.remove().map_err(self.failed(shown))?;
            at.mkdir(0o755).map_err(self.failed(shown))?;
        }
        at.set_xattr(OsStr::new(OPAQUE_XATTR), OPAQUE_VALUE)
            .map_err(self.failed(shown))
    }

    /// Sets the directories' times, deepest last-created first, and returns the size.
    fn finish(self) -> Result<u64, ImageError> {
        for (dir, mtime) in self.dir_times.iter().rev() {
            let shown = dir.display().to_string();
            let at = EntryAt::new(self.root, dir).map_err(self.failed(&shown))?;
            at.set_times(*mtime, *mtime).map_err(self.failed(&shown))?;
        }
        Ok(self.size)
    }
}

/// A PAX time, `seconds[.fraction]`.
fn pax_time(text: &str) -> Option<TimeSpec> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = secs.parse().ok()?;
    let mut nanos = 0i64;
    for (i, digit) in frac.bytes().take(9).enumerate() {
        if !digit.is_ascii_digit() {
            return None;
        }
        nanos += i64::from(digit - b'0') * 10i64.pow(8 - i as u32);
    }
    Some(TimeSpec::new(secs, nanos))
}

/// The layer root is the store's own directory (trusted path), set by name.
fn set_root_xattr(dir: &Path, key: &str, value: &[u8]) -> io::Result<()> {
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())?;
    let key = std::ffi::CString::new(key)?;
    // SAFETY: NUL-terminated strings alive for the call; value's pointer and length
    // come from one slice.
    let rc = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            key.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::pax_time;
    use nix::sys::time::TimeSpec;

    #[test]
    fn pax_times_keep_their_fraction() {
        assert_eq!(pax_time("12.5"), Some(TimeSpec::new(12, 500_000_000)));
        assert_eq!(pax_time("7"), Some(TimeSpec::new(7, 0)));
        assert_eq!(pax_time("x"), None);
    }
}

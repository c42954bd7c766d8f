//! The files of what `berth load` is given, by name: a tarball (plain, gzip or zstd) is
//! read once, front to back, its small files kept in memory and its large ones streamed
//! straight into the blob store (hashed on the way, so nothing is extracted to disk
//! under names the archive chose); a directory is read by name on demand. Names are
//! cleaned as layer entry names are (no `..` out of the archive).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::blobs::BlobStore;
use crate::digest::Digest;
use crate::error::ImageError;
use crate::progress::{Progress, ProgressReader};
use crate::unpack::compression;
use crate::unpack::name::{self, EntryName};

/// Files up to this size stay in memory (manifests, configs, index files).
const SMALL: u64 = 4 << 20;
/// All the small files held in memory together: past it, small files go to the blob
/// store too, so an archive of many 4 MiB files cannot fill the memory.
const SMALL_TOTAL: u64 = 64 << 20;
/// Symlink hops followed inside an archive (docker-archive links shared layers).
const MAX_LINKS: usize = 16;

/// One file of an archive.
#[derive(Debug, Clone)]
pub(crate) enum Member {
    Small(Vec<u8>),
    Stored { digest: Digest, size: u64 },
}

/// An archive's files by cleaned name.
pub(crate) enum Archive {
    Tar {
        members: BTreeMap<String, Member>,
        /// Symlinks and hard links: name -> the name they point at (cleaned).
        links: BTreeMap<String, String>,
        /// Blobs this archive put into the store (to drop those no image kept).
        stored: Vec<Digest>,
        what: String,
    },
    Dir(PathBuf),
}

impl Archive {
    /// Reads `path`: a directory, or a tarball streamed into memory and the blob store.
    pub(crate) fn open(
        path: &Path,
        blobs: &BlobStore,
        progress: &dyn Progress,
    ) -> Result<Self, ImageError> {
        let meta = std::fs::metadata(path).map_err(ImageError::io("reading", path))?;
        if meta.is_dir() {
            return Ok(Self::Dir(path.to_path_buf()));
        }
        let file = File::open(path).map_err(ImageError::io("opening", path))?;
        let what = path.display().to_string();
        let reader = ProgressReader::new(file, progress, "Loading".into(), Some(meta.len()));
        let stream = compression::decompress(BufReader::new(reader))
            .map_err(ImageError::io("reading", path))?;
        let mut tar = tar::Archive::new(stream);
        let mut members = BTreeMap::new();
        let mut links = BTreeMap::new();
        let mut stored = Vec::new();
        let mut in_memory = 0u64;
        let bad = |e: std::io::Error| ImageError::malformed(format!("archive {what}"), e);
        for entry in tar.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let Ok(EntryName::Below(rel)) = name::clean(&entry.path_bytes()) else {
                continue;
            };
            let rel = rel.to_string_lossy().into_owned();
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let Some(target) = entry.link_name_bytes() else {
                    continue;
                };
                // A symlink is relative to its directory, a hard link to the archive.
                let base = if kind.is_symlink() && !target.starts_with(b"/") {
                    Path::new(&rel)
                        .parent()
                        .unwrap_or(Path::new(""))
                        .as_os_str()
                        .as_bytes()
                        .to_vec()
                } else {
                    Vec::new()
                };
                let joined = [base, b"/".to_vec(), target.into_owned()].concat();
                if let Ok(EntryName::Below(t)) = name::clean(&joined) {
                    links.insert(rel, t.to_string_lossy().into_owned());
                }
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let size = entry.size();
            let member = if size <= SMALL && in_memory + size <= SMALL_TOTAL {
                in_memory += size;
                let mut bytes = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut bytes).map_err(bad)?;
                Member::Small(bytes)
            } else {
                // An OCI layout names its blobs by digest: hold them to it.
                let expected = blob_name_digest(&rel);
                let mut writer = blobs.writer(expected.as_ref())?;
                std::io::copy(&mut entry, &mut writer).map_err(bad)?;
                let (digest, size) = writer.commit().map_err(|e| match e {
                    ImageError::DigestMismatch {
                        expected, actual, ..
                    } => ImageError::DigestMismatch {
                        expected,
                        actual,
                        context: format!("{rel} in {what}"),
                    },
                    other => other,
                })?;
                stored.push(digest.clone());
                Member::Stored { digest, size }
            };
            members.insert(rel, member);
        }
        Ok(Self::Tar {
            members,
            links,
            stored,
            what,
        })
    }

    /// The blobs this archive stored while being read.
    pub(crate) fn stored(&self) -> &[Digest] {
        match self {
            Self::Tar { stored, .. } => stored,
            Self::Dir(_) => &[],
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Tar { what, .. } => what.clone(),
            Self::Dir(dir) => dir.display().to_string(),
        }
    }

    fn not_found(&self, name: &str) -> ImageError {
        ImageError::malformed(
            format!("archive {}", self.describe()),
            format!("it has no file {name:?}"),
        )
    }

    /// The member `name` after following links, or an error naming it.
    fn member(&self, name: &str) -> Result<&Member, ImageError> {
        let Self::Tar { members, links, .. } = self else {
            return Err(self.not_found(name));
        };
        let mut current = clean_name(name).ok_or_else(|| self.not_found(name))?;
        for _ in 0..MAX_LINKS {
            if let Some(m) = members.get(&current) {
                return Ok(m);
            }
            match links.get(&current) {
                Some(next) => current = next.clone(),
                None => break,
            }
        }
        Err(self.not_found(name))
    }

    fn dir_path(&self, dir: &Path, name: &str) -> Result<PathBuf, ImageError> {
        clean_name(name)
            .map(|rel| dir.join(rel))
            .ok_or_else(|| self.not_found(name))
    }

    /// True when the archive has a file `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        match self {
            Self::Tar { .. } => self.member(name).is_ok(),
            Self::Dir(dir) => self.dir_path(dir, name).is_ok_and(|p| p.is_file()),
        }
    }

    /// The whole content of `name` (a JSON file, a config).
    pub(crate) fn bytes(&self, name: &str, blobs: &BlobStore) -> Result<Vec<u8>, ImageError> {
        match self {
            Self::Tar { .. } => match self.member(name)? {
                Member::Small(bytes) => Ok(bytes.clone()),
                Member::Stored { digest, .. } => blobs.read(digest),
            },
            Self::Dir(dir) => {
                let path = self.dir_path(dir, name)?;
                std::fs::read(&path).map_err(ImageError::io("reading", path))
            }
        }
    }

    /// `name` as a blob of the store (stored now if it is not yet): its digest and size.
    /// A name `blobs/sha256/<hex>` must have that digest.
    pub(crate) fn blob(
        &mut self,
        name: &str,
        blobs: &BlobStore,
    ) -> Result<(Digest, u64), ImageError> {
        let expected = clean_name(name).as_deref().and_then(blob_name_digest);
        let (digest, size) = match self {
            Self::Tar { .. } => match self.member(name)?.clone() {
                Member::Stored { digest, size } => (digest, size),
                Member::Small(bytes) => {
                    let digest = blobs.put(&bytes)?;
                    if let Self::Tar { stored, .. } = self {
                        stored.push(digest.clone());
                    }
                    (digest, bytes.len() as u64)
                }
            },
            Self::Dir(dir) => {
                let dir = dir.clone();
                let path = self.dir_path(&dir, name)?;
                if let Some(d) = &expected
                    && blobs.has(d)
                {
                    let size = std::fs::metadata(&path)
                        .map_err(ImageError::io("reading", &path))?
                        .len();
                    return Ok((d.clone(), size));
                }
                let mut file = File::open(&path).map_err(ImageError::io("opening", &path))?;
                let mut writer = blobs.writer(None)?;
                std::io::copy(&mut file, &mut writer).map_err(ImageError::io("reading", &path))?;
                writer.commit()?
            }
        };
        if let Some(expected) = expected
            && expected != digest
        {
            return Err(ImageError::DigestMismatch {
                expected: expected.to_string(),
                actual: digest.to_string(),
                context: format!("{name} in {}", self.describe()),
            });
        }
        Ok((digest, size))
    }
}

/// `name` cleaned (`./a//b` -> `a/b`); `None` for a name that climbs out or is empty.
fn clean_name(name: &str) -> Option<String> {
    match name::clean(name.as_bytes()) {
        Ok(EntryName::Below(p)) => Some(p.to_string_lossy().into_owned()),
        _ => None,
    }
}

/// The digest an OCI layout's `blobs/sha256/<hex>` name promises.
fn blob_name_digest(rel: &str) -> Option<Digest> {
    rel.strip_prefix("blobs/sha256/")
        .and_then(|hex| Digest::from_hex(hex).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn small_files_past_the_memory_budget_go_to_the_blob_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::create(dir.path().join("blobs")).expect("blobs");
        let tar_path = dir.path().join("many.tar");
        let count = (SMALL_TOTAL / SMALL + 3) as usize;
        let mut builder = tar::Builder::new(File::create(&tar_path).expect("create"));
        for i in 0..count {
            let body = vec![i as u8; SMALL as usize];
            let mut header = tar::Header::new_gnu();
            header.set_size(SMALL);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, format!("f{i}"), &body[..])
                .expect("append");
        }
        builder.finish().expect("finish");
        drop(builder);
        let archive = Archive::open(&tar_path, &blobs, &NoProgress).expect("open");
        let Archive::Tar { members, .. } = &archive else {
            panic!("a tar");
        };
        let held: u64 = members
            .values()
            .map(|m| match m {
                Member::Small(b) => b.len() as u64,
                Member::Stored { .. } => 0,
            })
            .sum();
        assert!(held <= SMALL_TOTAL, "{held} bytes held in memory");
        assert_eq!(archive.stored().len(), 3);
        for i in 0..count {
            let bytes = archive.bytes(&format!("f{i}"), &blobs).expect("read");
            assert_eq!(bytes.len() as u64, SMALL);
            assert!(bytes.iter().all(|b| *b == i as u8), "f{i}");
        }
    }
}

//! Content-addressed blobs under `images/blobs/sha256/<hex>`: manifests, configs and
//! layer archives. A blob is written to a temporary file in the same directory while its
//! digest is computed, checked, then renamed into place, so a name always holds exactly
//! its content; reads are verified again (a disk or a hand can change a file).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use crate::digest::{Digest, HashingReader, HashingWriter};
use crate::error::ImageError;

/// The blob directory of a store.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    /// The blobs under `dir` (`<root>/images/blobs/sha256`), created if missing.
    pub fn create(dir: PathBuf) -> Result<Self, ImageError> {
        std::fs::create_dir_all(&dir).map_err(ImageError::io("creating blob directory", &dir))?;
        Ok(Self { dir })
    }

    /// Where the blob `digest` is (or would be) stored.
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.hex())
    }

    /// True when the blob is in the store.
    pub fn has(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// A writer for a new blob. With `expected`, [`BlobWriter::commit`] refuses content
    /// of another digest; without, the blob is stored under whatever digest it has.
    pub fn writer(&self, expected: Option<&Digest>) -> Result<BlobWriter, ImageError> {
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)
            .map_err(ImageError::io("creating a temporary blob in", &self.dir))?;
        Ok(BlobWriter {
            out: HashingWriter::new(BufWriter::new(tmp)),
            expected: expected.cloned(),
            dir: self.dir.clone(),
        })
    }

    /// Stores `bytes` and returns their digest.
    pub fn put(&self, bytes: &[u8]) -> Result<Digest, ImageError> {
        let digest = Digest::of(bytes);
        if self.has(&digest) {
            return Ok(digest);
        }
        let mut w = self.writer(Some(&digest))?;
        w.write_all(bytes)
            .map_err(ImageError::io("writing blob", self.path(&digest)))?;
        w.commit()?;
        Ok(digest)
    }

    /// The whole blob, verified against its digest. For manifests and configs (small).
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, ImageError> {
        let mut bytes = Vec::new();
        self.open(digest)?
            .read_to_end(&mut bytes)
            .map_err(ImageError::io("reading blob", self.path(digest)))?;
        Ok(bytes)
    }

    /// The blob as a stream that fails with `InvalidData` at its end if the content does
    /// not hash to `digest`. [`ImageError::MissingBlob`] when it is not stored.
    pub fn open(&self, digest: &Digest) -> Result<VerifyingReader, ImageError> {
        let path = self.path(digest);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ImageError::MissingBlob {
                    digest: digest.to_string(),
                    what: "blob".into(),
                });
            }
            Err(e) => return Err(ImageError::io("opening blob", path)(e)),
        };
        Ok(VerifyingReader {
            inner: Some(HashingReader::new(file)),
            expected: digest.clone(),
        })
    }

    /// Removes the blob; a missing one is not an error.
    pub fn remove(&self, digest: &Digest) -> Result<(), ImageError> {
        let path = self.path(digest);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(ImageError::io("removing blob", path)(e))
            }
            _ => Ok(()),
        }
    }
}

/// A new blob being written: hashed as it goes, renamed into place by
/// [`BlobWriter::commit`]; dropped without a commit, it leaves nothing behind.
pub struct BlobWriter {
    out: HashingWriter<BufWriter<tempfile::NamedTempFile>>,
    expected: Option<Digest>,
    dir: PathBuf,
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.out.count()
    }

    /// Checks the digest, syncs the data and renames the blob into place; returns its
    /// digest and size. [`ImageError::DigestMismatch`] (and nothing stored) when the
    /// content is not what was expected.
    pub fn commit(self) -> Result<(Digest, u64), ImageError> {
        let (digest, size, buffered) = self.out.finish();
        if let Some(expected) = &self.expected
            && *expected != digest
        {
            return Err(ImageError::DigestMismatch {
                expected: expected.to_string(),
                actual: digest.to_string(),
                context: "while writing it to the store".into(),
            });
        }
        let tmp = buffered
            .into_inner()
            .map_err(|e| ImageError::io("writing blob", &self.dir)(e.into_error()))?;
        let target = self.dir.join(digest.hex());
        tmp.as_file()
            .sync_data()
            .map_err(ImageError::io("syncing blob", &target))?;
        tmp.persist(&target)
            .map_err(|e| ImageError::io("renaming blob into place", &target)(e.error))?;
        Ok((digest, size))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A stored blob being read; its digest is checked when the end is reached.
pub struct VerifyingReader {
    inner: Option<HashingReader<File>>,
    expected: Digest,
}

impl Read for VerifyingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(0);
        };
        let n = inner.read(buf)?;
        if n == 0
            && !buf.is_empty()
            && let Some(done) = self.inner.take()
        {
            let (actual, _) = done.finish()?;
            if actual != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "blob {} has content of digest {actual}: the store is corrupt",
                        self.expected
                    ),
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_of_the_wrong_content_is_not_stored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::create(dir.path().join("b")).expect("open");
        let want = Digest::of(b"right");
        let mut w = store.writer(Some(&want)).expect("writer");
        w.write_all(b"wrong").expect("write");
        assert!(matches!(w.commit(), Err(ImageError::DigestMismatch { .. })));
        assert!(!store.has(&want));
        assert_eq!(
            std::fs::read_dir(dir.path().join("b")).expect("ls").count(),
            0
        );
        let d = store.put(b"right").expect("put");
        assert_eq!(d, want);
        assert_eq!(store.read(&d).expect("read"), b"right");
    }

    #[test]
    fn a_changed_blob_fails_its_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::create(dir.path().to_path_buf()).expect("open");
        let d = store.put(b"content").expect("put");
        std::fs::write(store.path(&d), b"tampered").expect("tamper");
        let err = store.read(&d).expect_err("corrupt");
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
